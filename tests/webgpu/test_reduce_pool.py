"""Reductions, arg-reductions and 2-D pooling (with gradients) against the NumPy backend."""
import itertools

import numpy as np
import pytest

from pykernel import dtypes

from .conftest import assert_close, upload

rng = np.random.default_rng(7)
SHAPE = (3, 5, 7, 9)   # odd dims: no merged dim is a multiple of a lane count
SUBSETS = [axes for r in range(5) for axes in itertools.combinations(range(4), r)]


def _check_all_subsets(gpu, ref, op, x, exact=False):
    buf = upload(gpu, x)
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=2e-5, atol=1e-5)
    for axes in SUBSETS:
        for keepdims in (False, True):
            assert_close(gpu, gpu.reduce(op, buf, axes, keepdims), ref.reduce(op, x, axes, keepdims), **tol)


# ------------------------------------------------------------------ reduce

@pytest.mark.parametrize("op", ["sum", "max", "min", "prod"])
def test_float32_every_axis_subset(gpu, ref, op):
    x = rng.standard_normal(SHAPE).astype(np.float32)
    if op == "prod":
        x = rng.uniform(0.8, 1.2, SHAPE).astype(np.float32)  # 945 factors stay finite
    _check_all_subsets(gpu, ref, op, x)


@pytest.mark.parametrize("op", ["sum", "max", "min", "prod"])
def test_int32_every_axis_subset(gpu, ref, op):
    x = rng.integers(-1000, 1000, SHAPE).astype(np.int32)
    if op == "prod":
        x = rng.choice(np.array([-3, -1, 1, 2, 5], np.int32), SHAPE)  # wraps mod 2**32 like NumPy
    _check_all_subsets(gpu, ref, op, x, exact=True)


@pytest.mark.parametrize("op", ["any", "all"])
def test_bool_every_axis_subset(gpu, ref, op):
    x = rng.random(SHAPE) < (0.03 if op == "any" else 0.97)   # both outcomes occur per output
    _check_all_subsets(gpu, ref, op, x, exact=True)


def test_other_dtypes(gpu, ref):
    f = rng.standard_normal((4, 6)).astype(np.float32)
    f[1] = 0
    for op in ("any", "all"):   # any/all on a non-bool input test against zero
        assert_close(gpu, gpu.reduce(op, upload(gpu, f), (1,), False), ref.reduce(op, f, (1,), False), 0, 0)
    b = rng.random((5, 33)) < 0.5
    for op in ("sum", "prod", "max", "min"):
        assert_close(gpu, gpu.reduce(op, upload(gpu, b), (1,), False), ref.reduce(op, b, (1,), False), 0, 0)
    u = rng.integers(0, 256, (7, 300)).astype(np.uint8)
    for op in ("sum", "max", "min"):   # the sum wraps to uint8 like NumPy's astype
        assert_close(gpu, gpu.reduce(op, upload(gpu, u), (1,), True), ref.reduce(op, u, (1,), True), 0, 0)


def test_degenerate_shapes(gpu, ref):
    x = rng.standard_normal((1, 6, 1)).astype(np.float32)
    for axes in [(), (0,), (0, 2), (1,)]:
        assert_close(gpu, gpu.reduce("sum", upload(gpu, x), axes, False), ref.reduce("sum", x, axes, False))
    s = np.float32(2.5).reshape(())
    assert_close(gpu, gpu.reduce("max", upload(gpu, s), (), False), ref.reduce("max", s, (), False))
    empty = np.zeros((3, 0, 4), np.float32)
    for op in ("sum", "prod", "any", "all"):   # NumPy's identities
        inp = empty.astype(bool) if op in ("any", "all") else empty
        for axes in [(1,), (0, 1)]:
            assert_close(gpu, gpu.reduce(op, upload(gpu, inp), axes, True), ref.reduce(op, inp, axes, True))
    assert gpu.reduce("sum", upload(gpu, empty), (0,), False).shape == (0, 4)


def test_nan_propagates_through_max_min(gpu, ref):
    x = rng.standard_normal((6, 50)).astype(np.float32)
    x[2, 17] = np.nan
    x[4, 0] = np.nan
    for op in ("max", "min"):
        for axes in [(1,), (0,), (0, 1)]:
            assert_close(gpu, gpu.reduce(op, upload(gpu, x), axes, False), ref.reduce(op, x, axes, False))


def test_long_reductions_split_into_chunks(gpu, ref):
    x = rng.random(1_000_003).astype(np.float32)   # positive: no cancellation to hide behind
    got = gpu.to_numpy(gpu.reduce("sum", upload(gpu, x), (0,), False))
    np.testing.assert_allclose(got, x.astype(np.float64).sum(), rtol=1e-5)
    k = rng.integers(-5000, 5000, 1_000_003).astype(np.int32)
    assert_close(gpu, gpu.reduce("sum", upload(gpu, k), (0,), False), ref.reduce("sum", k, (0,), False), 0, 0)
    assert_close(gpu, gpu.reduce("max", upload(gpu, k), (0,), False), ref.reduce("max", k, (0,), False), 0, 0)


@pytest.mark.parametrize("shape,axis", [((60000, 10), 1), ((60000, 10), 0), ((10, 60000), 0), ((10, 60000), 1),
                                        ((37, 3001, 3), 1)])
def test_tall_and_wide(gpu, ref, shape, axis):
    x = rng.random(shape).astype(np.float32)
    want = x.astype(np.float64).sum(axis=axis)
    assert_close(gpu, gpu.reduce("sum", upload(gpu, x), (axis,), False), want, rtol=1e-5, atol=0)
    assert_close(gpu, gpu.reduce("min", upload(gpu, x), (axis,), False), ref.reduce("min", x, (axis,), False))


# ------------------------------------------------------------------ arg_reduce

@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce_every_axis_with_ties(gpu, ref, op):
    xi = rng.integers(0, 4, (5, 7, 9)).astype(np.int32)   # many ties: the first index must win
    xf = xi.astype(np.float32)
    for x in (xi, xf):
        for axis in range(3):
            for dtype in (dtypes.int32, dtypes.int64):
                got = gpu.arg_reduce(op, upload(gpu, x), axis, dtype)
                assert got.dtype is dtype
                assert_close(gpu, got, ref.arg_reduce(op, x, axis, dtype), 0, 0)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce_long_axis_nan_and_inf(gpu, ref, op):
    x = rng.integers(0, 50, (3, 100_001)).astype(np.float32)   # two passes; ties in both
    x[1, 70_000:] = np.nan   # NumPy: the first NaN wins
    x[2] = -np.inf if op == "argmax" else np.inf
    x[2, 99_999] = 0 if op == "argmin" else -np.inf
    for axis in (1, 0):
        assert_close(gpu, gpu.arg_reduce(op, upload(gpu, x), axis, dtypes.int32),
                     ref.arg_reduce(op, x, axis, dtypes.int32), 0, 0)


# ------------------------------------------------------------------ pooling

def _same_pads(hw, ksize, strides):
    pads = []
    for size, k, s in zip(hw, ksize, strides):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


POOL_CASES = [(k, s, padding) for k in (2, 3) for s in (1, 2, 3) for padding in ("VALID", "SAME")]


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("channels", [3, 8])   # 8: the vec4 path
def test_pool2d_and_grad(gpu, ref, op, channels):
    x = rng.standard_normal((2, 11, 10, channels)).astype(np.float32)
    gx = upload(gpu, x)
    for k, s, padding in POOL_CASES:
        ksize, strides = (k, k - 1 if k == 3 else k), (s, 1 + s % 3)
        pads = _same_pads(x.shape[1:3], ksize, strides) if padding == "SAME" else ((0, 0), (0, 0))
        want = ref.pool2d(op, x, ksize, strides, pads)
        assert_close(gpu, gpu.pool2d(op, gx, ksize, strides, pads), want)
        dy = rng.standard_normal(want.shape).astype(np.float32)
        assert_close(gpu, gpu.pool2d_grad(op, gx, upload(gpu, dy), ksize, strides, pads),
                     ref.pool2d_grad(op, x, dy, ksize, strides, pads))


@pytest.mark.parametrize("channels", [1, 4])
def test_max_pool_grad_ties_go_to_the_first_cell(gpu, ref, channels):
    for x in (np.ones((1, 7, 8, channels), np.float32),
              rng.integers(0, 2, (2, 9, 7, channels)).astype(np.float32)):
        for ksize, strides, pads in [((3, 3), (1, 1), ((1, 1), (1, 1))), ((2, 3), (2, 2), ((0, 1), (1, 1))),
                                     ((3, 2), (3, 1), ((0, 0), (0, 0)))]:
            dy = rng.standard_normal(ref.pool2d("max", x, ksize, strides, pads).shape).astype(np.float32)
            assert_close(gpu, gpu.pool2d_grad("max", upload(gpu, x), upload(gpu, dy), ksize, strides, pads),
                         ref.pool2d_grad("max", x, dy, ksize, strides, pads))


def test_pool2d_int_nan_and_large_padding(gpu, ref):
    xi = rng.integers(-100, 100, (2, 6, 5, 4)).astype(np.int32)
    for op in ("max", "avg"):
        for pads in [((0, 0), (0, 0)), ((1, 2), (2, 1))]:
            assert_close(gpu, gpu.pool2d(op, upload(gpu, xi), (3, 3), (2, 1), pads),
                         ref.pool2d(op, xi, (3, 3), (2, 1), pads), 0, 0)
    x = rng.standard_normal((1, 6, 6, 2)).astype(np.float32)
    x[0, 2, 3, 1] = np.nan
    assert_close(gpu, gpu.pool2d("max", upload(gpu, x), (2, 2), (1, 1), ((0, 0), (0, 0))),
                 ref.pool2d("max", x, (2, 2), (1, 1), ((0, 0), (0, 0))))
    # windows reaching 2 cells into the padding on every side
    x = rng.standard_normal((1, 4, 5, 3)).astype(np.float32)
    pads = ((2, 2), (2, 2))
    for op in ("max", "avg"):
        want = ref.pool2d(op, x, (3, 3), (1, 1), pads)
        assert_close(gpu, gpu.pool2d(op, upload(gpu, x), (3, 3), (1, 1), pads), want)
        dy = rng.standard_normal(want.shape).astype(np.float32)
        assert_close(gpu, gpu.pool2d_grad(op, upload(gpu, x), upload(gpu, dy), (3, 3), (1, 1), pads),
                     ref.pool2d_grad(op, x, dy, (3, 3), (1, 1), pads))


# ------------------------------------------------------------------ end to end through the ops layer

def test_reductions_and_pools_with_gradient_tape_match_cpu(on_device):
    import pykernel as tf
    x_np = rng.standard_normal((2, 9, 7, 4)).astype(np.float32)
    x_np[0, 1, 1, 0] = x_np[0, 1, 2, 0] = 5.0   # a tie in reduce_max and in a pool window

    def run(device):
        with on_device(device):
            x = tf.constant(x_np)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                pooled = tf.nn.max_pool2d(x, 3, 2, "SAME") + tf.nn.avg_pool2d(x, 2, 1, "VALID")[:, :5, :4]
                loss = tf.reduce_sum(pooled * pooled)
                peak = tf.reduce_max(x, axis=[1, 2])
                mean = tf.reduce_mean(x, axis=[0, 3], keepdims=True)
            return (pooled.numpy(), loss.numpy(), peak.numpy(), mean.numpy(),
                    tf.argmax(tf.reshape(x, (2, -1)), axis=1).numpy(),
                    tape.gradient(loss, x).numpy(), tape.gradient(peak, x).numpy(),
                    tape.gradient(mean, x).numpy())

    for got, want in zip(run("webgpu"), run("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
