"""Keras models train natively on the WebGPU device (wgpu-py; lavapipe in CI), and long
training runs do not leak device buffers or grow the native device's caches.

The device is set before the model is built, so weights, optimizer slots and every
activation live on the GPU. Subsets of the bundled MNIST are sized so each training test
takes well under 90 s on lavapipe (a CPU Vulkan driver, 2 cores).
"""
import gc
import time

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from keras_helpers import seeded  # noqa: F401  (an autouse fixture)

_GPU_DEVICE = "WebGPU:0"
CNN_TRAIN, CNN_EPOCHS, CNN_BAR = 1000, 3, 0.85


@pytest.fixture(scope="module")
def mnist():
    return keras.datasets.mnist.load_data()


def _report(name, seconds, accuracy):
    print(f"\n{name} on webgpu: test accuracy {accuracy:.4f} in {seconds:.1f}s")


def test_mnist_mlp_trains_on_webgpu(gpu, on_device, mnist):
    """The tf.keras beginner MLP (Flatten(28x28) -> Dense(128, relu) -> Dense(10, softmax),
    adam, sparse_categorical_crossentropy, accuracy) trained on WebGPU: the first 2000
    training digits for 5 epochs (batch 32), evaluated on the first 500 test digits.
    Measured on lavapipe: 90.4% in ~40 s; the bar is 87%."""
    (x_train, y_train), (x_test, y_test) = mnist
    x_train, y_train = x_train[:2000] / 255.0, y_train[:2000]
    x_test, y_test = x_test[:500] / 255.0, y_test[:500]
    start = time.time()
    with on_device("webgpu"):
        model = tf.keras.models.Sequential([
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(128, activation='relu'),
            tf.keras.layers.Dense(10, activation='softmax')
        ])
        model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        assert all(w.value().device == _GPU_DEVICE for w in model.weights)
        history = model.fit(x_train, y_train, epochs=5, verbose=0)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        assert all(w.value().device == _GPU_DEVICE for w in model.weights)
        predictions = model.predict(x_test[:5], verbose=0)
    _report("MNIST MLP (2000 train, 5 epochs)", time.time() - start, accuracy)
    assert accuracy >= 0.87
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert predictions.shape == (5, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_mnist_cnn_trains_on_webgpu(gpu, on_device, mnist):
    """A small convnet (Conv2D(8, 3, relu) -> MaxPool(2) -> Conv2D(16, 3, relu) -> MaxPool(2)
    -> Flatten -> Dropout(0.25) -> Dense(10, softmax); Adam(3e-3), sparse categorical
    cross-entropy) trained on WebGPU: the first 1000 training digits (CNN_TRAIN) for 3 epochs
    (CNN_EPOCHS, batch 32), evaluated on the first 500 test digits. Measured on lavapipe:
    90.6% in ~50 s; the bar (CNN_BAR) is 85%."""
    (x_train, y_train), (x_test, y_test) = mnist
    x_train = np.expand_dims(x_train[:CNN_TRAIN].astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test[:500].astype("float32") / 255, -1)
    y_train, y_test = y_train[:CNN_TRAIN], y_test[:500]
    start = time.time()
    with on_device("webgpu"):
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(8, kernel_size=3, activation="relu"),
            keras.layers.MaxPooling2D(pool_size=2),
            keras.layers.Conv2D(16, kernel_size=3, activation="relu"),
            keras.layers.MaxPooling2D(pool_size=2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(3e-3),
                      metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=32, epochs=CNN_EPOCHS, verbose=0)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        assert all(w.value().device == _GPU_DEVICE for w in model.weights)
    _report(f"MNIST CNN ({CNN_TRAIN} train, {CNN_EPOCHS} epochs)", time.time() - start, accuracy)
    assert accuracy >= CNN_BAR
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def _train_steps(model, x, y, steps, stats, every=10):
    """Run `steps` train_on_batch steps; every `every` steps collect cyclic garbage and sample
    (live_buffers, allocated_buffers). Automatic GC is off meanwhile, so the samples do not
    depend on when Python's cycle collector happens to run."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for i in range(steps):
            model.train_on_batch(x, y)
            if i % every == every - 1:
                gc.collect()
                s = stats()
                samples.append((s["live_buffers"], s["allocated_buffers"]))
    finally:
        gc.enable()
    return samples


def test_training_keeps_device_memory_flat(gpu, on_device):
    """After a 50-step warm-up, 200 more train_on_batch steps of a small MLP (20 -> 16 relu
    -> 5 softmax, adam, batch 32) on WebGPU keep the pool's live and allocated buffer counts
    flat, sampled every 10 steps after a gc.collect() (measured on lavapipe with the fused Adam
    update: live 19 and allocated 143 at all 20 samples; allocated is above the steady state
    because garbage cycles pile up for 10 steps with automatic GC off), and the native
    device's bind-group / uniform caches stay capped."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 20)).astype(np.float32)
    y = rng.integers(0, 5, 32)
    with on_device("webgpu"):
        model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(5, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        _train_steps(model, x, y, 50, gpu.memory_stats)
        samples = _train_steps(model, x, y, 200, gpu.memory_stats)
    live = [s[0] for s in samples]
    allocated = [s[1] for s in samples]
    print(f"\nlive_buffers {live}\nallocated_buffers {allocated}")
    slack = 2
    assert max(live) - min(live) <= slack, f"live buffers vary: {live}"
    assert max(allocated) - min(allocated) <= slack, f"allocated buffers grew: {allocated}"
    # no growth trend: the second half never exceeds the first half's high-water mark
    assert max(live[10:]) <= max(live[:10]) and max(allocated[10:]) <= max(allocated[:10])
    device = gpu.device
    if hasattr(device, "_bind_groups"):  # NativeDevice
        from pykernel.backends.webgpu.native import CACHE_LIMIT
        assert len(device._bind_groups) <= CACHE_LIMIT and len(device._uniforms) <= CACHE_LIMIT


def test_native_caches_are_capped_and_rebuilt_correctly(gpu, on_device, monkeypatch):
    """With a tiny cache limit, the native device drops its bind groups and uniform buffers
    (after flushing queued work) many times mid-computation, and results are unchanged."""
    from pykernel.backends.webgpu import native
    if not isinstance(gpu.device, native.NativeDevice):
        pytest.skip("not the native device")
    monkeypatch.setattr(native, "CACHE_LIMIT", 8)
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (37, 41)).astype(np.float32)
    b = rng.uniform(-1, 1, (41, 29)).astype(np.float32)
    expected = a
    for i in range(1, 40):  # scalars (new uniforms) and fresh buffers every iteration
        expected = np.tanh(expected @ (b * (1.0 + 0.01 * i)) @ b.T) * np.float32(1.0 + 0.001 * i)
    with on_device("webgpu"):
        ta, tb = tf.constant(a), tf.constant(b)
        out = ta
        for i in range(1, 40):
            out = tf.tanh(out @ (tb * (1.0 + 0.01 * i)) @ tf.transpose(tb)) * (1.0 + 0.001 * i)
            assert len(gpu.device._bind_groups) <= 8 and len(gpu.device._uniforms) <= 8
        got = out.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
