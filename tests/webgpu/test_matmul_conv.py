"""Matmul and the convolutions (the shared GEMM core) against the NumPy backend.

Shapes are odd and not tile multiples, so every tile has ragged edges; the vec4 loaders are
reached with multiples of 4 along the contiguous axis. Compiling a pipeline on lavapipe
costs ~0.4 s, so cases are picked to reach each loader variant without many duplicates.
"""
import itertools

import numpy as np
import pytest

from pykernel import dtypes
from pykernel.backends.webgpu import matmul as mm
from pykernel.backends.webgpu.kernels import PipelineCache

from .conftest import assert_close, upload

rng = np.random.default_rng(3)
TOL = dict(rtol=1e-4, atol=1e-4)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def check_matmul(gpu, ref, a, b, ta=False, tb=False, **tol):
    got = gpu.matmul(upload(gpu, a), upload(gpu, b), ta, tb)
    assert_close(gpu, got, ref.matmul(a, b, ta, tb), **(tol or TOL))


def stored(shape, transposed):
    """The array that, read with `transposed`, is a matrix of `shape` (batch dims kept)."""
    return randn(*shape[:-2], shape[-1], shape[-2]) if transposed else randn(*shape)


# ------------------------------------------------------------------ matmul

@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("m,k,n", [(70, 33, 129), (68, 36, 132)], ids=["scalar", "vec4"])
def test_matmul_transposes(gpu, ref, m, k, n, ta, tb):
    check_matmul(gpu, ref, stored((m, k), ta), stored((k, n), tb), ta, tb)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 5, 3), (1, 40, 1), (33, 1, 65), (129, 7, 33),
                                   (300, 40, 10), (3, 50, 300), (16, 16, 16)])
def test_matmul_odd_shapes(gpu, ref, m, k, n):
    check_matmul(gpu, ref, randn(m, k), randn(k, n))


@pytest.mark.parametrize("tiling", mm.TILINGS, ids=lambda t: t.name)
def test_matmul_each_tiling(gpu, ref, monkeypatch, tiling):
    monkeypatch.setattr(mm, "_tiling", lambda m, n: tiling)
    check_matmul(gpu, ref, randn(200, 52), stored((52, 260), True), False, True)


@pytest.mark.parametrize("a_shape,b_shape,ta,tb", [
    ((2, 1, 65, 20), (3, 20, 16), False, False),   # both broadcast, ranks differ
    ((5, 33, 17), (17, 9), False, False),          # b shared by every batch
    ((9, 17), (4, 9, 12), True, False),            # a shared, transposed
    ((2, 3, 1, 7, 5), (1, 3, 4, 6, 5), False, True),
])
def test_matmul_batched_broadcast(gpu, ref, a_shape, b_shape, ta, tb):
    check_matmul(gpu, ref, randn(*a_shape), randn(*b_shape), ta, tb)


def test_matmul_dispatch_limits(gpu, ref, monkeypatch):
    # a 2-workgroup limit per dimension forces a 2-D tile grid and several z dispatches
    monkeypatch.setattr(gpu.device, "max_workgroups_per_dimension", 2)
    check_matmul(gpu, ref, randn(5, 130, 9), randn(5, 9, 70))


@pytest.mark.parametrize("batch,m,k,n", [(1, 40, 1500, 36), (1, 20, 2600, 20), (3, 33, 1000, 7)])
def test_matmul_split_k(gpu, ref, batch, m, k, n):
    a, b = randn(batch, m, k), randn(batch, k, n)
    assert mm._splits(mm._tiling(m, n).groups(m, n, batch), k)[0] > 1
    check_matmul(gpu, ref, a, b, rtol=2e-4, atol=2e-4)


def test_matmul_integers(gpu, ref):
    a = rng.integers(-50, 50, (3, 19, 37)).astype(np.int32)
    b = rng.integers(-50, 50, (37, 20)).astype(np.int32)
    assert_close(gpu, gpu.matmul(upload(gpu, a), upload(gpu, b), False, False), ref.matmul(a, b, False, False),
                 rtol=0, atol=0)
    wide = a[0].astype(np.int64) * 3_000_000   # products beyond int32: int64 is exact
    assert_close(gpu, gpu.matmul(upload(gpu, wide), upload(gpu, wide), True, False),
                 ref.matmul(wide, wide, True, False), rtol=0, atol=0)
    batched = rng.integers(-2**40, 2**40, (2, 3, 5)).astype(np.int64)
    assert_close(gpu, gpu.matmul(upload(gpu, batched), upload(gpu, batched[0]), False, True),
                 ref.matmul(batched, batched[0], False, True), rtol=0, atol=0)
    u = rng.integers(0, 256, (9, 40)).astype(np.uint8)   # wraps mod 256 like NumPy
    assert_close(gpu, gpu.matmul(upload(gpu, u), upload(gpu, u), False, True), ref.matmul(u, u, False, True),
                 rtol=0, atol=0)


def _gemm_keys(cache):
    return {k[3:] for k in cache.keys() if k[0] == "gemm"}


def test_matmul_layouts_share_one_pipeline_per_tiling(gpu, ref, monkeypatch):
    """Transposes, broadcast batches, odd and multiple-of-4 sizes, split-K: strides, bases,
    load order and splits are uniforms, so all of them run on the three f32 matmul pipelines
    (one per tiling) and agree with NumPy."""
    cache = PipelineCache(gpu.device)
    monkeypatch.setattr(gpu, "pipelines", cache)
    cases = [((m, k), (k, n), ta, tb) for ta, tb in itertools.product([False, True], repeat=2)
             for m, k, n in [(70, 33, 129), (68, 36, 132), (300, 41, 10), (5, 8, 12)]]
    cases += [((2, 1, 65, 20), (3, 20, 16), False, True), ((9, 17), (4, 17, 12), True, False),
              ((3, 1, 7, 5), (1, 4, 5, 6), True, True), ((2, 40, 1500), (2, 1500, 36), False, True),
              ((33, 1500), (1500, 7), True, False), ((3, 33, 1000), (1000, 7), True, True),
              ((9, 3000), (3000, 8), True, False)]    # a first conv's filter gradient: M, N small, K long
    for a_shape, b_shape, ta, tb in cases:   # matrix shapes as multiplied; stored transposed where ta/tb
        a, b = stored(a_shape, ta), stored(b_shape, tb)
        check_matmul(gpu, ref, a, b, ta, tb, rtol=2e-4, atol=2e-4)
    assert mm._splits(mm.SQUARE.groups(40, 36, 2), 1500)[0] > 1          # split-K was reached
    assert mm._splits(mm.THIN_N.groups(33, 7, 1), 1500)[0] > 1
    assert mm._splits(mm.SMALL.groups(9, 8, 1), 3000)[0] > 1
    assert _gemm_keys(cache) == {("matmul", "64x64"), ("matmul", "256x16"), ("matmul", "16x16")}


@pytest.mark.parametrize("a_shape,b_shape", [((0, 5), (5, 3)), ((4, 0), (0, 6)), ((0, 2, 3), (3, 4))])
def test_matmul_empty(gpu, ref, a_shape, b_shape):
    a, b = randn(*a_shape), randn(*b_shape)
    check_matmul(gpu, ref, a, b)   # K = 0 gives zeros, not garbage


# ------------------------------------------------------------------ convolutions

CONVS = [  # x shape, w shape, strides, pads ((top, bottom), (left, right)), dilations
    ((2, 9, 11, 3), (3, 3, 3, 5), (1, 1), ((1, 1), (1, 1)), (1, 1)),        # SAME, all scalar
    ((2, 10, 9, 4), (3, 2, 4, 8), (2, 3), ((0, 1), (1, 0)), (1, 1)),        # SAME-style asymmetric, vec4
    ((1, 12, 13, 17), (3, 3, 17, 32), (1, 2), ((2, 2), (2, 2)), (2, 2)),    # dilated
    ((3, 8, 8, 1), (5, 5, 1, 1), (3, 3), ((0, 0), (0, 0)), (1, 1)),        # VALID, stride 3, C = O = 1
    ((2, 7, 6, 32), (1, 1, 32, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # 1x1
    ((4, 16, 16, 8), (3, 3, 8, 16), (2, 2), ((0, 1), (0, 1)), (1, 1)),      # grad_filter splits K
]


@pytest.mark.parametrize("x_shape,w_shape,strides,pads,dilations", CONVS,
                         ids=[f"{c[0][3]}to{c[1][3]}s{c[2][0]}d{c[4][0]}" for c in CONVS])
def test_conv2d_and_gradients(gpu, ref, x_shape, w_shape, strides, pads, dilations):
    x, w = randn(*x_shape), randn(*w_shape)
    expected = ref.conv2d(x, w, strides, pads, dilations)
    assert_close(gpu, gpu.conv2d(upload(gpu, x), upload(gpu, w), strides, pads, dilations), expected, **TOL)
    dy = randn(*expected.shape)
    assert_close(gpu, gpu.conv2d_grad_input(upload(gpu, dy), upload(gpu, w), x_shape, strides, pads, dilations),
                 ref.conv2d_grad_input(dy, w, x_shape, strides, pads, dilations), **TOL)
    assert_close(gpu, gpu.conv2d_grad_filter(upload(gpu, x), upload(gpu, dy), w_shape, strides, pads, dilations),
                 ref.conv2d_grad_filter(x, dy, w_shape, strides, pads, dilations), **TOL)


def test_convolutions_share_one_pipeline_per_form_and_tiling(gpu, ref, monkeypatch):
    """Every CONVS case (1 to 32 channels: scalar and 4-word im2col runs, strides, dilation,
    padding, split-K) on at most one pipeline per (conv op, tiling)."""
    cache = PipelineCache(gpu.device)
    monkeypatch.setattr(gpu, "pipelines", cache)
    for x_shape, w_shape, strides, pads, dilations in CONVS[:3]:
        x, w = randn(*x_shape), randn(*w_shape)
        expected = ref.conv2d(x, w, strides, pads, dilations)
        assert_close(gpu, gpu.conv2d(upload(gpu, x), upload(gpu, w), strides, pads, dilations), expected, **TOL)
        dy = randn(*expected.shape)
        assert_close(gpu, gpu.conv2d_grad_filter(upload(gpu, x), upload(gpu, dy), w_shape, strides, pads, dilations),
                     ref.conv2d_grad_filter(x, dy, w_shape, strides, pads, dilations), **TOL)
    assert _gemm_keys(cache) == {("conv2d", "256x16"), ("conv2d", "64x64"), ("conv2d_grad_filter", "256x16"),
                                 ("conv2d_grad_filter", "64x64")}


def test_conv2d_empty_batch(gpu, ref):
    x, w = randn(0, 5, 5, 3), randn(3, 3, 3, 4)
    pads = ((1, 1), (1, 1))
    assert gpu.conv2d(upload(gpu, x), upload(gpu, w), (1, 1), pads, (1, 1)).shape == (0, 5, 5, 4)
    dy = randn(0, 5, 5, 4)
    assert_close(gpu, gpu.conv2d_grad_filter(upload(gpu, x), upload(gpu, dy), w.shape, (1, 1), pads, (1, 1)),
                 np.zeros(w.shape, np.float32))


# ------------------------------------------------------------------ end to end through the ops layer

def test_dense_and_batched_matmul_with_gradient_tape_match_cpu(on_device):
    import pykernel as tf
    x_np, w_np, q_np = randn(6, 20), randn(20, 10), randn(3, 5, 20)

    def run(device):
        with on_device(device):
            x, w, q = tf.constant(x_np), tf.Variable(w_np), tf.constant(q_np)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([x, q])
                logits = tf.matmul(x, w)
                scores = tf.matmul(q, x, transpose_b=True)             # (3, 5, 6), x broadcast
                loss = tf.reduce_sum(logits * logits) + tf.reduce_sum(scores * scores)
            return [t.numpy() for t in (logits, scores, loss, *tape.gradient(loss, [x, w, q]))]

    for got, want in zip(run("webgpu"), run("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_conv_stack_with_gradient_tape_match_cpu(on_device):
    import pykernel as tf
    x_np, w1_np, w2_np = randn(2, 11, 10, 3), randn(3, 3, 3, 8) * 0.3, randn(2, 2, 8, 5) * 0.3

    def run(device):
        with on_device(device):
            x, w1, w2 = tf.constant(x_np), tf.Variable(w1_np), tf.Variable(w2_np)
            with tf.GradientTape() as tape:
                tape.watch(x)
                h = tf.nn.conv2d(x, w1, strides=2, padding="SAME")
                y = tf.nn.conv2d(h * h, w2, strides=1, padding="VALID", dilations=2)
                loss = tf.reduce_sum(y * y)
            return [t.numpy() for t in (y, loss, *tape.gradient(loss, [x, w1, w2]))]

    for got, want in zip(run("webgpu"), run("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
