"""keras.callbacks: hook order, History, EarlyStopping, LearningRateScheduler, TerminateOnNaN."""
import math

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras


def small_model(lr=0.05):
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse", metrics=["mae"])
    return model


def regression_data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, name):
        def hook(*args, **kwargs):
            self.calls.append((name,) + tuple(a for a in args if isinstance(a, int)))
        return hook

    def __getattribute__(self, name):
        if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end"):
            return object.__getattribute__(self, "_record")(name)
        return object.__getattribute__(self, name)


def test_fit_calls_hooks_in_keras_order():
    x, y = regression_data(4)
    recorder = Recorder()
    small_model().fit(x, y, batch_size=2, epochs=2, validation_data=(x, y), callbacks=[recorder], verbose=0)
    epoch = lambda e: [("on_epoch_begin", e),  # noqa: E731
                       ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
                       ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
                       ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                       ("on_test_batch_begin", 1), ("on_test_batch_end", 1), ("on_test_end",),
                       ("on_epoch_end", e)]
    assert recorder.calls == [("on_train_begin",)] + epoch(0) + epoch(1) + [("on_train_end",)]


def test_evaluate_and_predict_hooks():
    x, y = regression_data(4)
    model = small_model()
    recorder = Recorder()
    model.evaluate(x, y, batch_size=4, callbacks=[recorder], verbose=0)
    model.predict(x, batch_size=4, callbacks=[recorder], verbose=0)
    assert recorder.calls == [("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                              ("on_test_end",), ("on_predict_begin",), ("on_predict_batch_begin", 0),
                              ("on_predict_batch_end", 0), ("on_predict_end",)]


def test_callbacks_get_the_model_params_and_float_logs():
    x, y = regression_data(6)
    seen = {}

    class Inspect(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["model"], seen["params"] = self.model, dict(self.params)

        def on_batch_end(self, batch, logs=None):  # the tf.keras 1 name still fires for training batches
            seen.setdefault("batch_losses", []).append(logs["loss"])

        def on_epoch_end(self, epoch, logs=None):
            seen["epoch_logs"] = dict(logs)

    model = small_model()
    history = model.fit(x, y, batch_size=4, epochs=3, validation_split=0.5, callbacks=[Inspect()], verbose=0)
    assert seen["model"] is model
    assert seen["params"] == {"verbose": 0, "epochs": 3, "steps": 1}
    assert len(seen["batch_losses"]) == 3 and all(isinstance(v, float) for v in seen["batch_losses"])
    assert sorted(seen["epoch_logs"]) == ["loss", "mae", "val_loss", "val_mae"]
    assert all(type(v) is float for v in seen["epoch_logs"].values())
    assert history.epoch == [0, 1, 2] and model.history is history
    assert history.history["loss"][-1] == seen["epoch_logs"]["loss"]


def test_history_matches_evaluate_on_the_validation_data():
    x, y = regression_data(16)
    model = small_model()
    history = model.fit(x, y, epochs=2, validation_data=(x[:8], y[:8]), verbose=0)
    loss, mae = model.evaluate(x[:8], y[:8], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert history.history["val_mae"][-1] == pytest.approx(mae, rel=1e-6)


def _scripted(name, values):
    """A callback that overwrites logs[name] with the next scripted value at each epoch end."""
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(name, values[epoch]))


def test_early_stopping_stops_and_restores_best_weights():
    x, y = regression_data(8)
    model = small_model()
    snapshots = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=20, verbose=0, validation_data=(x, y),
                        callbacks=[_scripted("val_loss", [1.0, 0.5, 0.6, 0.7, 0.1, 0.1]), keep, stopper])
    assert history.epoch == [0, 1, 2, 3]  # no improvement on epochs 2 and 3: patience exhausted
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    for restored, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(snapshots[1][0], snapshots[3][0])  # training did move the weights


def test_early_stopping_min_delta_mode_and_baseline():
    x, y = regression_data(8)
    stopper = keras.callbacks.EarlyStopping(monitor="val_acc", min_delta=0.05, patience=1)
    assert stopper.mode == "max"
    history = small_model().fit(x, y, epochs=10, verbose=0, callbacks=[
        _scripted("val_acc", [0.5, 0.52, 0.9, 0.93, 0.94]), stopper])
    assert history.epoch == [0, 1]  # +0.02 is below min_delta
    values = [0.5, 0.6, 0.55, 0.4, 0.3]
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    history = small_model().fit(x, y, epochs=10, verbose=0, callbacks=[_scripted("val_loss", values), stopper])
    assert history.epoch == [0, 1, 2]
    # with a baseline that epoch 0 does not beat, the patience already counts epoch 0
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, baseline=0.45)
    history = small_model().fit(x, y, epochs=10, verbose=0, callbacks=[_scripted("val_loss", values), stopper])
    assert history.epoch == [0, 1]


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    x, y = regression_data(8)
    model = small_model(lr=0.1)
    seen = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr * 0.5)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[scheduler, probe])
    assert seen == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    # a one-argument schedule works too
    keras.callbacks.LearningRateScheduler(lambda epoch: 0.3).set_model(model)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 0.3)])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.3)


def test_learning_rate_scheduler_changes_the_updates():
    x, y = regression_data(8)
    model = small_model()
    before = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: 0.0)])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # a zero rate leaves the weights alone


def test_terminate_on_nan_stops_at_the_bad_batch():
    x, y = regression_data(8)
    y[4, 0] = np.nan  # third batch of two samples
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = small_model().fit(x, y, batch_size=2, epochs=5, shuffle=False, verbose=0,
                                callbacks=[keras.callbacks.TerminateOnNaN(), counter])
    assert batches == [0, 1, 2]
    assert history.epoch == [0] and math.isnan(history.history["loss"][0])


def test_stop_training_from_a_callback():
    x, y = regression_data(8)
    model = small_model()

    def stop_after_second(epoch, logs):
        if epoch == 1:
            model.stop_training = True
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
        on_epoch_end=stop_after_second)])
    assert history.epoch == [0, 1]


def test_reduce_lr_on_plateau():
    x, y = regression_data(8)
    model = small_model(lr=0.1)
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[_scripted("val_loss", [1.0, 1.0, 1.0, 1.0]), reducer])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.5 ** 3)


def test_progress_output(capsys):
    x, y = regression_data(8)
    small_model().fit(x, y, epochs=2, batch_size=4, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "2/2 - " in out and "loss: " in out and "mae: " in out
    small_model().fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_batch_logs_are_read_lazily():
    x, y = regression_data(8)
    captured = []
    model = small_model()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: captured.append(logs))])
    logs = captured[0]
    assert isinstance(logs._pending["loss"], tf.Tensor) and not logs._read  # nothing read yet
    assert isinstance(logs["loss"], float) and "loss" in logs._read
    assert sorted(dict(logs)) == ["loss", "mae"]
