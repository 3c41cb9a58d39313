"""Training events for a host (EventStream) and cooperative stop (pykernel.interrupts), on CPython."""
import math

import numpy as np
import pytest

from pykernel import interrupts, keras
from pykernel.keras.callbacks import EventStream, set_event_sink


@pytest.fixture
def events():
    received = []
    set_event_sink(lambda name, data: received.append((name, data)))
    yield received
    set_event_sink(None)
    interrupts.set_stop_check(None)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)).astype("float32"), rng.integers(0, 2, n)


def test_fit_and_evaluate_send_events_in_order(events):
    x, y = _data()
    model = _model()
    history = model.fit(x, y, epochs=3, batch_size=10, validation_data=(x, y), verbose=0)
    model.evaluate(x, y, verbose=0)
    names = [n for n, _ in events]
    assert names[0] == "train_begin" and events[0][1] == {"epochs": 3, "steps": 4}
    assert names.count("epoch") == 3 and "train_end" in names and names[-1] == "evaluate"
    assert "evaluate" not in names[:-1]   # validation inside fit is on the epoch events
    epochs = [d for n, d in events if n == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["logs"]["val_loss"] == pytest.approx(history.history["val_loss"][-1])
    # the last batch of every epoch is always reported, with its step number
    batches = [d for n, d in events if n == "batch"]
    assert {(b["epoch"], b["step"]) for b in batches} >= {(1, 4), (2, 4), (3, 4)}


def test_batch_events_are_throttled(events):
    x, y = _data(200)
    model = _model()
    stream = EventStream(interval=3600)   # nothing but each epoch's last batch
    model.fit(x, y, epochs=2, batch_size=10, callbacks=[stream], verbose=0)
    batches = [(d["epoch"], d["step"]) for n, d in events if n == "batch"]
    assert batches == [(1, 20), (2, 20)]


def test_non_finite_metrics_become_null(events):
    x, y = _data()
    x[0, 0] = np.nan
    _model().fit(x, y, epochs=1, batch_size=40, verbose=0)
    loss = [d for n, d in events if n == "epoch"][0]["logs"]["loss"]
    assert loss is None


def test_a_stop_request_ends_fit_at_the_next_batch_and_keeps_the_weights(events):
    x, y = _data(100)
    model = _model()
    seen = []
    interrupts.set_stop_check(lambda: len(seen) >= 3)
    with pytest.raises(interrupts.RunStopped, match="stopped"):
        model.fit(x, y, epochs=5, batch_size=10, verbose=0,
                  callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))])
    assert len(seen) == 3 and int(model.optimizer.iterations) == 3
    interrupts.set_stop_check(None)
    assert math.isfinite(model.evaluate(x, y, verbose=0)[0])


def test_bad_sinks_are_rejected():
    with pytest.raises(TypeError, match="callable"):
        set_event_sink(42)
    with pytest.raises(TypeError, match="callable"):
        interrupts.set_stop_check("yes")
