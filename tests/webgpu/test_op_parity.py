"""Every public op, forward and gradient, gives the same float32 result on 'webgpu' as on 'cpu'.

One table of cases. Each builds seeded float32 NumPy inputs (integer inputs are fixed
arrays), runs `fn` under a GradientTape on the NumPy backend and then on the WebGPU backend
(`on_device`), backpropagates the same random upstream gradient through both, and compares
every output and every float input's gradient (rtol/atol ~1e-4; looser where float32
summation order matters). Shapes are odd, broadcast, and large enough that kernels run
several workgroups (256-thread map/reduce kernels, multi-tile GEMMs and convolutions).
"""
import numpy as np
import pytest

import pykernel as tf

_GPU_DEVICE = "WebGPU:0"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Case:
    def __init__(self, shapes, fn, low=-2.0, high=2.0, ints=(), rtol=1e-4, atol=1e-4, grad=True):
        self.shapes, self.fn, self.low, self.high = shapes, fn, low, high
        self.ints, self.rtol, self.atol, self.grad = list(ints), rtol, atol, grad

    def inputs(self, seed):
        rng = np.random.default_rng(seed)
        n = len(self.shapes)
        lows = self.low if isinstance(self.low, (list, tuple)) else [self.low] * n
        highs = self.high if isinstance(self.high, (list, tuple)) else [self.high] * n
        floats = [rng.uniform(lo, hi, size=s).astype(np.float32) for s, lo, hi in zip(self.shapes, lows, highs)]
        return floats + [np.asarray(a) for a in self.ints]


def _run(on_device, device, case, arrays, upstream):
    """(outputs, gradients) as NumPy; `upstream` maps the list of outputs to output_gradients."""
    with on_device(device):
        tf.random.set_seed(1234)
        ins = [tf.constant(a) for a in arrays]
        watched = [t for t in ins if t.dtype.is_floating] if case.grad else []
        with tf.GradientTape() as tape:
            tape.watch(watched)
            outs = _as_list(case.fn(*ins))
        float_outs = [o for o in outs if o.dtype.is_floating]
        grads = []
        if watched and float_outs:
            ups = upstream(float_outs)
            grads = tape.gradient(float_outs, watched, output_gradients=[tf.constant(u) for u in ups])
        if device == "webgpu":
            for t in list(outs) + [g for g in grads if g is not None]:
                assert t.device == _GPU_DEVICE, f"result left the GPU: {t.device}"
        return [o.numpy() for o in outs], [None if g is None else g.numpy() for g in grads]


def check(on_device, case, seed=0):
    arrays = case.inputs(seed)
    ups = {}

    def upstream(outs):  # generated once (on the CPU run), reused for the GPU run
        if "g" not in ups:
            rng = np.random.default_rng(seed + 1)
            ups["g"] = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outs]
        return ups["g"]

    cpu_out, cpu_grads = _run(on_device, "cpu", case, arrays, upstream)
    gpu_out, gpu_grads = _run(on_device, "webgpu", case, arrays, upstream)
    assert len(cpu_out) == len(gpu_out)
    for i, (g, c) in enumerate(zip(gpu_out, cpu_out)):
        assert g.shape == c.shape and g.dtype == c.dtype, f"output {i}: {g.shape} {g.dtype} != {c.shape} {c.dtype}"
        if c.dtype.kind == "f":
            np.testing.assert_allclose(g, c, rtol=case.rtol, atol=case.atol, err_msg=f"output {i}")
        else:
            np.testing.assert_array_equal(g, c, err_msg=f"output {i}")
    assert len(cpu_grads) == len(gpu_grads)
    for i, (g, c) in enumerate(zip(gpu_grads, cpu_grads)):
        assert (g is None) == (c is None), f"grad {i}: None on one device only"
        if c is not None:
            assert g.shape == c.shape, f"grad {i}: {g.shape} != {c.shape}"
            np.testing.assert_allclose(g, c, rtol=case.rtol, atol=case.atol, err_msg=f"grad of input {i}")


# ============================================================== the table

A, B = (37, 1, 45), (29, 1)          # broadcast to (37, 29, 45): ~48k elements, ~190 workgroups
X = (23, 31, 17)                      # one odd 3-D tensor, ~12k elements
CASES = {}

UNARY = {
    "negative": (tf.negative, -2, 2), "exp": (tf.exp, -2, 2), "log": (tf.math.log, 0.1, 3),
    "sqrt": (tf.sqrt, 0.1, 3), "rsqrt": (tf.math.rsqrt, 0.2, 3), "reciprocal": (tf.math.reciprocal, 0.5, 3),
    "abs": (tf.abs, -2, 2), "sign": (tf.sign, -2, 2), "tanh": (tf.tanh, -3, 3), "sigmoid": (tf.sigmoid, -4, 4),
    "sin": (tf.sin, -3, 3), "cos": (tf.cos, -3, 3), "square": (tf.square, -2, 2), "erf": (tf.math.erf, -2, 2),
    "expm1": (tf.math.expm1, -2, 2), "log1p": (tf.math.log1p, -0.5, 2), "floor": (tf.floor, -3, 3),
    "ceil": (tf.math.ceil, -3, 3), "round": (tf.round, -3, 3), "softplus": (tf.nn.softplus, -4, 4),
    "relu": (tf.nn.relu, -2, 2), "relu6": (tf.nn.relu6, -2, 8), "elu": (tf.nn.elu, -2, 2),
    "selu": (tf.nn.selu, -2, 2), "leaky_relu": (lambda x: tf.nn.leaky_relu(x, 0.3), -2, 2),
    "gelu": (tf.nn.gelu, -3, 3), "gelu_tanh": (lambda x: tf.nn.gelu(x, approximate=True), -3, 3),
    "silu": (tf.nn.silu, -3, 3), "softsign": (tf.nn.softsign, -3, 3),
    "is_finite": (tf.math.is_finite, -2, 2), "logical_not": (lambda x: tf.logical_not(x > 0), -2, 2),
}
for _n, (_f, _lo, _hi) in UNARY.items():
    CASES[f"unary_{_n}"] = Case([X], _f, _lo, _hi)

# near zero (and log near 1) the GPU must keep *relative* accuracy, as NumPy does
for _n, _f, _lo, _hi in [("tanh", tf.tanh, -0.2, 0.2), ("erf", tf.math.erf, -0.6, 0.6),
                         ("log1p", tf.math.log1p, -1e-3, 1e-3), ("expm1", tf.math.expm1, -1e-3, 1e-3),
                         ("log_near_1", tf.math.log, 0.9, 1.1), ("sigmoid", tf.sigmoid, -1e-3, 1e-3)]:
    CASES[f"unary_{_n}_small"] = Case([X], (lambda f: lambda x: f(x * np.float32(1e-4)) * np.float32(1e4))(_f)
                                      if _n in ("tanh", "erf") else _f, _lo, _hi, rtol=2e-4, atol=1e-9)

BINARY = {
    "add": (tf.add, -2, 2), "subtract": (tf.subtract, -2, 2), "multiply": (tf.multiply, -2, 2),
    "divide": (tf.divide, [-2, 0.5], [2, 2]), "pow": (tf.pow, [0.5, -2], [2, 2]),
    "maximum": (tf.maximum, -2, 2), "minimum": (tf.minimum, -2, 2),
    "floordiv": (tf.math.floordiv, [-5, 0.5], [5, 2]), "floormod": (tf.math.floormod, [-5, 0.5], [5, 2]),
    "divide_no_nan": (tf.math.divide_no_nan, [-2, 0.5], [2, 2]),
    "operators": (lambda a, b: (a * 2.0 - b) / 3.0 + a ** 2, -2, 2),
    "greater": (tf.greater, -2, 2), "less_equal": (tf.less_equal, -2, 2), "equal": (lambda a, b: tf.equal(
        tf.round(a), tf.round(b)), -2, 2),
    "logical_and": (lambda a, b: tf.logical_and(a > 0, b > 0), -2, 2),
    "logical_xor": (lambda a, b: tf.math.logical_xor(a > 0, b > 0), -2, 2),
}
for _n, (_f, _lo, _hi) in BINARY.items():
    CASES[f"binary_{_n}"] = Case([A, B], _f, _lo, _hi)
    CASES[f"binary_{_n}_scalar"] = Case([(), X], _f, _lo, _hi)
# floordiv/floormod are discontinuous: a last-ulp difference can flip floor(a / b); keep inputs
# that are not near a multiple of b (the grid of values below is exactly representable)
CASES["binary_floordiv"] = Case([], tf.math.floordiv, ints=[
    np.linspace(-7.75, 7.75, 2 * 31 * 17, dtype=np.float32).reshape(2, 31, 17),
    np.array([0.5, 1.5, -2.5] * 5 + [3.0, 1.0], np.float32)], grad=False)
CASES["binary_floormod"] = Case([], tf.math.floormod, ints=[
    np.linspace(-7.75, 7.75, 2 * 31 * 17, dtype=np.float32).reshape(2, 31, 17),
    np.array([0.7, 1.5, -2.5] * 5 + [3.0, 1.0], np.float32)], grad=False)
del CASES["binary_floordiv_scalar"], CASES["binary_floormod_scalar"]

CASES.update({
    "where": Case([(37, 29, 1), A, B], lambda c, a, b: tf.where(c > 0, a, b)),
    "add_n": Case([A, B, (45,)], lambda a, b, c: tf.add_n([a, tf.broadcast_to(b, (29, 45)), c])),
    "cast_int_roundtrip": Case([X], lambda x: tf.cast(tf.cast(x * 3.0, tf.int32), tf.float32) + x, -3, 3),
    "cast_to_int": Case([X], lambda x: tf.cast(x * 5.0, tf.int32)),
    "cast_bool": Case([X], lambda x: tf.cast(x > 0.5, tf.float32) * x),
    "clip": Case([X], lambda x: tf.clip_by_value(x, -0.7, 1.1)),
    "clip_tensor_bounds": Case([X, (17,), (17,)], lambda x, lo, hi: tf.clip_by_value(x, lo - 1.0, hi + 1.0)),
    "stop_gradient": Case([X, X], lambda a, b: a * tf.stop_gradient(b) + tf.identity(b)),
})

# reductions: sums over up to ~12k float32 values, so allow for summation-order differences
REDUCE = {"sum": tf.reduce_sum, "mean": tf.reduce_mean, "max": tf.reduce_max, "min": tf.reduce_min,
          "logsumexp": tf.reduce_logsumexp, "variance": tf.math.reduce_variance, "std": tf.math.reduce_std}
for _n, _f in REDUCE.items():
    for _axis in [None, 0, 1, -1, (0, 2)]:
        for _keep in [False, True]:
            CASES[f"reduce_{_n}_{_axis}_{_keep}"] = Case(
                [X], (lambda f, a, k: lambda x: f(x, axis=a, keepdims=k))(_f, _axis, _keep), rtol=3e-4, atol=3e-4)
for _axis in [None, 0, -1]:
    CASES[f"reduce_prod_{_axis}"] = Case([(9, 13, 7)], (lambda a: lambda x: tf.reduce_prod(x, axis=a))(_axis),
                                         0.8, 1.2, rtol=3e-4, atol=1e-4)
for _n, _f in {"argmax": tf.argmax, "argmin": tf.argmin}.items():
    for _axis in [0, 1, -1]:
        CASES[f"{_n}_{_axis}"] = Case([X], (lambda f, a: lambda x: f(x, axis=a))(_f, _axis))
CASES["reduce_any_all"] = Case([X], lambda x: [tf.cast(tf.reduce_any(x > 1.9, axis=1), tf.int32),
                                               tf.cast(tf.reduce_all(x > -1.9, axis=(0, 2)), tf.int32)])
CASES["moments"] = Case([(19, 7, 5, 33)], lambda x: list(tf.nn.moments(x, axes=[0, 1, 2])), rtol=3e-4, atol=3e-4)

# movement and indexing
CASES.update({
    "reshape": Case([X], lambda x: tf.reshape(x, (31, -1)) * 2.0),
    "transpose_201": Case([X], lambda x: tf.transpose(x, (2, 0, 1))),
    "transpose_default": Case([(7, 11, 13, 5)], tf.transpose),
    "expand_squeeze": Case([(23, 1, 17)], lambda x: tf.squeeze(tf.expand_dims(x, -1), 1) * 1.5),
    "broadcast_to": Case([(29, 1)], lambda x: tf.broadcast_to(x, (37, 29, 45))),
    "concat": Case([(23, 5, 17), (23, 31, 17), (23, 2, 17)], lambda *xs: tf.concat(xs, 1)),
    "concat_last": Case([(300, 3), (300, 70)], lambda *xs: tf.concat(xs, -1)),
    "stack": Case([X, X, X], lambda *xs: tf.stack(xs, axis=2)),
    "unstack": Case([(3, 41, 37)], lambda x: tf.unstack(x, axis=0)),
    "split": Case([(41, 35)], lambda x: tf.split(x, [3, 30, 2], axis=1)),
    "split_num": Case([(42, 35)], lambda x: tf.split(x, 3, axis=0)),
    "tile": Case([(13, 7, 5)], lambda x: tf.tile(x, [3, 5, 7])),
    "pad": Case([X], lambda x: tf.pad(x, [[1, 2], [0, 3], [4, 0]])),
    "pad_value": Case([(37, 45)], lambda x: tf.pad(x, [[0, 0], [5, 3]], constant_values=1.5)),
    "slice": Case([X], lambda x: tf.slice(x, [2, 3, 1], [19, -1, 13])),
    "reverse": Case([X], lambda x: tf.reverse(x, [0, -1])),
    "getitem_steps": Case([X], lambda x: x[1::2, ::3, 2:15:4]),
    "getitem_negative_steps": Case([X], lambda x: x[::-1, 25:2:-3, ::-2]),
    "getitem_index_newaxis": Case([X], lambda x: x[3, None, ..., -2]),
    "getitem_int_array": Case([X], lambda x: x[:, [3, 0, 3, 30, -1]]),
    "getitem_int_array_first": Case([X], lambda x: x[[5, 5, -1, 0]]),
    "gather_0": Case([(53, 37)], lambda x: tf.gather(x, [4, 0, 52, 0, 17, 4], axis=0)),
    "gather_1": Case([(23, 41, 7)], lambda x: tf.gather(x, [[0, 40], [3, 3], [1, 2]], axis=1)),
    "gather_int_tensor": Case([(300, 9)], lambda x, i: tf.gather(x, i),
                              ints=[np.random.default_rng(3).integers(0, 300, size=(50, 20)).astype(np.int32)]),
    "one_hot": Case([(517, 10)], lambda x, i: tf.one_hot(i, 10) * x,
                    ints=[np.random.default_rng(4).integers(-1, 11, size=517).astype(np.int32)]),
    "one_hot_axis0": Case([], lambda i: tf.one_hot(i, 7, axis=0, on_value=3.0, off_value=-1.0),
                          ints=[np.random.default_rng(5).integers(0, 7, size=(33, 21)).astype(np.int32)]),
    "range_linspace": Case([(40,)], lambda x: x * tf.cast(tf.range(3, 83, 2), tf.float32) + tf.linspace(-1.0, 1.0, 40)),
})

# matmul: multi-tile problems, transposes, batches with broadcasting; K up to a few hundred
for _sa, _sb, _ta, _tb in [((67, 131), (131, 75), False, False), ((131, 67), (131, 75), True, False),
                           ((67, 131), (75, 131), False, True), ((131, 67), (75, 131), True, True),
                           ((3, 33, 70), (3, 70, 41), False, False), ((2, 1, 19, 30), (3, 30, 17), False, False),
                           ((33, 70), (4, 70, 41), False, False), ((300, 257), (257, 10), False, False),
                           ((5, 600), (600, 129), False, False)]:
    CASES[f"matmul_{_sa}_{_sb}_{_ta}_{_tb}"] = Case(
        [_sa, _sb], (lambda ta, tb: lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb))(_ta, _tb),
        -1, 1, rtol=3e-4, atol=3e-4)
CASES["tensordot"] = Case([(7, 13, 11), (11, 13, 9)], lambda a, b: tf.tensordot(a, b, [[1, 2], [1, 0]]), -1, 1,
                          rtol=3e-4, atol=3e-4)

# convolutions and pooling (NHWC / HWIO)
for _xs, _ws, _s, _p in [((2, 19, 23, 3), (3, 3, 3, 20), 1, "SAME"), ((2, 19, 23, 3), (3, 3, 3, 20), 1, "VALID"),
                         ((3, 17, 15, 5), (5, 3, 5, 9), 2, "SAME"), ((3, 17, 15, 5), (2, 4, 5, 9), (2, 3), "VALID"),
                         ((1, 28, 28, 1), (5, 5, 1, 32), 1, "SAME")]:
    CASES[f"conv2d_{_xs}_{_ws}_{_s}_{_p}"] = Case(
        [_xs, _ws], (lambda s, p: lambda x, w: tf.nn.conv2d(x, w, s, p))(_s, _p), -1, 1, rtol=3e-4, atol=3e-4)
CASES["conv2d_dilated"] = Case([(2, 15, 17, 4), (3, 3, 4, 6)],
                               lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=2), -1, 1, rtol=3e-4, atol=3e-4)
for _op, _f in {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d}.items():
    for _xs, _k, _s, _p in [((3, 29, 31, 5), 2, 2, "VALID"), ((3, 29, 31, 5), 3, 2, "SAME"),
                            ((2, 17, 19, 7), (3, 2), (1, 2), "SAME"), ((2, 17, 19, 7), 3, 3, "VALID")]:
        CASES[f"{_op}_pool_{_xs}_{_k}_{_s}_{_p}"] = Case([_xs], (lambda f, k, s, p: lambda x: f(x, k, s, p))(
            _f, _k, _s, _p))

# activations, normalisation, losses
_LABELS = np.random.default_rng(6).integers(0, 37, size=301).astype(np.int32)
CASES.update({
    "softmax": Case([(301, 37)], tf.nn.softmax, -4, 4),
    "softmax_axis0": Case([(301, 37)], lambda x: tf.nn.softmax(x, axis=0), -4, 4),
    "log_softmax": Case([(301, 37)], tf.nn.log_softmax, -4, 4),
    "softmax_3d": Case([(7, 29, 33)], lambda x: tf.nn.softmax(x, axis=1), -4, 4),
    "sparse_softmax_xent": Case([(301, 37)], lambda x, y: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=x), -4, 4, ints=[_LABELS]),
    "softmax_xent": Case([(301, 37), (301, 37)], lambda x, y: tf.nn.softmax_cross_entropy_with_logits(
        labels=tf.nn.softmax(y), logits=x), -4, 4),
    "sigmoid_xent": Case([(301, 37), (301, 37)], lambda x, y: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.sigmoid(y), logits=x), -4, 4),
    "l2_normalize": Case([(301, 37)], lambda x: tf.nn.l2_normalize(x, axis=-1)),
    "l2_loss": Case([(301, 37)], tf.nn.l2_loss, rtol=3e-4, atol=3e-4),
    "bias_add": Case([(301, 37), (37,)], tf.nn.bias_add),
    "batch_normalization": Case([(41, 7, 37), (37,), (37,), (37,), (37,)],
                                lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
                                [-2, -1, 0.5, -1, 0.5], [2, 1, 2, 1, 2]),
    "norm": Case([(301, 37)], lambda x: [tf.norm(x), tf.norm(x, axis=1)], rtol=3e-4, atol=3e-4),
    # the RNG is bit-identical on every backend, so a seeded dropout draws the same mask
    "dropout_seeded": Case([(301, 37)], lambda x: tf.nn.dropout(x, 0.4, seed=7)),
    "random_uniform": Case([(301, 37)], lambda x: x + tf.random.uniform((301, 37), -1.0, 2.0, seed=3)),
    "random_normal": Case([(301, 37)], lambda x: x * tf.random.normal((37,), 1.0, 2.0, seed=4), rtol=3e-4,
                          atol=3e-4),
    "truncated_normal": Case([(301, 37)], lambda x: x - tf.random.truncated_normal((301, 37), seed=5), rtol=3e-4,
                             atol=3e-4),
})


@pytest.mark.parametrize("name", list(CASES))
def test_parity(gpu, on_device, name):
    check(on_device, CASES[name])
