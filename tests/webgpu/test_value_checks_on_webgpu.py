"""On WebGPU the value checks of ops/checks.py run on the device and surface at the next
read: a bad label, index or divisor raises there, and a training step with good data reads
nothing back for them (issue 9: the GPU returned loss 0.0, 0.0 for a bad index, 0 for x // 0)."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from pykernel.errors import InvalidArgumentError


def test_bad_label_surfaces_at_the_next_read(gpu, on_device):
    with on_device("webgpu"):
        x = tf.constant(np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32))
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant([0, 3, 1]), logits=x)
        with pytest.raises(InvalidArgumentError, match=r"Received a label value of 3 which is outside the "
                           r"valid range of \[0, 3\)"):
            loss.numpy()
        # reported once: the next read works
        assert tf.reduce_sum(tf.ones([4])).numpy() == 4.0
        labels64 = tf.constant(np.array([2, -1, 0], dtype=np.int64))
        with pytest.raises(InvalidArgumentError, match="label value of -1"):
            keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels64, x).numpy()


def test_bad_index_and_zero_divisor_surface_at_the_next_read(gpu, on_device):
    with on_device("webgpu"):
        params = tf.constant([1.0, 2.0, 3.0])
        out = tf.gather(params, tf.constant([0, 5]))
        with pytest.raises(InvalidArgumentError, match=r"indices hold 5, which is not in \[0, 3\)"):
            out.numpy()
        quotient = tf.constant([4, 5]) // tf.constant([2, 0])
        with pytest.raises(InvalidArgumentError, match="floordiv: integer division by zero"):
            quotient.numpy()
        with pytest.raises(IndexError, match="index 3 is out of bounds"):
            params[[1, 3]].numpy()
        np.testing.assert_array_equal(tf.gather(params, [2, 0]).numpy(), [3.0, 1.0])
        np.testing.assert_array_equal((tf.constant([7, -7]) // tf.constant([2, 2])).numpy(), [3, -4])


def test_several_pending_checks_are_read_together_and_the_first_failure_wins(gpu, on_device):
    with on_device("webgpu"):
        params = tf.constant([1.0, 2.0, 3.0])
        tf.gather(params, [1])                # fine
        tf.gather(params, [4])                # the first failure
        tf.constant([1, 2]) // tf.constant([0, 1])
        assert len(gpu._pending_checks) == 3
        with pytest.raises(InvalidArgumentError, match="indices hold 4"):
            tf.constant(1.0).numpy()
        assert gpu._pending_checks == []


def test_many_checks_without_a_read_stay_one_small_buffer(gpu, on_device):
    from pykernel.backends import webgpu
    with on_device("webgpu"):
        params = tf.constant([1.0, 2.0, 3.0])
        for i in range(3 * webgpu.MAX_PENDING_CHECKS):
            tf.gather(params, [i % 3])
        assert len(gpu._pending_checks) < webgpu.MAX_PENDING_CHECKS
        tf.gather(params, [3])
        for i in range(200):
            tf.gather(params, [i % 3])
        with pytest.raises(InvalidArgumentError, match="indices hold 3"):
            params.numpy()
        assert gpu._pending_checks == []


def test_guarded_training_reads_nothing_per_step(gpu, on_device, monkeypatch):
    """fit with sparse labels on the GPU: the device reads per fit do not grow with the number
    of batches (the label checks ride along with the per-epoch reads)."""
    reads = []
    original = gpu.device.read_buffer
    monkeypatch.setattr(gpu.device, "read_buffer", lambda *a: reads.append(1) or original(*a))

    def reads_during_fit(samples):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(3)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        x = np.random.default_rng(2).standard_normal((samples, 3)).astype(np.float32)
        y = np.array([0, 1, 2, 1] * (samples // 4))
        reads.clear()
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        return len(reads)
    with on_device("webgpu"):
        assert reads_during_fit(40) == reads_during_fit(400)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        with pytest.raises(InvalidArgumentError, match="label value of 7"):
            model.fit(np.zeros((16, 3), np.float32), np.array([0, 1, 2, 7] * 4), batch_size=4, verbose=0)
