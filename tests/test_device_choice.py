"""The playground's device chooser (pykernel/playground.py choose_device): which device the
page trains a model on, by timing it, and the rules that skip a timing that cannot win."""
import json

import pytest

from pykernel import playground
from pykernel.playground import (PURE_PYTHON_MAX_WORK, SOFTWARE_WEBGPU_MIN_STEP_MS, choose_device,
                                 choose_device_for_page, is_software_adapter, measure_train_step)
from without_numpy import run_without_numpy


class FakeMeasure:
    """Stands in for measure_train_step: fixed ms per device, and a record of what was timed."""

    def __init__(self, **ms):
        self.ms = ms
        self.calls = []

    def __call__(self, build, x, y, batch_size, device):
        self.calls.append((device, batch_size, x, y))
        return {"ms": self.ms[device], "first_ms": 10 * self.ms[device], "steps": 15, "layers": 3}


def data_once():
    calls = []

    def data():
        calls.append(1)
        return "x", "y"
    return data, calls


def build():
    raise AssertionError("only the fake measure is called")


@pytest.mark.parametrize("adapter, software", [
    ("google swiftshader", True), ("llvmpipe (LLVM 15.0.6, 256 bits)", True), ("lavapipe", True),
    ("Microsoft Basic Render Driver", True), ("nvidia ampere NVIDIA GeForce RTX 3080", False),
    ("apple metal-3 Apple M2", False), ("", False), (None, False),
])
def test_software_adapters_are_recognised_by_name(adapter, software):
    assert is_software_adapter(adapter) is software


def test_a_single_device_is_chosen_without_timing():
    measure = FakeMeasure()
    data, calls = data_once()
    choice = choose_device(build, data, 16, 105, devices=["cpu"], cpu="python", measure=measure)
    assert choice["device"] == "cpu" and choice["rule"] == "only"
    assert choice["ms"] == {"cpu": None} and not measure.calls and not calls
    assert "only device" in choice["reason"]


def test_a_large_model_goes_to_webgpu_without_timing_the_pure_python_cpu():
    measure = FakeMeasure(cpu=1.0, webgpu=50.0)
    data, calls = data_once()
    params, batch = 101_770, 32          # the page's default MNIST MLP
    assert params * batch > PURE_PYTHON_MAX_WORK
    choice = choose_device(build, data, batch, params, devices=["cpu", "webgpu"], adapter="google swiftshader",
                           cpu="python", measure=measure)
    assert choice["device"] == "webgpu" and choice["rule"] == "large"
    assert choice["ms"] == {"cpu": None, "webgpu": None} and choice["work"] == params * batch
    assert not measure.calls and not calls            # not even the data was loaded
    assert "101,770 parameters x batch 32" in choice["reason"]


def test_numpy_has_no_size_limit():
    measure = FakeMeasure(cpu=5.0, webgpu=50.0)
    choice = choose_device(build, ("x", "y"), 32, 101_770, devices=["cpu", "webgpu"], adapter="nvidia",
                           cpu="numpy", measure=measure)
    assert choice["device"] == "cpu" and choice["rule"] == "measured"
    assert [c[0] for c in measure.calls] == ["cpu", "webgpu"]


def test_a_tiny_model_on_a_software_adapter_keeps_the_cpu_without_timing_webgpu():
    measure = FakeMeasure(cpu=2.5, webgpu=1.0)        # WebGPU is never asked
    data, calls = data_once()
    choice = choose_device(build, data, 16, 105, devices=["cpu", "webgpu"], adapter="google swiftshader",
                           cpu="python", measure=measure)
    assert choice["device"] == "cpu" and choice["rule"] == "software"
    assert choice["ms"] == {"cpu": 2.5, "webgpu": None} and choice["first_ms"]["cpu"] == 25.0
    assert [c[:2] for c in measure.calls] == [("cpu", 16)] and measure.calls[0][2:] == ("x", "y")
    assert calls == [1]
    assert "2.5 ms/step on the CPU" in choice["reason"] and "software adapter" in choice["reason"]


def test_a_slower_cpu_step_on_a_software_adapter_is_timed_against_webgpu():
    slow = SOFTWARE_WEBGPU_MIN_STEP_MS + 17
    measure = FakeMeasure(cpu=slow, webgpu=31.0)
    data, calls = data_once()
    choice = choose_device(build, data, 32, 1185, devices=["cpu", "webgpu"], adapter="google swiftshader",
                           cpu="python", measure=measure)      # 2-32-32-1, batch 32
    assert choice["device"] == "cpu" and choice["rule"] == "measured"
    assert choice["ms"] == {"cpu": slow, "webgpu": 31.0}
    assert [c[0] for c in measure.calls] == ["cpu", "webgpu"] and calls == [1]   # data loaded once
    assert choice["reason"] == f"{slow:.1f} ms/step on the CPU vs 31.0 ms/step on WebGPU"

    measure = FakeMeasure(cpu=94.0, webgpu=31.0)
    choice = choose_device(build, ("x", "y"), 64, 2000, devices=["cpu", "webgpu"], adapter="google swiftshader",
                           cpu="python", measure=measure)
    assert choice["device"] == "webgpu" and choice["ms"] == {"cpu": 94.0, "webgpu": 31.0}


def test_on_a_hardware_adapter_even_a_tiny_model_is_timed_on_both():
    measure = FakeMeasure(cpu=2.5, webgpu=1.5)
    choice = choose_device(build, ("x", "y"), 16, 105, devices=["cpu", "webgpu"], adapter="nvidia ampere",
                           cpu="python", measure=measure)
    assert choice["device"] == "webgpu" and choice["rule"] == "measured"
    assert choice["reason"] == "2.5 ms/step on the CPU vs 1.5 ms/step on WebGPU"


def test_no_device_is_an_error():
    with pytest.raises(ValueError, match="no device"):
        choose_device(build, ("x", "y"), 16, 105, devices=["tpu"], measure=FakeMeasure())


# -- real timings on CPython -------------------------------------------------------------------

def tiny_model():
    from pykernel import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def circle():
    from pykernel import keras
    (x, y), _ = keras.datasets.playground.load_data("circle", n_samples=100, noise=0.0, test_split=0.5)
    return x, y


def test_measure_train_step_times_real_steps_and_keeps_layer_names():
    from pykernel import keras
    keras.backend.clear_session()
    x, y = circle()
    probe = measure_train_step(tiny_model, x, y, 16, "cpu", steps=3, rounds=2)
    assert probe["steps"] == 6 and probe["layers"] == 3
    assert 0 < probe["ms"] < 1000 and probe["first_ms"] > 0
    model = tiny_model()            # the probe's model left the default names alone
    assert model.name == "sequential" and [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"]


def test_measure_train_step_stops_timing_past_its_budget():
    ticks = iter(range(0, 10_000))
    x, y = circle()
    probe = measure_train_step(tiny_model, x, y, 8, "cpu", steps=2, rounds=50, budget_s=3,
                               clock=lambda: next(ticks))
    assert probe["steps"] < 100 and probe["steps"] % 2 == 0


def test_choose_device_for_page_times_the_real_model(monkeypatch):
    choice = json.loads(choose_device_for_page(tiny_model, circle, 16, 105, devices=["cpu"]))
    assert choice["device"] == "cpu" and choice["rule"] == "only"
    # a floor no loaded machine's CPU step reaches: WebGPU (lavapipe here) is never timed
    monkeypatch.setattr(playground, "SOFTWARE_WEBGPU_MIN_STEP_MS", 1e9)
    choice = choose_device(tiny_model, circle, 16, 105, devices=["cpu", "webgpu"], adapter="google swiftshader",
                           cpu="python")
    assert choice["rule"] == "software" and choice["ms"]["cpu"] > 0 and choice["first_ms"]["cpu"] > 0


def test_without_numpy_the_cpu_is_the_pure_python_backend_and_the_chooser_runs_there():
    out = run_without_numpy("""
        import json
        import pykernel as tf
        from pykernel import keras, playground
        tf.config.set_device("cpu")
        playground.SOFTWARE_WEBGPU_MIN_STEP_MS = 1e9   # never time WebGPU, however loaded the machine
        def build():
            m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
            m.compile(optimizer="adam", loss="mse")
            return m
        def data():
            (x, y), _ = keras.datasets.playground.load_data("xor", n_samples=40, test_split=0.5)
            return x, y
        choice = playground.choose_device(build, data, 8, 33, devices=["cpu", "webgpu"],
                                          adapter="google swiftshader")
        print(json.dumps([playground.cpu_kind(), type(tf.constant(1.0).backend).__name__, choice]))
    """)
    kind, backend, choice = json.loads(out.strip().splitlines()[-1])
    assert kind == "python" and backend == "PythonBackend"
    assert choice["device"] == "cpu" and choice["rule"] == "software" and choice["ms"]["webgpu"] is None
