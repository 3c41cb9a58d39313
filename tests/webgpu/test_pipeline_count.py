"""The first training step (+ evaluate/predict) of small Keras models compiles few distinct
WebGPU pipelines: every one is a shader compile, ~0.3 s each in Chrome on SwiftShader.

The bounds are what was measured (lavapipe) when the map kernel stopped keying on rank
(dims merged, rank a uniform), copies shared one 32-bit kernel, split-K sums one kernel for
every fan-in, reductions bucketed their ranks and thin matmuls kept one tiling across batch
sizes: 52 -> 34 and 54 -> 37 pipelines. A new pipeline family or key field that raises
them should be a deliberate choice. One was: sparse cross-entropy checks its labels on the
device (min and max reductions and their concat, ops/checks.py: +3, small kernels that
compile in tens of ms) instead of silently scoring out-of-range labels as a perfect fit.
Another: int64 is exact (two 32-bit words), so Keras's int64 step counter and NumPy's int64
labels get int64 kernels of their own (add, compare, casts, a 64-bit copy): +1 and +2.
"""
import numpy as np
import pytest

from pykernel import keras
from pykernel.backends.webgpu.kernels import PipelineCache


@pytest.fixture
def fresh_pipelines(gpu):
    """Count from an empty cache without losing the session's compiled pipelines."""
    saved = gpu.pipelines
    gpu.pipelines = PipelineCache(gpu.device)
    try:
        yield gpu.pipelines
    finally:
        gpu.pipelines = saved


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(1234)
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def _keys(cache):
    return list(cache._pipelines)


def test_small_mlp_train_evaluate_predict(on_device, fresh_pipelines):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = (x[:, :1] * x[:, 1:] > 0).astype("float32")
    x2 = rng.normal(size=(50, 2)).astype("float32")
    y2 = (x2[:, :1] * x2[:, 1:] > 0).astype("float32")
    with on_device("webgpu"):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"),
                                  keras.layers.Dense(8, "tanh"), keras.layers.Dense(1, "sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.train_on_batch(x, y)
        model.evaluate(x2, y2, batch_size=50, verbose=0)
        model.predict(x2[:7], verbose=0)
    keys = _keys(fresh_pipelines)
    assert len(keys) <= 35, keys
    # the map kernel is keyed by expression and dtypes only, never by rank or shape
    map_keys = [k for k in keys if k[0] == "map"]
    assert len(map_keys) == len(set(k[1:3] for k in map_keys)), map_keys


def test_mnist_mlp_train_evaluate_predict(on_device, fresh_pipelines):
    rng = np.random.default_rng(0)
    x = rng.random(size=(64, 28, 28)).astype("float32")
    y = rng.integers(0, 10, size=64)
    with on_device("webgpu"):
        model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                  keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.train_on_batch(x[:32], y[:32])
        first_step = len(_keys(fresh_pipelines))
        model.evaluate(x, y, batch_size=32, verbose=0)
        model.predict(x[:1], verbose=0)
    keys = _keys(fresh_pipelines)
    assert first_step <= 40, _keys(fresh_pipelines)
    assert len(keys) <= 43, keys
