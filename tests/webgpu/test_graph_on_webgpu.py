"""tf.function on the WebGPU device (wgpu-py natively; lavapipe in CI): traced == eager for
forward values and gradients of a subset of ops, Keras fit traced vs run_eagerly=True, and
flat process, buffer-pool and native-cache memory over 500 replayed train steps.

Traced and eager run the same WGSL kernels, so they agree to float32 rounding; both are
also compared with the NumPy backend (the reference). The 500-step measurement runs in a
fresh interpreter, with test_memory.py's `measure()` (see there why), and shares the
browser tests' xdist group for the same reason.
"""
import math
import zlib

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from pykernel.backends.webgpu import native
from pykernel.graph import Function

from .test_memory import _REPORT, grown_types, measure
from keras_helpers import TracingCounts, seeded  # noqa: F401  (seeded: an autouse fixture)

pytestmark = pytest.mark.xdist_group("browser")

_GPU_DEVICE = "WebGPU:0"
RTOL, ATOL = 1e-4, 1e-5


def values(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def _uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


_LABELS = np.array([2, 0, 6, 6, 1], dtype=np.int32)
_INDICES = np.array([4, 0, 0, 2], dtype=np.int32)

# name: (input shapes, low, high, fn): every input is a float32 tensor and differentiated
CASES = {
    "matmul": ([(5, 33), (33, 7)], -2, 2, lambda a, b: tf.matmul(a, b)),
    "batched_matmul_transpose_b": ([(2, 3, 9), (4, 9)], -2, 2, lambda a, b: tf.matmul(a, b, transpose_b=True)),
    "conv2d_same_stride2": ([(2, 7, 9, 3), (3, 2, 3, 4)], -1, 1,
                            lambda x, w: tf.nn.conv2d(x, w, strides=2, padding="SAME")),
    "max_pool_same": ([(2, 7, 9, 3)], -2, 2, lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME")),
    "avg_pool_valid": ([(1, 6, 7, 2)], -2, 2, lambda x: tf.nn.avg_pool2d(x, 3, (1, 2), "VALID")),
    "reductions": ([(3, 5, 7)], -2, 2, lambda x: tf.reduce_sum(x, axis=1, keepdims=True)
                   + tf.reduce_mean(x, axis=[0, 2], keepdims=True) + tf.reduce_max(x, axis=-1, keepdims=True)),
    "broadcast_elementwise": ([(3, 1, 5), (4, 1)], 0.5, 2,
                              lambda a, b: tf.pow(a, b) * tf.exp(-a) / (b + 1.0) - tf.math.log(a * b)
                              + tf.tanh(a - b) * tf.sigmoid(b)),
    "relu": ([(4, 6)], -2, 2, lambda x: tf.nn.relu(x * 3.0 + 0.01)),
    "softmax_cross_entropy": ([(5, 7)], -3, 3, lambda x: tf.nn.softmax(x)[:, :3] * 2.0
                              + tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(_LABELS), x)[:, None]),
    "shape_ops": ([(3, 4, 5), (3, 2, 5)], -2, 2,
                  lambda a, b: tf.transpose(tf.reshape(tf.concat([a, b], axis=1), (3, 5, 6)), (2, 0, 1))[1:, ::2]),
    "gather_where": ([(5, 6), (4, 6)], -2, 2,
                     lambda a, b: tf.where(tf.gather(a, tf.constant(_INDICES)) > b, tf.gather(a, tf.constant(_INDICES)) * b,
                                           b - 1.0)),
}


def _forward_and_gradients(fn, xs, cotangent):
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out = fn(*xs)
        loss = tf.reduce_sum(out * cotangent)
    return out, tape.gradient(loss, list(xs))


@pytest.mark.parametrize("name", list(CASES))
def test_traced_op_matches_eager_on_webgpu(gpu, on_device, name):
    """Forward and gradients traced (GradientTape inside the tf.function) == eager on WebGPU,
    at two inputs of one trace; eager WebGPU == eager NumPy."""
    shapes, low, high, fn = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    traced = tf.function(lambda *args: _forward_and_gradients(fn, args[:-1], args[-1]))
    for trial in range(2):
        arrays = [_uniform(rng, s, low, high) for s in shapes]
        with on_device("cpu"):
            xs = [tf.constant(a) for a in arrays]
            cotangent = _uniform(rng, tuple(fn(*xs).shape), -1.0, 1.0)
            ref_out, ref_grads = _forward_and_gradients(fn, xs, tf.constant(cotangent))
        with on_device("webgpu"):
            xs = [tf.constant(a) for a in arrays]
            ct = tf.constant(cotangent)
            eager_out, eager_grads = _forward_and_gradients(fn, xs, ct)
            traced_out, traced_grads = traced(*xs, ct)
        for t in [traced_out, *traced_grads]:
            assert t.device == _GPU_DEVICE, f"traced result left the GPU: {t.device}"
        assert tuple(traced_out.shape) == tuple(eager_out.shape)
        np.testing.assert_allclose(values(traced_out), values(eager_out), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{name}: traced forward != eager (call {trial})")
        np.testing.assert_allclose(values(eager_out), values(ref_out), rtol=RTOL, atol=1e-4,
                                   err_msg=f"{name}: eager WebGPU forward != NumPy")
        for i, (gt, ge, gr) in enumerate(zip(traced_grads, eager_grads, ref_grads)):
            np.testing.assert_allclose(values(gt), values(ge), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name}: traced gradient {i} != eager (call {trial})")
            np.testing.assert_allclose(values(ge), values(gr), rtol=RTOL, atol=1e-4,
                                       err_msg=f"{name}: eager WebGPU gradient {i} != NumPy")
    assert traced.experimental_get_tracing_count() == 1


def test_random_draws_are_fresh_at_every_replay_on_webgpu(gpu, on_device):
    with on_device("webgpu"):
        f = tf.function(lambda: tf.random.uniform([64]))
        layer = keras.layers.Dropout(0.5)
        g = tf.function(lambda x: layer(x, training=True))
        draws = [values(f()) for _ in range(3)]
        masks = [values(g(tf.ones([64]))) for _ in range(3)]
    assert f.experimental_get_tracing_count() == 1 and g.experimental_get_tracing_count() == 1
    for seq in (draws, masks):
        assert not np.array_equal(seq[0], seq[1]) and not np.array_equal(seq[1], seq[2])
    assert all(set(np.unique(m)) <= {0.0, 2.0} for m in masks)


# ---------------------------------------------------------------- Keras fit traced vs eager

def _fit_twins(build, optimizer, x, y, compile_kwargs, **fit_kwargs):
    """(eager model, its history, traced model, its history): identical weights, compile, fit."""
    eager = build()
    traced = build()
    traced.set_weights(eager.get_weights())
    eager.compile(optimizer=optimizer(), run_eagerly=True, **compile_kwargs)
    traced.compile(optimizer=optimizer(), **compile_kwargs)
    counts = TracingCounts()
    he = eager.fit(x, y, verbose=0, shuffle=False, **fit_kwargs)
    ht = traced.fit(x, y, verbose=0, shuffle=False, callbacks=[counts], **fit_kwargs)
    assert isinstance(traced.train_function, Function) and not isinstance(eager.train_function, Function)
    assert counts.counts[0] >= 1 and len(set(counts.counts)) == 1, f"retraced: counts per epoch {counts.counts}"
    assert all(w.value().device == _GPU_DEVICE for w in traced.weights)
    return eager, he, traced, ht


def _assert_same(eager, he, traced, ht):
    for key in he.history:
        np.testing.assert_allclose(ht.history[key], he.history[key], rtol=RTOL, atol=1e-6,
                                   err_msg=f"history[{key!r}] differs traced vs eager")
        assert all(math.isfinite(v) for v in ht.history[key])
    for i, (a, b) in enumerate(zip(eager.get_weights(), traced.get_weights())):
        np.testing.assert_allclose(np.asarray(b, np.float64), np.asarray(a, np.float64), rtol=RTOL, atol=1e-5,
                                   err_msg=f"weight {i} differs traced vs eager")


def test_fit_mlp_adam_traced_equals_eager_on_webgpu(gpu, on_device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 12)).astype(np.float32)
    y = rng.integers(0, 4, size=37)
    with on_device("webgpu"):
        def build():
            return keras.Sequential([keras.Input(shape=(12,)), keras.layers.Dense(32, activation="relu"),
                                     keras.layers.Dense(4, activation="softmax")])
        eager, he, traced, ht = _fit_twins(build, lambda: keras.optimizers.Adam(0.01), x, y,
                                           dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
                                           batch_size=16, epochs=3,
                                           class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5})
        _assert_same(eager, he, traced, ht)
        assert ht.history["loss"][-1] < ht.history["loss"][0]
        np.testing.assert_allclose(traced.evaluate(x, y, batch_size=16, verbose=0),
                                   eager.evaluate(x, y, batch_size=16, verbose=0), rtol=RTOL)
        np.testing.assert_allclose(np.asarray(traced.predict(x, batch_size=16, verbose=0)),
                                   np.asarray(eager.predict(x, batch_size=16, verbose=0)), rtol=RTOL, atol=1e-6)
        assert isinstance(traced.test_function, Function) and isinstance(traced.predict_function, Function)


def test_fit_cnn_sgd_momentum_traced_equals_eager_on_webgpu(gpu, on_device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((21, 8, 7, 2)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, size=21), 3)
    with on_device("webgpu"):
        def build():
            return keras.Sequential([keras.Input(shape=(8, 7, 2)),
                                     keras.layers.Conv2D(4, 3, activation="relu", padding="same"),
                                     keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(3)])
        eager, he, traced, ht = _fit_twins(build, lambda: keras.optimizers.SGD(0.05, momentum=0.9), x, y,
                                           dict(loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                                                metrics=["accuracy"]),
                                           batch_size=8, epochs=2)
        _assert_same(eager, he, traced, ht)


# ---------------------------------------------------------------- flat memory over 500 replays

# The first few hundred replays still fill bounded things: the bind-group cache (pool buffers
# come back in new combinations; capped at native.CACHE_LIMIT) and a few more pool buffers
# (129 after 50 steps, 148 after 500, then flat). The measured run follows 500 warm-up steps.
# (Unbounded before: one command buffer per run of unread steps, +15 MB RSS over 500; the
# device now also submits every native.SUBMIT_EVERY dispatches.)
_WARMUP = 500


def test_500_replayed_train_steps_keep_memory_flat_on_webgpu(gpu):
    """A tf.function train step (GradientTape + Adam's apply_gradients, 32-64-10 MLP, batch 32)
    replayed 500 times without a host read, after as many warm-up steps: RSS, Python objects,
    the buffer pool and the native caches stay flat (a buffer or a bind group kept per replay
    would add 500)."""
    report = measure(f"WARMUP = {_WARMUP}\n" + """
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(32,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10)])
optimizer = keras.optimizers.Adam(0.01)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
rng = np.random.default_rng(0)
x = tf.constant(rng.standard_normal((32, 32)).astype(np.float32))
y = tf.constant(rng.integers(0, 10, size=32))

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

first = float(train_step(x, y))
for _ in range(WARMUP):
    train_step(x, y)
float(train_step(x, y))
traces = train_step.experimental_get_tracing_count()
pool = dict(gpu.memory_stats())
rss0, types0 = snapshot()
for _ in range(500):
    loss = train_step(x, y)
last = float(loss)
device = gpu.device
extra = {"pool": pool, "after": gpu.memory_stats(), "first": first, "last": last, "traces": traces,
         "traces_after": train_step.experimental_get_tracing_count(),
         "on_gpu": all(w.value().device == "WebGPU:0" for w in model.weights),
         "bind_groups": len(getattr(device, "_bind_groups", ())), "uniforms": len(getattr(device, "_uniforms", ()))}
""" + _REPORT)
    pool, after = report["pool"], report["after"]
    print(f"\nRSS {report['rss_mb']:+.1f} MB, Python objects {report['objects']:+d} over 500 replayed steps; "
          f"pool {pool} -> {after}; bind groups {report['bind_groups']}")
    assert report["on_gpu"]
    assert report["traces_after"] == report["traces"] <= 2, "the step must replay, not retrace"
    assert math.isfinite(report["last"]) and report["last"] < report["first"]
    assert report["rss_mb"] < 8, f"RSS grew {report['rss_mb']:.1f} MB over 500 replayed steps"
    assert report["objects"] < 200, f"{report['objects']} Python objects more: {grown_types(report)}"
    assert after["allocated_buffers"] <= pool["allocated_buffers"] + 4, (pool, after)
    assert after["live_buffers"] <= pool["live_buffers"] + 2, (pool, after)
    assert report["bind_groups"] <= native.CACHE_LIMIT and report["uniforms"] <= native.CACHE_LIMIT
