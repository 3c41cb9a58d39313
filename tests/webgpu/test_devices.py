"""Device selection and moving tensors between devices (tf.device, tf.identity, names)."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import backends


@pytest.mark.parametrize("name, expected", [
    ("cpu", "cpu"), ("CPU", "cpu"), ("/CPU:0", "cpu"), ("/job:localhost/replica:0/task:0/device:CPU:0", "cpu"),
    ("webgpu", "webgpu"), ("WebGPU:0", "webgpu"), ("GPU", "webgpu"), ("/GPU:0", "webgpu"), ("/device:GPU:0", "webgpu"),
])
def test_device_names(name, expected):
    assert backends.canonical_name(name) == expected


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown device 'tpu'.*cpu, webgpu"):
        with tf.device("tpu"):
            pass
    with pytest.raises(TypeError, match="device name must be a string"):
        tf.device(3).__enter__()


def test_tensors_created_in_a_device_scope_live_there(gpu):
    with tf.device("/GPU:0"):
        x = tf.random.normal([3, 5], seed=1)
        with tf.device("cpu"):
            inner = tf.zeros([2])
        after = tf.ones([2])
    assert x.device == gpu.device_name and after.device == gpu.device_name
    assert inner.device == backends.get("cpu").device_name
    assert tf.ones([1]).device == backends.get("cpu").device_name   # the default again outside


def test_identity_moves_values_and_gradients_flow_back(gpu):
    rng = np.random.default_rng(0)
    host = tf.constant(rng.standard_normal((7, 9)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(host)
        with tf.device("webgpu"):
            on_gpu = tf.identity(host)
        loss = tf.reduce_sum(tf.square(on_gpu))
    grad = tape.gradient(loss, host)
    assert on_gpu.device == gpu.device_name and loss.device == gpu.device_name
    np.testing.assert_array_equal(on_gpu.numpy(), host.numpy())
    assert grad.device == host.device
    np.testing.assert_allclose(grad.numpy(), 2 * host.numpy(), rtol=1e-6)
    with tf.device("cpu"):
        back = tf.identity(on_gpu)
    assert back.device == host.device
    np.testing.assert_array_equal(back.numpy(), host.numpy())


def test_mixing_devices_in_one_op_names_both(gpu):
    with tf.device("webgpu"):
        a = tf.ones([2])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"add: inputs live on different devices .*tf\.device"):
        a + tf.ones([2])
