"""int64 on WebGPU is exact: two 32-bit words per element, 64-bit arithmetic in WGSL
(elementwise.HELPERS["i64"]), checked against NumPy's int64 bit for bit, wrapping included.
It used to be silently 32-bit (issue 9: [2**30] * 4 summed to 0, cast(3e9) gave 2147483520,
tf.constant(2**40) failed)."""
import numpy as np
import pytest

import pykernel as tf

from .conftest import upload

rng = np.random.default_rng(64)
BIG = 2**62


def exact(gpu, buf, expected):
    got = gpu.to_numpy(buf)
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def wide(shape, low=-BIG, high=BIG):
    return rng.integers(low, high, shape, dtype=np.int64)


def test_the_filed_cases(gpu, on_device):
    with on_device("webgpu"):
        assert tf.reduce_sum(tf.constant([2**30] * 4, dtype=tf.int64)).numpy() == 2**32
        assert tf.cast(tf.constant(3e9), tf.int64).numpy() == 3_000_000_000
        big = tf.constant(2**40)
        assert big.dtype == tf.int64 and big.numpy() == 2**40 and big.device.endswith("WebGPU:0")
        assert (tf.constant([2**40, -2**41]) * 3).numpy().tolist() == [3 * 2**40, -3 * 2**41]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "maximum", "minimum", "floordiv", "mod",
                                "equal", "not_equal", "less", "less_equal", "greater", "greater_equal"])
def test_binary_ops_match_numpy_bit_for_bit(gpu, ref, op):
    a, b = wide((7, 13)), wide((13,))
    if op in ("floordiv", "mod"):
        b = np.where(b == 0, 3, b // rng.integers(1, 2**40, b.shape))   # small and large divisors, both signs
        b[:4] = [1, -1, 7, -7]
    b[0] = a[0, 0]   # equal elements for the comparisons
    exact(gpu, gpu.binary(op, upload(gpu, a), upload(gpu, b)), ref.binary(op, a, b))


def test_multiplication_wraps_like_numpy(gpu, ref):
    a = np.array([2**62, -2**62, 2**63 - 1, -2**63, 3037000500, -1], np.int64)
    b = np.array([4, 3, 2**63 - 1, -1, 3037000500, -2**63], np.int64)
    with np.errstate(over="ignore"):
        exact(gpu, gpu.binary("mul", upload(gpu, a), upload(gpu, b)), ref.binary("mul", a, b))
        exact(gpu, gpu.binary("add", upload(gpu, a), upload(gpu, b)), ref.binary("add", a, b))


def test_pow_and_unary_ops(gpu, ref):
    base = rng.integers(-50, 50, (40,), dtype=np.int64)
    exponent = rng.integers(0, 11, (40,), dtype=np.int64)
    exact(gpu, gpu.binary("pow", upload(gpu, base), upload(gpu, exponent)), ref.binary("pow", base, exponent))
    x = wide((31,))
    x[:3] = [0, -1, 1]
    for op in ("neg", "abs", "sign"):
        exact(gpu, gpu.unary(op, upload(gpu, x)), ref.unary(op, x))


def test_casts_to_and_from_int64(gpu, ref):
    from pykernel import dtypes
    x = wide((50,), -2**52, 2**52)
    x[:5] = [0, -1, 2**31, -2**31 - 1, 2**32 + 7]
    for target in (dtypes.int32, dtypes.uint8, dtypes.bool_):
        exact(gpu, gpu.cast(upload(gpu, x), target), ref.cast(x, target))
    small = rng.integers(-2**24, 2**24, (50,), dtype=np.int64)   # exactly representable in float32
    exact(gpu, gpu.cast(upload(gpu, small), dtypes.float32), small.astype(np.float32))
    np.testing.assert_allclose(gpu.to_numpy(gpu.cast(upload(gpu, x), dtypes.float32)), x.astype(np.float32),
                               rtol=2e-7)
    f = np.array([0.0, -0.5, 2.9, -2.9, 3e9, -3e9, 1.5e18, -9.2e18, 16777217.0], np.float32)
    exact(gpu, gpu.cast(upload(gpu, f), dtypes.int64), f.astype(np.int64))
    i = rng.integers(-2**31, 2**31, (20,)).astype(np.int32)
    exact(gpu, gpu.cast(upload(gpu, i), dtypes.int64), i.astype(np.int64))
    u = rng.integers(0, 256, (20,)).astype(np.uint8)
    exact(gpu, gpu.cast(upload(gpu, u), dtypes.int64), u.astype(np.int64))


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min", "any", "all"])
@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)])
def test_reductions(gpu, ref, op, axes):
    x = wide((9, 1100)) if op != "prod" else rng.integers(-3, 4, (9, 1100), dtype=np.int64)
    if op in ("any", "all"):
        x[x % 3 == 0] = 0
    with np.errstate(over="ignore"):
        exact(gpu, gpu.reduce(op, upload(gpu, x), axes, False), ref.reduce(op, x, axes, False))


def test_long_reductions_and_arg_reductions(gpu, ref):
    from pykernel import dtypes
    x = wide((20000,))
    with np.errstate(over="ignore"):
        exact(gpu, gpu.reduce("sum", upload(gpu, x), (0,), False), ref.reduce("sum", x, (0,), False))
    x[123] = x.max() + 1
    x[7000] = x.min() - 1
    for op in ("argmax", "argmin"):
        for out_type in (dtypes.int64, dtypes.int32):
            exact(gpu, gpu.arg_reduce(op, upload(gpu, x), 0, out_type), ref.arg_reduce(op, x, 0, out_type))
    m = wide((6, 500))
    m[:, 17] = m.max()   # ties: the first index wins
    m[:, 400] = m.max()
    exact(gpu, gpu.arg_reduce("argmax", upload(gpu, m), 1, dtypes.int64), ref.arg_reduce("argmax", m, 1, dtypes.int64))


def test_copies_keep_both_words(gpu, ref):
    x = wide((4, 3, 5))
    up = upload(gpu, x)
    exact(gpu, gpu.transpose(up, (2, 0, 1)), x.transpose(2, 0, 1))
    exact(gpu, gpu.broadcast_to(upload(gpu, x[:1]), (3, 3, 5)), np.broadcast_to(x[:1], (3, 3, 5)))
    exact(gpu, gpu.strided_slice(up, (3, 0, 4), (-1, 2, -2), (2, 2, 3)), x[3::-1, 0::2, 4::-2][:2, :2, :3])
    exact(gpu, gpu.concat([up, upload(gpu, x[:, :1])], 1), np.concatenate([x, x[:, :1]], 1))
    idx = np.array([[2, 0], [1, 2]], np.int64)
    exact(gpu, gpu.gather(up, upload(gpu, idx), 1), np.take(x, idx, 1))
    for value in (0, -1, 5, -2**40):
        pads = ((1, 0), (0, 2), (3, 1))
        exact(gpu, gpu.pad(up, pads, value), np.pad(x, pads, constant_values=value))
    cond = rng.random((4, 3, 5)) > 0.5
    exact(gpu, gpu.where(upload(gpu, cond), up, upload(gpu, -x)), np.where(cond, x, -x))


def test_scatter_add_and_matmul(gpu, ref):
    upd = wide((2, 4, 3), -2**60, 2**60)
    idx = np.array([1, 0, 1, -1], np.int32)   # a repeat, and one counted from the end
    exact(gpu, gpu.scatter_add(upload(gpu, upd), upload(gpu, idx), 1, (2, 3, 3)), ref.scatter_add(upd, idx, 1, (2, 3, 3)))
    a, b = wide((3, 4), -2**30, 2**30), wide((4, 2), -2**30, 2**30)
    exact(gpu, gpu.matmul(upload(gpu, a), upload(gpu, b), False, False), a @ b)


def test_kernels_without_int64_say_so(gpu):
    """The public ops take floats there anyway; the primitives refuse int64 by name."""
    x = upload(gpu, np.ones((1, 4, 4, 1), np.int64))
    with pytest.raises(TypeError, match="pooling on int64 tensors is not supported on WebGPU"):
        gpu.pool2d("max", x, (2, 2), (2, 2), ((0, 0), (0, 0)))
    with pytest.raises(TypeError, match="conv2d on int64 tensors is not supported on WebGPU"):
        gpu.conv2d(x, upload(gpu, np.ones((1, 1, 1, 1), np.int64)), (1, 1), ((0, 0), (0, 0)), (1, 1))


def test_int64_variables_labels_and_indices(gpu, on_device):
    with on_device("webgpu"):
        counter = tf.Variable(2**40, dtype=tf.int64)
        for _ in range(3):
            counter.assign_add(2**33)
        assert counter.numpy() == 2**40 + 3 * 2**33
        labels = tf.constant(np.array([2, 0, 1], np.int64))
        np.testing.assert_array_equal(tf.one_hot(labels, 3).numpy(), np.eye(3, dtype=np.float32)[[2, 0, 1]])
        np.testing.assert_array_equal(tf.gather(tf.constant([5.0, 6.0, 7.0]), labels).numpy(), [7.0, 5.0, 6.0])
        assert tf.argmax(tf.constant([[0.1, 0.7, 0.2]]), axis=1).dtype == tf.int64
        np.testing.assert_array_equal(tf.range(2**40, 2**40 + 3, dtype=tf.int64).numpy(), 2**40 + np.arange(3))


def test_int64_on_the_cpu_backends():
    from without_numpy import run_without_numpy
    with tf.device("/CPU:0"):
        assert tf.constant(2**40).dtype == tf.int64
        assert tf.reduce_sum(tf.constant([2**30] * 4, dtype=tf.int64)).numpy() == 2**32
    out = run_without_numpy("""
import pykernel as tf
x = tf.constant(2**40)
print(x.dtype.name, int(tf.reduce_sum(tf.constant([2**30] * 4, dtype=tf.int64))), int(x * 3))
""")
    assert out.split() == ["int64", str(2**32), str(3 * 2**40)]
