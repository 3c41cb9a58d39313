"""Indexing, layout and random kernels (gather, scatter_add, pad, concat, strided_slice_grad,
random_uniform) against the NumPy backend, plus end-to-end checks through the public ops."""
import numpy as np
import pytest

from pykernel import dtypes
from pykernel.backends.numpy_backend import philox4x32
from pykernel.backends.webgpu import indexing

from .conftest import assert_close, upload

rng = np.random.default_rng(1)
DTYPES = [np.float32, np.int32, np.int64, np.uint8, np.bool_]


def sample(shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if dtype == np.uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1000, 1000, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def exact(gpu, buf, expected):
    assert_close(gpu, buf, expected, rtol=0, atol=0)


# ------------------------------------------------------------------ gather

@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_every_axis(gpu, ref, dtype):
    x = sample((5, 67, 8), dtype)  # rows of 536 and 8 elements move as vec4s, of 1 as words
    for axis in range(3):
        dim = x.shape[axis]
        idx = rng.integers(-dim, dim, (4, 13)).astype(np.int32)  # negative counts from the end
        exact(gpu, gpu.gather(upload(gpu, x), upload(gpu, idx), axis), ref.gather(x, idx, axis))


def test_gather_index_shapes_and_dtypes(gpu, ref):
    x = sample((300, 7), np.float32)
    for idx in (np.array(299, np.int32), np.array([0], np.int64), rng.integers(0, 300, (3, 1, 5)),
                rng.integers(0, 300, 1000).astype(np.int64), np.zeros((0, 4), np.int32)):
        exact(gpu, gpu.gather(upload(gpu, x), upload(gpu, idx), 0), ref.gather(x, idx, 0))
    one = sample((1, 1), np.int32)
    exact(gpu, gpu.gather(upload(gpu, one), upload(gpu, np.zeros((2, 3), np.int32)), 1),
          ref.gather(one, np.zeros((2, 3), np.int32), 1))


def test_gather_out_of_range_reads_nothing_and_gives_zero(gpu):
    x = sample((4, 3), np.float32) + 10
    idx = np.array([1, 4, -5, 99, -1], np.int32)
    got = gpu.to_numpy(gpu.gather(upload(gpu, x), upload(gpu, idx), 0))
    np.testing.assert_array_equal(got, np.stack([x[1], 0 * x[0], 0 * x[0], 0 * x[0], x[3]]))


# ------------------------------------------------------------------ scatter_add

def _scatter_case(shape, axis, idx, dtype):
    upd_shape = shape[:axis] + idx.shape + shape[axis + 1:]
    return sample(upd_shape, dtype)


@pytest.mark.parametrize("n_idx", [3, 500])  # the ordered kernel; then mostly the atomic one
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_scatter_add_repeated_indices_every_axis(gpu, ref, dtype, n_idx):
    shape = (3, 37, 5)
    for axis in range(3):
        dim = shape[axis]
        idx = rng.integers(-dim, dim, (n_idx,) if n_idx < 100 else (4, n_idx // 4)).astype(np.int32)
        idx[:3] = 1  # certainly repeated
        upd = _scatter_case(shape, axis, idx, dtype)
        got = gpu.scatter_add(upload(gpu, upd), upload(gpu, idx), axis, shape)
        expected = ref.scatter_add(upd, idx, axis, shape)
        if dtype == np.float32 and not indexing.scatter_is_ordered(dtypes.float32, idx.size, shape, axis):
            assert_close(gpu, got, expected, rtol=1e-5, atol=1e-4)  # atomic adds: order varies
        else:
            exact(gpu, got, expected)  # ordered float sums are NumPy's, bit for bit


def test_scatter_add_contended_float_atomics(gpu, ref):
    # every update lands on one of two slots: the compare-exchange loop retries a lot
    idx = (np.arange(2000) % 2).astype(np.int32)
    upd = rng.random((2000, 3)).astype(np.float32)
    shape = (40, 3)
    assert not indexing.scatter_is_ordered(dtypes.float32, idx.size, shape, 0)
    got = gpu.scatter_add(upload(gpu, upd), upload(gpu, idx), 0, shape)
    assert_close(gpu, got, ref.scatter_add(upd, idx, 0, shape), rtol=1e-5, atol=1e-3)


def test_scatter_add_small_dtypes_edges_and_out_of_range(gpu, ref):
    idx = np.array([[2, 0], [2, -1]], np.int32)
    for dtype in (np.uint8, np.bool_, np.int64):
        upd = _scatter_case((2, 3), 1, idx, dtype)
        exact(gpu, gpu.scatter_add(upload(gpu, upd), upload(gpu, idx), 1, (2, 3)),
              ref.scatter_add(upd, idx, 1, (2, 3)))
    empty = np.zeros((0,), np.int32)
    exact(gpu, gpu.scatter_add(upload(gpu, np.zeros((0, 2), np.float32)), upload(gpu, empty), 0, (3, 2)),
          np.zeros((3, 2), np.float32))
    # out-of-range indices are dropped, on both kernels
    for n, rows in ((4, 5), (4000, 50)):
        assert indexing.scatter_is_ordered(dtypes.float32, n, (rows, 2), 0) == (n == 4)
        bad = np.array([0, rows + 2, -rows - 3, 1] * (n // 4), np.int32)
        upd = np.ones((n, 2), np.float32)
        want = np.zeros((rows, 2), np.float32)
        want[0], want[1] = n // 4, n // 4
        exact(gpu, gpu.scatter_add(upload(gpu, upd), upload(gpu, bad), 0, (rows, 2)), want)


# ------------------------------------------------------------------ pad and strided_slice_grad

@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_every_axis(gpu, ref, dtype):
    x = sample((3, 1, 20, 7), dtype)
    value = {np.bool_: True, np.uint8: 7, np.float32: -2.5}.get(dtype, -3)
    for pads in (((1, 2), (3, 0), (0, 5), (2, 2)), ((0, 0), (0, 0), (0, 0), (0, 1)),
                 ((2, 0), (0, 0), (0, 0), (0, 0)), ((0, 0),) * 4):
        exact(gpu, gpu.pad(upload(gpu, x), pads, value), ref.pad(x, pads, value))


def test_pad_ranks_and_empty(gpu, ref):
    for shape, pads in (((), ()), ((5,), ((300, 1),)), ((2, 0, 3), ((0, 1), (2, 2), (0, 0))),
                        ((2, 3, 2, 1, 2, 1, 3, 2), ((1, 0),) * 8)):
        x = sample(shape, np.float32)
        want = ref.pad(x, pads, 1.5) if shape else x  # np.pad rejects a scalar's empty pads
        exact(gpu, gpu.pad(upload(gpu, x), pads, 1.5), want)


def test_strided_slice_grad(gpu, ref):
    in_shape = (6, 9, 5, 4)
    for begin, strides, dy_shape in (((5, 1, 4, 0), (-1, 2, -2, 1), (3, 4, 3, 4)),
                                      ((0, 8, 0, 3), (3, -3, 1, -1), (2, 3, 5, 4)),
                                      ((0, 0, 0, 0), (1, 1, 1, 1), (6, 9, 5, 4)),
                                      ((1, 2, 3, 0), (1, 1, 1, 1), (0, 2, 2, 4))):
        dy = sample(dy_shape, np.float32)
        exact(gpu, gpu.strided_slice_grad(upload(gpu, dy), in_shape, begin, strides),
              ref.strided_slice_grad(dy, in_shape, begin, strides))


# ------------------------------------------------------------------ concat

@pytest.mark.parametrize("count", [1, 2, 3, 5, 9])  # 9 needs two dispatches of <= 7 inputs
def test_concat_every_axis(gpu, ref, count):
    base = (3, 4, 5)
    for axis in range(3):
        xs = []
        for k in range(count):
            shape = list(base)
            shape[axis] = (2, 1, 0, 5, 3, 1, 4, 2, 6)[k]  # sizes vary, one is 0
            xs.append(sample(tuple(shape), np.float32))
        exact(gpu, gpu.concat([upload(gpu, x) for x in xs], axis), ref.concat(xs, axis))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
def test_concat_dtypes(gpu, ref, dtype):
    xs = [sample((70, k), dtype) for k in (1, 6, 3)]
    exact(gpu, gpu.concat([upload(gpu, x) for x in xs], 1), ref.concat(xs, 1))


# ------------------------------------------------------------------ random

@pytest.mark.parametrize("key,offset", [((0, 0), 0), ((42, 87654321), 3), ((0xFFFFFFFF, 1), 1 << 32),
                                        ((123, 0xDEADBEEF), (7 << 32) + 0xFFFFFFFF)])
def test_random_uniform_is_bit_identical(gpu, ref, key, offset):
    n = 100_003
    got = gpu.to_numpy(gpu.random_uniform((n,), key, offset))
    np.testing.assert_array_equal(got.view(np.uint32), ref.random_uniform((n,), key, offset).view(np.uint32))
    for shape in ((1,), (2, 3), (3, 1, 5), (0, 4)):
        np.testing.assert_array_equal(gpu.to_numpy(gpu.random_uniform(shape, key, offset)),
                                      ref.random_uniform(shape, key, offset))


def test_kernels_on_a_2d_workgroup_grid(gpu, ref, monkeypatch):
    """A device allowing only 4 workgroups per dimension makes every kernel use the y axis."""
    monkeypatch.setattr(gpu.device, "max_workgroups_per_dimension", 4)
    x = sample((40, 61), np.float32)
    idx = rng.integers(0, 40, 50).astype(np.int32)
    exact(gpu, gpu.gather(upload(gpu, x), upload(gpu, idx), 0), ref.gather(x, idx, 0))
    exact(gpu, gpu.gather(upload(gpu, x[:, :60]), upload(gpu, idx), 0), ref.gather(x[:, :60], idx, 0))
    upd = sample((50, 61), np.float32)
    assert_close(gpu, gpu.scatter_add(upload(gpu, upd), upload(gpu, idx), 0, x.shape),
                 ref.scatter_add(upd, idx, 0, x.shape))
    few = idx[:5]
    exact(gpu, gpu.scatter_add(upload(gpu, upd[:5]), upload(gpu, few), 0, x.shape),
          ref.scatter_add(upd[:5], few, 0, x.shape))
    exact(gpu, gpu.pad(upload(gpu, x), ((3, 1), (0, 9)), 0.5), ref.pad(x, ((3, 1), (0, 9)), 0.5))
    exact(gpu, gpu.concat([upload(gpu, x), upload(gpu, x[:7])], 0), ref.concat([x, x[:7]], 0))
    n = 4 * 256 * 5 + 3  # 6 blocks of workgroups
    exact(gpu, gpu.random_uniform((n,), (5, 6), 1 << 40), ref.random_uniform((n,), (5, 6), 1 << 40))
    # beyond 4 x 4 workgroups there is no grid left
    with pytest.raises(MemoryError):
        gpu.gather(upload(gpu, x), upload(gpu, np.zeros(1000, np.int32)), 0)


def test_philox_words_match_the_reference_function(gpu):
    """Deep into the stream (block counters near 2**22) the words are still the reference's."""
    n = 1 << 24
    got = gpu.to_numpy(gpu.random_uniform((n,), (9, 10), 11)).view(np.uint32)
    blocks = np.arange(n // 4 - 64, n // 4, dtype=np.uint64)
    counters = np.stack([blocks, np.full_like(blocks, 11), np.zeros_like(blocks), np.zeros_like(blocks)])
    words = philox4x32(counters, (9, 10)).T.reshape(-1)
    want = ((words >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)).view(np.uint32)
    np.testing.assert_array_equal(got[-256:], want)


# ------------------------------------------------------------------ end to end through the ops layer

def test_gather_gradient_on_webgpu_matches_cpu(on_device):
    import pykernel as tf
    params_np = np.arange(60, dtype=np.float32).reshape(6, 10) / 7

    def run(device):
        # upstream gradients are passed in, not made by ops whose gradients need reductions
        with on_device(device):
            params = tf.constant(params_np)
            idx = tf.constant(np.array([[5, 0, 5], [2, 5, 1]], np.int32))
            with tf.GradientTape() as tape:
                tape.watch(params)
                y = tf.gather(params, idx, axis=0)
            grad = tape.gradient(y, params, output_gradients=tf.constant(np.arange(60, dtype=np.float32)
                                                                         .reshape(2, 3, 10) - 30))
            col_idx = tf.constant(np.array([9, 0, 9, 9], np.int32))
            with tf.GradientTape() as tape:
                tape.watch(params)
                z = tf.pad(tf.gather(params, col_idx, axis=1), [[1, 0], [0, 2]], constant_values=4.0)
                z = tf.concat([z, z[::-1, ::2]], axis=1)
            dz = tf.constant(np.linspace(-1, 1, 7 * 9, dtype=np.float32).reshape(7, 9))
            return y.numpy(), grad.numpy(), z.numpy(), tape.gradient(z, params, output_gradients=dz).numpy()

    for got, want in zip(run("webgpu"), run("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_seeded_random_ops_match_cpu(on_device):
    import pykernel as tf

    def draw(device):
        with on_device(device):
            tf.random.set_seed(1234)
            return (tf.random.uniform([3, 50, 7]).numpy(), tf.random.normal([4, 33]).numpy(),
                    tf.random.uniform([5], seed=7).numpy(), tf.random.uniform([5], seed=7).numpy())

    gpu_draws, cpu_draws = draw("webgpu"), draw("cpu")
    for i in (0, 2, 3):
        np.testing.assert_array_equal(gpu_draws[i], cpu_draws[i])  # uniforms: bit for bit
    np.testing.assert_allclose(gpu_draws[1], cpu_draws[1], rtol=1e-5, atol=1e-5)  # log/cos differ by ulps
    assert not np.array_equal(gpu_draws[2], gpu_draws[3])  # each call advances the op's stream
