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
Then the GEMM stopped baking operand layouts (vec4 or scalar reads per operand, transposes,
five tilings: 6-9 GEMM pipelines per model at 1-2.5 s each on SwiftShader) and keys only on
its address form (matmul, conv2d and its two gradients) and one of two tilings: 30 -> 23 and
41 -> 37 here, the GEMM keys asserted exactly below. A third tiling (16 x 16 outputs, 16
threads) went in for outputs that small: +1 each (a cheap compile: 256 words of workgroup
memory); on the CNN it took the first conv's filter gradient (9 x 8 outputs from a K of
batch x 676) from 550 to 37 ms of a 750 ms step on lavapipe.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

from pykernel import keras
from pykernel.backends.webgpu.kernels import PipelineCache
from pykernel.backends.webgpu.warmup import warmup
from keras_helpers import seeded  # noqa: F401  (an autouse fixture)


@pytest.fixture
def fresh_pipelines(gpu):
    """Count from an empty cache without losing the session's compiled pipelines."""
    saved = gpu.pipelines
    gpu.pipelines = PipelineCache(gpu.device)
    try:
        yield gpu.pipelines
    finally:
        gpu.pipelines = saved


def _keys(cache):
    return list(cache._pipelines)


def _gemms(cache):
    """The GEMM pipelines as (address form, tiling)."""
    return {k[3:5] for k in cache.keys() if k[0] == "gemm"}


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
    assert len(keys) <= 24, keys
    # every matmul here has N <= 16; the weight gradients (8x8, 2x8) and predict's 7 rows
    # are at most 16 x 16 too
    assert _gemms(fresh_pipelines) == {("matmul", "256x16"), ("matmul", "16x16")}
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
    assert first_step <= 35, _keys(fresh_pipelines)
    assert len(keys) <= 38, keys
    # 784x128 and its gradients on the square tile, the 10 logits (and theirs) on the thin one,
    # whatever the transposes, batch sizes (32, 64) and vec4-ness of the shapes; predict's
    # 1 x 10 on the small one
    assert _gemms(fresh_pipelines) == {("matmul", "64x64"), ("matmul", "256x16"), ("matmul", "16x16")}


def _cnn():
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)),
                             keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                             keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


def test_cnn_train_evaluate_predict(on_device, fresh_pipelines):
    rng = np.random.default_rng(0)
    x = rng.random(size=(40, 28, 28)).astype("float32")
    y = rng.integers(0, 10, size=40).astype("uint8")
    with on_device("webgpu"):
        model = _cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.train_on_batch(x[:16], y[:16])
        model.evaluate(x, y, batch_size=16, verbose=0)
        model.predict(x[:1], verbose=0)
    keys = _keys(fresh_pipelines)
    assert len(keys) <= 46, keys
    # 1 and 8 input channels (scalar and 4-word im2col runs) share each conv form's pipeline;
    # the first conv's filter gradient (9 x 8) and predict's 1 x 10 are on the small tiling
    assert _gemms(fresh_pipelines) == {("conv2d", "256x16"), ("conv2d_grad_input", "256x16"),
                                       ("conv2d_grad_filter", "256x16"), ("conv2d_grad_filter", "16x16"),
                                       ("matmul", "256x16"), ("matmul", "64x64"), ("matmul", "16x16")}


def test_warmup_leaves_a_default_model_little_to_compile(gpu, on_device, fresh_pipelines):
    """What the page's worker warms at startup covers the first training step of the
    playground's models at the page's default batch sizes: nothing left to compile."""
    added, _ = warmup(gpu)
    assert added == len(fresh_pipelines) and added >= 40
    assert keras.layers.Dense(3).name == "dense"   # the warm-up's models took no layer names
    rng = np.random.default_rng(0)
    with on_device("webgpu"):
        for build, x, y, loss in [
                (lambda: keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                           keras.layers.Dense(128, activation="relu"),
                                           keras.layers.Dense(10, activation="softmax")]),
                 rng.random((32, 28, 28)).astype("float32"), rng.integers(0, 10, 32).astype("uint8"),
                 "sparse_categorical_crossentropy"),
                (_cnn, rng.random((32, 28, 28)).astype("float32"), rng.integers(0, 10, 32).astype("uint8"),
                 "sparse_categorical_crossentropy"),
                (lambda: keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"),
                                           keras.layers.Dense(8, "tanh"), keras.layers.Dense(1, "sigmoid")]),
                 rng.normal(size=(16, 2)).astype("float32"), rng.integers(0, 2, 16).astype("int32"),
                 "binary_crossentropy"),
                # another batch size (reductions over it read their lanes from a uniform) and
                # int32 labels (the label check's min/max and the loss's compare)
                (lambda: keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                           keras.layers.Dense(64, activation="relu"),
                                           keras.layers.Dense(10, activation="softmax")]),
                 rng.random((128, 28, 28)).astype("float32"), rng.integers(0, 10, 128).astype("int32"),
                 "sparse_categorical_crossentropy")]:
            before = set(fresh_pipelines.keys())
            model = build()
            model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
            model.make_train_function()(keras.models.data_adapter.adapter_for(x, y).whole_batch())
            new = set(fresh_pipelines.keys()) - before
            assert not new, [[i for i in k[1:] if i[0] != "DECLS"] for k in new]


def test_the_recorded_warmup_shaders_are_the_ones_the_warmup_compiles(gpu, fresh_pipelines, monkeypatch, tmp_path):
    """The page compiles the file the wheel build records (warmup.recorded_shaders, on a
    device that runs nothing) while Pyodide loads; the warm-up in the page must then ask for
    exactly those sources, in that order, or the head start compiles the wrong shaders."""
    out = tmp_path / "shaders.json"
    subprocess.run([sys.executable, "-m", "pykernel.backends.webgpu.warmup", "--shaders", str(out)], check=True)
    recorded = json.loads(out.read_text())
    assert recorded["format"] == 1 and recorded["limits"] == {"maxStorageBuffersPerShaderStage": 10}
    asked = []
    create = gpu.device.create_pipeline
    monkeypatch.setattr(gpu.device, "create_pipeline",
                        lambda wgsl, entry_point="main": asked.append((wgsl, entry_point)) or create(wgsl, entry_point))
    added, _ = warmup(gpu)
    assert gpu.device.max_storage_buffers_per_stage == 10   # as the page's device
    assert [(s["code"], s["entryPoint"]) for s in recorded["shaders"]] == asked and len(asked) == added
