"""The map kernel (elementwise ops, casts and strided copies) against the NumPy backend."""
import numpy as np
import pytest

from pykernel import dtypes
from pykernel.backends.base import BINARY_OPS, UNARY_OPS

from .conftest import assert_close, upload

rng = np.random.default_rng(0)
POSITIVE_ONLY = {"log", "sqrt", "rsqrt"}


@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_float32(gpu, ref, op):
    x = rng.standard_normal((3, 70, 5)).astype(np.float32) * 3
    if op in POSITIVE_ONLY:
        x = np.abs(x) + 0.1
    if op == "round":
        x[0, 0, :3] = [0.5, 1.5, -2.5]  # half to even
    if op == "logical_not":
        x = x > 0
    expected = ref.unary(op, x)
    assert_close(gpu, gpu.unary(op, upload(gpu, x)), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("op", ["neg", "abs", "sign"])
def test_unary_int32(gpu, ref, op):
    x = rng.integers(-50, 50, (17, 3)).astype(np.int32)
    assert_close(gpu, gpu.unary(op, upload(gpu, x)), ref.unary(op, x), rtol=0, atol=0)


@pytest.mark.parametrize("op", BINARY_OPS)
@pytest.mark.parametrize("shapes", [((4, 1, 6), (3, 1)), ((), (5,)), ((2, 3, 1, 1, 2), (1, 3, 4, 1, 1))])
def test_binary_broadcasting(gpu, ref, op, shapes):
    a = (rng.standard_normal(shapes[0]) * 3).astype(np.float32)
    b = (rng.standard_normal(shapes[1]) * 3).astype(np.float32)
    if op == "pow":
        a = np.abs(a) + 0.5
        b = np.clip(b, -2, 2)
    if op in ("div", "floordiv", "mod"):
        b = np.where(np.abs(b) < 0.5, 1.0, b).astype(np.float32)
    if op.startswith("logical"):
        a, b = a > 0, b > 0
    got = gpu.binary(op, upload(gpu, a), upload(gpu, b))
    assert_close(gpu, got, ref.binary(op, a, b), rtol=2e-6, atol=2e-5)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "floordiv", "mod", "pow", "less"])
def test_binary_int32(gpu, ref, op):
    a = rng.integers(-20, 20, (6, 5)).astype(np.int32)
    b = rng.integers(1, 6, (5,)).astype(np.int32) * rng.choice([-1, 1], (5,)).astype(np.int32)
    if op == "pow":
        a, b = np.clip(a, -5, 5), np.abs(b)
    assert_close(gpu, gpu.binary(op, upload(gpu, a), upload(gpu, b)), ref.binary(op, a, b), rtol=0, atol=0)


def test_where_and_casts(gpu, ref):
    c = rng.random((4, 1, 3)) > 0.5
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((4, 2, 1)).astype(np.float32)
    assert_close(gpu, gpu.where(upload(gpu, c), upload(gpu, a), upload(gpu, b)), ref.where(c, a, b))
    x = (rng.standard_normal(40) * 10).astype(np.float32)
    for target in (dtypes.int32, dtypes.bool_, dtypes.uint8, dtypes.float32):
        xs = np.abs(x) if target is dtypes.uint8 else x
        assert_close(gpu, gpu.cast(upload(gpu, xs), target), ref.cast(xs, target), rtol=0, atol=0)


def test_copies_transpose_broadcast_slice(gpu, ref):
    x = rng.standard_normal((3, 4, 5, 2)).astype(np.float32)
    assert_close(gpu, gpu.transpose(upload(gpu, x), (2, 0, 3, 1)), ref.transpose(x, (2, 0, 3, 1)))
    y = rng.standard_normal((3, 1, 5)).astype(np.float32)
    assert_close(gpu, gpu.broadcast_to(upload(gpu, y), (2, 3, 4, 5)), ref.broadcast_to(y, (2, 3, 4, 5)))
    begin, strides, shape = (2, 1, 4, 0), (-1, 2, -2, 1), (3, 2, 3, 2)
    assert_close(gpu, gpu.strided_slice(upload(gpu, x), begin, strides, shape),
                 ref.strided_slice(x, begin, strides, shape))


def test_large_tensor_uses_a_2d_grid(gpu, ref):
    n = 256 * 65535 + 1000  # more workgroups than one grid dimension allows
    x = np.arange(n, dtype=np.float32) % 977
    got = gpu.to_numpy(gpu.binary("mul", upload(gpu, x), upload(gpu, np.float32([2.0]))))
    np.testing.assert_array_equal(got, x * 2)


def test_creation_and_transfer(gpu):
    assert gpu.to_list(gpu.full((2, 2), 1.5, dtypes.float32)) == [1.5] * 4
    assert gpu.to_list(gpu.full((3,), float("-inf"), dtypes.float32)) == [float("-inf")] * 3
    assert gpu.to_list(gpu.arange(3, -2, 4, dtypes.int32)) == [3, 1, -1, -3]
    assert gpu.to_list(gpu.from_list([True, False], (2,), dtypes.bool_)) == [True, False]
    assert gpu.to_list(gpu.from_bytes(bytes([0, 7, 255]), (3,), dtypes.uint8)) == [0, 7, 255]
    with pytest.raises(TypeError, match="float64"):
        gpu.from_list([1.0], (1,), dtypes.float64)


def test_a_buffer_over_the_device_limit_is_a_clear_resource_error(gpu):
    import pykernel as tf
    too_big = gpu.device.max_buffer_size // 4 + 1
    with pytest.raises(tf.errors.ResourceExhaustedError, match=r"exceeds this device's limit"):
        gpu.empty((too_big,), dtypes.float32)
    with pytest.raises(MemoryError):
        gpu.empty((too_big,), dtypes.float32)
    assert gpu.to_list(gpu.full((2,), 3.0, dtypes.float32)) == [3.0, 3.0]  # the device still works
