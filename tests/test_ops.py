"""Every public op against PyTorch (or NumPy), forward and gradient, in float64.

In the style of tinygrad's test/backend/test_ops.py: `helper_test_op` builds seeded random
inputs, runs the pykernel op under a GradientTape and the reference in torch, compares the
outputs, then backpropagates the same random upstream gradient through both and compares
every input's gradient. Cases are tables; each row is its own test id.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pykernel as tf
from pykernel.errors import InvalidArgumentError

torch.set_num_threads(1)

F64 = np.float64


# ====================================================================== harness

def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _to_numpy(r):
    if isinstance(r, torch.Tensor):
        return r.detach().cpu().numpy()
    return np.asarray(r)


def make_inputs(shapes, low=-2.0, high=2.0, seed=0):
    """Seeded float64 arrays; `low`/`high` may be one value or one per input."""
    rng = np.random.default_rng(seed)
    n = len(shapes)
    lows = low if isinstance(low, (list, tuple)) else [low] * n
    highs = high if isinstance(high, (list, tuple)) else [high] * n
    return [rng.uniform(lo, hi, size=s) for s, lo, hi in zip(shapes, lows, highs)]


def compare(name, got, want, atol, rtol, check_dtype=True):
    want = _to_numpy(want)
    got_np = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    assert tuple(got_np.shape) == tuple(want.shape), f"{name}: shape {got_np.shape} != reference {want.shape}"
    if check_dtype:
        assert got_np.dtype == want.dtype, f"{name}: dtype {got_np.dtype} != reference {want.dtype}"
    if want.dtype.kind in "biu" and got_np.dtype.kind in "biu":
        np.testing.assert_array_equal(got_np, want, err_msg=name)
    else:
        np.testing.assert_allclose(got_np, want, atol=atol, rtol=rtol, err_msg=name)


def helper_test_op(shapes, torch_fn, tf_fn, vals=None, low=-2.0, high=2.0, atol=1e-9, rtol=1e-7,
                   grad_atol=None, grad_rtol=None, forward_only=False, dtype=F64, seed=0):
    """Compare `tf_fn` (pykernel) with `torch_fn` on the same inputs: forward, then gradients.

    Float inputs become float64 tensors (or `dtype`) and are watched; integer/bool inputs
    (given in `vals`) are passed through untouched. The torch reference always runs in
    float64, so float32 runs are checked against exact values at float32 tolerance.
    """
    arrays = [np.asarray(v) for v in vals] if vals is not None else make_inputs(shapes, low, high, seed)
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    grad_atol = atol if grad_atol is None else grad_atol
    grad_rtol = rtol if grad_rtol is None else grad_rtol

    tf_in = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tf_in)
        tf_out = _as_list(tf_fn(*tf_in))
    torch_in = [torch.tensor(a.astype(F64) if a.dtype.kind == "f" else a,
                             requires_grad=a.dtype.kind == "f" and not forward_only) for a in arrays]
    torch_out = _as_list(torch_fn(*torch_in))
    assert len(tf_out) == len(torch_out), f"{len(tf_out)} outputs != reference {len(torch_out)}"
    for i, (t, r) in enumerate(zip(tf_out, torch_out)):
        if dtype is F64:
            compare(f"output {i}", t, r, atol, rtol)
        else:
            assert t.dtype is tf.as_dtype(np.dtype(dtype).name) or not t.dtype.is_floating
            compare(f"output {i}", t, r, atol, rtol, check_dtype=False)
    if forward_only:
        return

    rng = np.random.default_rng(seed + 1)
    pairs = [(t, r, rng.standard_normal(tuple(t.shape))) for t, r in zip(tf_out, torch_out)
             if t.dtype.is_floating]
    if not pairs:
        return
    tf_grads = tape.gradient([t for t, _, _ in pairs], tf_in,
                             output_gradients=[tf.constant(g.astype(dtype)) for _, _, g in pairs])
    live = [(r, torch.tensor(g)) for _, r, g in pairs if isinstance(r, torch.Tensor) and r.requires_grad]
    if live:
        torch.autograd.backward([r for r, _ in live], [g for _, g in live])
    for i, (a, tg, ti) in enumerate(zip(arrays, tf_grads, torch_in)):
        if not ti.requires_grad:
            continue
        ref = ti.grad
        if tg is None:
            assert ref is None or not ref.abs().max().item(), f"input {i}: pykernel gradient is None " \
                f"but the reference is nonzero"
            continue
        want = np.zeros(a.shape) if ref is None else ref.numpy()
        compare(f"grad of input {i}", tg, want, grad_atol, grad_rtol, check_dtype=dtype is F64)


def numerical_grad(f, arrays, upstream, h=1e-6):
    """Central differences of sum(f(*arrays) * upstream) w.r.t. every array (float64)."""
    def scalar(xs):
        outs = _as_list(f(*[tf.constant(x) for x in xs]))
        return sum(float(np.sum(o.numpy() * u)) for o, u in zip(outs, upstream))
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (scalar(plus) - scalar(minus)) / (2 * h)
        grads.append(g)
    return grads


# ====================================================================== elementwise unary

UNARY = {  # name: (pykernel fn, torch fn, low, high)
    "negative": (tf.negative, torch.neg, -2, 2),
    "neg_operator": (lambda x: -x, lambda x: -x, -2, 2),
    "exp": (tf.exp, torch.exp, -2, 2),
    "log": (tf.math.log, torch.log, 0.1, 3),
    "sqrt": (tf.sqrt, torch.sqrt, 0.1, 3),
    "rsqrt": (tf.math.rsqrt, torch.rsqrt, 0.1, 3),
    "reciprocal_pos": (tf.math.reciprocal, torch.reciprocal, 0.5, 3),
    "reciprocal_neg": (tf.math.reciprocal, torch.reciprocal, -3, -0.5),
    "abs": (tf.abs, torch.abs, -2, 2),
    "abs_operator": (lambda x: abs(x), torch.abs, -2, 2),
    "sign": (tf.sign, torch.sign, -2, 2),
    "tanh": (tf.tanh, torch.tanh, -3, 3),
    "sigmoid": (tf.sigmoid, torch.sigmoid, -6, 6),
    "erf": (tf.math.erf, torch.erf, -2.5, 2.5),
    "sin": (tf.sin, torch.sin, -4, 4),
    "cos": (tf.cos, torch.cos, -4, 4),
    "square": (tf.square, torch.square, -2, 2),
    "log1p": (tf.math.log1p, torch.log1p, -0.9, 3),
    "expm1": (tf.math.expm1, torch.expm1, -2, 2),
    "softplus_math": (tf.math.softplus, F.softplus, -4, 4),
    "floor": (tf.floor, torch.floor, -3, 3),
    "ceil": (tf.math.ceil, torch.ceil, -3, 3),
    "round": (tf.round, torch.round, -3, 3),
}
UNARY_SHAPES = [(), (1,), (5,), (3, 1, 5), (2, 3, 4)]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name, shape):
    tf_fn, torch_fn, low, high = UNARY[name]
    helper_test_op([shape], torch_fn, tf_fn, low=low, high=high)


def test_round_half_to_even_and_floor_ceil_of_negatives():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 1.7])
    helper_test_op(None, torch.round, tf.round, vals=[x])
    helper_test_op(None, torch.floor, tf.floor, vals=[x])
    helper_test_op(None, torch.ceil, tf.math.ceil, vals=[x])


def test_log1p_expm1_keep_precision_near_zero():
    x = np.array([1e-12, -3e-10, 1e-8, 2e-5, -0.25])
    helper_test_op(None, torch.log1p, tf.math.log1p, vals=[x], atol=0, rtol=1e-14, grad_rtol=1e-14)
    helper_test_op(None, torch.expm1, tf.math.expm1, vals=[x], atol=0, rtol=1e-14, grad_rtol=1e-14)


def test_sign_gradient_is_zeros_like_tf():
    x = tf.constant([-1.5, 0.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.sign(x)
    g = tape.gradient(y, x)
    assert g is not None and g.numpy().tolist() == [0.0, 0.0, 0.0]


def test_sign_abs_of_ints():
    helper_test_op(None, torch.sign, tf.sign, vals=[np.array([-3, 0, 5], np.int32)])
    helper_test_op(None, torch.abs, tf.abs, vals=[np.array([-3, 0, 5], np.int64)])


def test_is_nan_is_finite():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    helper_test_op(None, torch.isnan, tf.math.is_nan, vals=[x], forward_only=True)
    helper_test_op(None, torch.isfinite, tf.math.is_finite, vals=[x], forward_only=True)


# ====================================================================== elementwise binary

BINARY = {  # name: (pykernel fn, torch fn, low, high): one bound for both inputs or [a, b]
    "add": (tf.add, torch.add, -2, 2),
    "add_operator": (lambda a, b: a + b, lambda a, b: a + b, -2, 2),
    "subtract": (tf.subtract, torch.sub, -2, 2),
    "sub_operator": (lambda a, b: a - b, lambda a, b: a - b, -2, 2),
    "multiply": (tf.multiply, torch.mul, -2, 2),
    "mul_operator": (lambda a, b: a * b, lambda a, b: a * b, -2, 2),
    "divide": (tf.divide, torch.div, [-2, 0.5], [2, 2]),
    "truediv": (tf.math.truediv, torch.div, [-2, -2], [2, -0.5]),
    "div_operator": (lambda a, b: a / b, lambda a, b: a / b, [-2, 0.5], [2, 2]),
    "pow": (tf.pow, torch.pow, [0.5, -2], [2.5, 2]),
    "pow_operator": (lambda a, b: a ** b, lambda a, b: a ** b, [0.5, -2], [2.5, 2]),
    "maximum": (tf.maximum, torch.maximum, -2, 2),
    "minimum": (tf.minimum, torch.minimum, -2, 2),
    "floormod_pos": (tf.math.floormod, torch.remainder, [-5, 0.5], [5, 2]),
    "floormod_neg": (tf.math.floormod, torch.remainder, [-5, -2], [5, -0.5]),
    "mod_operator": (lambda a, b: a % b, lambda a, b: a % b, [-5, 0.5], [5, 2]),
    "divide_no_nan": (tf.math.divide_no_nan, torch.div, [-2, 0.5], [2, 2]),
}
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1, 5), (4, 5)), ((1,), (2, 3)), ((), (2, 3)), ((2, 3), ()),
                 ((4, 1), (1, 5)), ((), ()), ((2, 1, 3), (2, 4, 1))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary(name, shapes):
    tf_fn, torch_fn, low, high = BINARY[name]
    helper_test_op(list(shapes), torch_fn, tf_fn, low=low, high=high)


SCALAR_OPERANDS = {  # Python and NumPy operands on either side take the tensor's dtype: (pykernel, torch)
    "rsub": (lambda a: 2.0 - a, lambda a: 2.0 - a),
    "rmul_int": (lambda a: 3 * a, lambda a: 3 * a),
    "rtruediv": (lambda a: 1.5 / a, lambda a: 1.5 / a),
    "rpow": (lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    "radd_np": (lambda a: np.array([1.0, -2.0, 0.5]) + a, lambda a: torch.tensor([1.0, -2.0, 0.5]) + a),
    "mul_np32": (lambda a: a * np.array([2.0, 1.0, 3.0], np.float32), lambda a: a * torch.tensor([2.0, 1.0, 3.0])),
    "sub_np_scalar": (lambda a: a - np.float64(0.25), lambda a: a - 0.25),
    "rsub_np_scalar": (lambda a: np.float64(3) - a, lambda a: 3.0 - a),
    "div_int": (lambda a: a / 4, lambda a: a / 4),
    "pow_int": (lambda a: a ** 3, lambda a: a ** 3),
    "rmod": (lambda a: 5.0 % a, lambda a: 5.0 - torch.floor(5.0 / a) * a),
}


@pytest.mark.parametrize("name", list(SCALAR_OPERANDS))
def test_python_and_numpy_operands(name):
    tf_fn, torch_fn = SCALAR_OPERANDS[name]
    helper_test_op([(3,)], torch_fn, tf_fn, low=0.5, high=2.0)


@pytest.mark.parametrize("shapes", BINARY_SHAPES[:4], ids=str)
def test_floordiv_float_forward(shapes):
    # forward only: TF registers no gradient for FloorDiv (pykernel gives None; torch raises)
    helper_test_op(list(shapes), torch.floor_divide, tf.math.floordiv, low=[-5, 0.5], high=[5, 2], forward_only=True)
    helper_test_op(list(shapes), lambda a, b: a // b, lambda a, b: a // b, low=[-5, -2], high=[5, -0.5],
                   forward_only=True)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_floordiv_floormod_ints(dtype):
    a = np.array([[7, -7, 7, -7, 0, 5], [1, -1, 9, -9, 3, -4]], dtype)
    b = np.array([[2, 2, -2, -2, 3, 5], [3, 3, -4, 4, -1, 7]], dtype)
    for tf_fn, torch_fn in [(tf.math.floordiv, torch.floor_divide), (tf.math.floormod, torch.remainder),
                            (lambda x, y: x // y, lambda x, y: x // y), (lambda x, y: x % y, lambda x, y: x % y),
                            (tf.add, torch.add), (tf.multiply, torch.mul), (tf.subtract, torch.sub),
                            (tf.maximum, torch.maximum), (tf.minimum, torch.minimum)]:
        helper_test_op(None, torch_fn, tf_fn, vals=[a, b])


def test_pow_negative_base_integer_exponent():
    x = np.array([-2.0, -0.5, 1.5, -3.0])
    helper_test_op(None, lambda a: torch.pow(a, 3.0), lambda a: tf.pow(a, 3.0), vals=[x])
    helper_test_op(None, lambda a: a ** 2, lambda a: a ** 2, vals=[x])
    helper_test_op(None, lambda a: 2.0 ** a, lambda a: 2.0 ** a, vals=[x])


def test_pow_gradient_wrt_exponent_is_zero_for_nonpositive_base_like_tf():
    x = tf.constant([-2.0, 0.0, 3.0], dtype=tf.float64)
    y = tf.constant([2.0, 2.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([x, y])
        z = tf.pow(x, y)
    gx, gy = tape.gradient(z, [x, y])
    np.testing.assert_allclose(gx.numpy(), [-4.0, 0.0, 6.0])
    np.testing.assert_allclose(gy.numpy(), [0.0, 0.0, 9.0 * math.log(3.0)])


def test_maximum_minimum_ties_give_gradient_to_x_like_tf():
    x = tf.constant([1.0, 2.0, 3.0], dtype=tf.float64)
    y = tf.constant([1.0, 5.0, 3.0], dtype=tf.float64)
    for op in (tf.maximum, tf.minimum):
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            z = op(x, y)
        gx, gy = tape.gradient(z, [x, y])
        expect_x = [1.0, 0.0, 1.0] if op is tf.maximum else [1.0, 1.0, 1.0]
        assert gx.numpy().tolist() == expect_x
        assert (gx.numpy() + gy.numpy()).tolist() == [1.0, 1.0, 1.0]


def test_divide_no_nan_gives_zero():
    x = tf.constant([1.0, 2.0, 0.0], dtype=tf.float64)
    y = tf.constant([0.0, 4.0, 0.0], dtype=tf.float64)
    assert tf.math.divide_no_nan(x, y).numpy().tolist() == [0.0, 0.5, 0.0]


def test_integer_division_gives_float():
    out = tf.constant([7, -7]) / tf.constant([2, 2])
    assert out.dtype.is_floating and out.numpy().tolist() == [3.5, -3.5]


COMPARISONS = {
    "equal": (tf.equal, torch.eq), "not_equal": (tf.not_equal, torch.ne), "less": (tf.less, torch.lt),
    "less_equal": (tf.less_equal, torch.le), "greater": (tf.greater, torch.gt),
    "greater_equal": (tf.greater_equal, torch.ge),
    "eq_operator": (lambda a, b: a == b, lambda a, b: a == b), "lt_operator": (lambda a, b: a < b, lambda a, b: a < b),
    "ge_operator": (lambda a, b: a >= b, lambda a, b: a >= b),
}


@pytest.mark.parametrize("kind", ["int", "float"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES[:5], ids=str)
@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparison(name, shapes, kind):
    rng = np.random.default_rng(1)
    vals = [rng.integers(-2, 3, size=s) for s in shapes]  # small ints: plenty of ties
    vals = [v.astype(np.int32) if kind == "int" else v.astype(F64) for v in vals]
    tf_fn, torch_fn = COMPARISONS[name]
    helper_test_op(None, torch_fn, tf_fn, vals=vals, forward_only=True)


LOGICAL = {
    "logical_and": (tf.math.logical_and, torch.logical_and), "logical_or": (tf.math.logical_or, torch.logical_or),
    "logical_xor": (tf.math.logical_xor, torch.logical_xor),
    "and_operator": (lambda a, b: a & b, lambda a, b: a & b), "or_operator": (lambda a, b: a | b, lambda a, b: a | b),
    "xor_operator": (lambda a, b: a ^ b, lambda a, b: a ^ b),
}


@pytest.mark.parametrize("shapes", BINARY_SHAPES[:5], ids=str)
@pytest.mark.parametrize("name", list(LOGICAL))
def test_logical(name, shapes):
    rng = np.random.default_rng(2)
    vals = [rng.integers(0, 2, size=s).astype(bool) for s in shapes]
    tf_fn, torch_fn = LOGICAL[name]
    helper_test_op(None, torch_fn, tf_fn, vals=vals, forward_only=True)


def test_logical_not():
    x = np.array([[True, False, True]])
    helper_test_op(None, torch.logical_not, tf.math.logical_not, vals=[x], forward_only=True)
    helper_test_op(None, lambda a: ~a, lambda a: ~a, vals=[x], forward_only=True)


# ====================================================================== where, cast, clip, identity, add_n

@pytest.mark.parametrize("shapes", [((3, 1, 5), (4, 5), (1,)), ((2, 3), (2, 3), ()), ((), (2, 3), (2, 3)),
                                    ((4, 1), (1, 5), (4, 5)), ((5,), (5,), (5,)),
                                    # large: the NumPy backend's branchless select
                                    ((70, 1, 9), (70, 9), (1,)), ((64, 90), (64, 90), ()), ((80, 1), (1, 77), (80, 77))],
                         ids=str)
def test_where(shapes):
    rng = np.random.default_rng(3)
    cond = rng.integers(0, 2, size=shapes[0]).astype(bool)
    x, y = make_inputs(shapes[1:], seed=4)
    helper_test_op(None, torch.where, tf.where, vals=[cond, x, y])


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int32, tf.int64, tf.bool, tf.uint8])
def test_large_where_keeps_every_bit(dtype):
    """NaN, infinities and -0.0 come through where unchanged, at every dtype, broadcast both ways."""
    rng = np.random.default_rng(11)
    cond = rng.random((96, 1)) > 0.5
    x = (rng.standard_normal((96, 70)) * 50).astype(dtype.as_numpy_dtype)
    y = (rng.standard_normal((1, 70)) * 50).astype(dtype.as_numpy_dtype)
    if dtype.is_floating:
        x[::7, 3], x[::5, 4], x[1::3, 5], y[0, :3] = np.nan, np.inf, -0.0, [-np.inf, -0.0, np.nan]
    for c, a, b in [(cond, x, y), (~cond, y, x)]:
        got = tf.where(tf.constant(c), tf.constant(a), tf.constant(b)).numpy()
        want = np.where(c, a, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def test_where_with_python_scalars_and_coordinates():
    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    helper_test_op(None, lambda a: torch.where(a > 0, a, torch.zeros((), dtype=a.dtype)),
                   lambda a: tf.where(a > 0, a, 0.0), vals=[x])
    coords = tf.where(tf.constant([[True, False], [False, True]]))
    assert coords.dtype is tf.int64 and coords.numpy().tolist() == [[0, 0], [1, 1]]


def test_cast():
    x = np.array([-2.7, -1.5, -0.2, 0.0, 0.6, 1.5, 3.9])
    for dt, tdt in [(tf.int32, torch.int32), (tf.int64, torch.int64), (tf.bool, torch.bool), (tf.uint8, None)]:
        if tdt is None:
            helper_test_op(None, lambda a: torch.abs(a).to(torch.uint8), lambda a: tf.cast(tf.abs(a), dt),
                           vals=[x], forward_only=True)
        else:
            helper_test_op(None, lambda a: a.to(tdt), lambda a: tf.cast(a, dt), vals=[x], forward_only=True)
    # float -> float keeps the gradient; float32 round trip
    helper_test_op([(3, 4)], lambda a: a.float().double() * 2, lambda a: tf.cast(tf.cast(a, tf.float32), tf.float64) * 2,
                   atol=1e-6, rtol=1e-6)
    ints = np.array([-3, 0, 7], np.int32)
    helper_test_op(None, lambda a: a.double(), lambda a: tf.cast(a, tf.float64), vals=[ints])
    helper_test_op(None, lambda a: a.to(torch.bool), lambda a: tf.cast(a, tf.bool), vals=[ints])


@pytest.mark.parametrize("shape", [(), (7,), (3, 4)], ids=str)
def test_clip_by_value(shape):
    helper_test_op([shape], lambda a: torch.clamp(a, -0.7, 1.1), lambda a: tf.clip_by_value(a, -0.7, 1.1))


def test_clip_by_value_tensor_bounds():
    helper_test_op([(3, 4), (4,), (3, 1)], lambda a, lo, hi: torch.minimum(torch.maximum(a, lo), hi + 1.0),
                   lambda a, lo, hi: tf.clip_by_value(a, lo, hi + 1.0), low=[-2, -2, 0], high=[2, -0.5, 0.5])


def test_stop_gradient_and_identity():
    helper_test_op([(3, 4)], lambda a: a.detach() * a, lambda a: tf.stop_gradient(a) * a)
    helper_test_op([(3, 4)], lambda a: a * 1.0, tf.identity)
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.stop_gradient(x * 3.0)
    assert tape.gradient(y, x) is None
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.stop_gradient(x * 3.0)
    assert tape.gradient(y, x, unconnected_gradients="zero").numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("n", [1, 2, 4])
def test_add_n(n):
    helper_test_op([(2, 3)] * n, lambda *xs: sum(xs[1:], xs[0]), lambda *xs: tf.add_n(list(xs)))


# ====================================================================== reductions

def _dims(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def _torch_prod(x, axis, keepdims):
    dims = sorted({d % max(x.ndim, 1) for d in _dims(x, axis)}, reverse=True)
    if x.ndim == 0:
        return x * 1.0
    for d in dims:
        x = torch.prod(x, dim=d, keepdim=True)
    return x if keepdims else x.reshape([s for i, s in enumerate(x.shape) if i not in dims])


REDUCTIONS = {  # name: (pykernel fn, torch fn(x, axis, keepdims))
    "reduce_sum": (tf.reduce_sum, lambda x, a, k: torch.sum(x, dim=_dims(x, a), keepdim=k)),
    "reduce_mean": (tf.reduce_mean, lambda x, a, k: torch.mean(x, dim=_dims(x, a), keepdim=k)),
    "reduce_max": (tf.reduce_max, lambda x, a, k: torch.amax(x, dim=_dims(x, a), keepdim=k)),
    "reduce_min": (tf.reduce_min, lambda x, a, k: torch.amin(x, dim=_dims(x, a), keepdim=k)),
    "reduce_prod": (tf.reduce_prod, _torch_prod),
    "reduce_logsumexp": (tf.reduce_logsumexp, lambda x, a, k: torch.logsumexp(x, dim=_dims(x, a), keepdim=k)),
    "reduce_variance": (tf.math.reduce_variance,
                        lambda x, a, k: torch.var(x, dim=_dims(x, a), keepdim=k, correction=0)),
    "reduce_std": (tf.math.reduce_std, lambda x, a, k: torch.std(x, dim=_dims(x, a), keepdim=k, correction=0)),
}
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), [1, 2], (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction(name, axis, keepdims):
    tf_fn, torch_fn = REDUCTIONS[name]
    helper_test_op([(2, 3, 4)], lambda x: torch_fn(x, axis, keepdims),
                   lambda x: tf_fn(x, axis=axis, keepdims=keepdims), low=0.5 if name == "reduce_prod" else -2)


SMALL_SHAPES = [((), None), ((5,), None), ((5,), 0), ((1, 3, 1), None), ((1, 3, 1), 1), ((1, 3, 1), (0, 2))]
# torch has no 0-d var/std/logsumexp, and zeroes the gradient of a std that is 0 where TF gives
# NaN: those cases are checked on their own below.
SMALL_CASES = [(name, shape, axis) for name in REDUCTIONS for shape, axis in SMALL_SHAPES
               if not (not shape and name in ("reduce_variance", "reduce_std", "reduce_logsumexp"))
               and not (name == "reduce_std" and axis == (0, 2))]


@pytest.mark.parametrize("name, shape, axis", SMALL_CASES, ids=str)
def test_reduction_small_shapes(name, shape, axis):
    tf_fn, torch_fn = REDUCTIONS[name]
    helper_test_op([shape], lambda x: torch_fn(x, axis, False), lambda x: tf_fn(x, axis=axis), low=0.5)


def test_scalar_variance_std_logsumexp_and_std_of_a_constant():
    x = tf.constant(1.7, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        var, lse = tf.math.reduce_variance(x), tf.reduce_logsumexp(x)
    assert var.numpy() == 0.0 and tape.gradient(var, x).numpy() == 0.0
    assert lse.numpy() == pytest.approx(1.7) and tape.gradient(lse, x).numpy() == pytest.approx(1.0)
    ones_axis = tf.constant(np.full((1, 3, 1), 0.5))
    with tf.GradientTape() as tape:
        tape.watch(ones_axis)
        std = tf.math.reduce_std(ones_axis, axis=(0, 2))
    assert std.numpy().tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(tape.gradient(std, ones_axis).numpy()).all()  # d sqrt(v)/dv at v=0, as in TF


def test_reduce_max_min_ties_share_gradient_equally():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    helper_test_op(None, lambda a: torch.amax(a, dim=1), lambda a: tf.reduce_max(a, axis=1), vals=[x])
    helper_test_op(None, lambda a: torch.amin(a), lambda a: tf.reduce_min(a), vals=[x])
    helper_test_op(None, lambda a: torch.amax(a, dim=0), lambda a: tf.reduce_max(a, axis=0), vals=[x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axes, keepdims", [((0,), False), ((0, 1), True), ((0, 1, 2), False)])
def test_large_sums_over_leading_axes(dtype, axes, keepdims):
    """Big enough for the NumPy backend's GEMV path (a bias gradient's shape), with inf and NaN."""
    x = np.random.default_rng(5).standard_normal((33, 9, 7, 5)).astype(dtype)
    x[3, 2, 1, 0], x[4, 0, 0, 1], x[5, 1, 1, 1], x[6, 1, 2, 2] = np.inf, np.nan, np.inf, -np.inf
    got = tf.reduce_sum(tf.constant(x), axis=axes, keepdims=keepdims).numpy()
    want = x.astype(np.float64).sum(axis=axes, keepdims=keepdims)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)
    helper_test_op([(40, 6, 5, 3)], lambda a: a.sum(dim=axes, keepdim=keepdims),
                   lambda a: tf.reduce_sum(a, axis=axes, keepdims=keepdims))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduce_prod_with_zeros(axis):
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]])
    helper_test_op(None, lambda a: _torch_prod(a, axis, False), lambda a: tf.reduce_prod(a, axis), vals=[x])


def test_reduce_int_and_mean_truncates_like_tf():
    x = np.array([[-3, 2, 4], [5, -8, 1]], np.int32)
    helper_test_op(None, lambda a: torch.sum(a, dim=1, dtype=torch.int32), lambda a: tf.reduce_sum(a, 1), vals=[x])
    helper_test_op(None, lambda a: torch.amax(a, dim=0), lambda a: tf.reduce_max(a, 0), vals=[x])
    # integer mean divides the integer sum with truncation toward zero (C semantics, as TF)
    assert tf.reduce_mean(tf.constant([-1, -2])).numpy().tolist() == -1
    assert tf.reduce_mean(tf.constant([[-3, 2, 4], [5, -8, 1]]), axis=1).numpy().tolist() == [1, -0]


def test_reduce_logsumexp_of_all_neg_inf_is_neg_inf():
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0], [-np.inf, 2.0]])
    helper_test_op(None, lambda a: torch.logsumexp(a, 1), lambda a: tf.reduce_logsumexp(a, 1), vals=[x],
                   forward_only=True)


def test_reductions_of_empty_tensors():
    e = tf.zeros((0, 3), tf.float64)
    compare("sum", tf.reduce_sum(e, 0), np.zeros(3), 0, 0)
    compare("prod", tf.reduce_prod(e, 0), np.ones(3), 0, 0)
    assert np.all(np.isnan(tf.reduce_mean(e, 0).numpy()))
    compare("matmul", tf.matmul(tf.zeros((2, 0)), tf.zeros((0, 3))), np.zeros((2, 3), np.float32), 0, 0)
    compare("concat", tf.concat([e, tf.ones((2, 3), tf.float64)], 0), np.ones((2, 3)), 0, 0)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name, axis):
    x = np.random.default_rng(5).standard_normal((4, 5))
    torch_fn = torch.argmax if name == "argmax" else torch.argmin
    tf_fn = getattr(tf, name)
    helper_test_op(None, lambda a: torch_fn(a, dim=0 if axis is None else axis), lambda a: tf_fn(a, axis=axis),
                   vals=[x], forward_only=True)


def test_arg_reductions_ties_pick_first_and_output_type():
    x = tf.constant([[1, 3, 3], [2, 2, 0]])
    assert tf.argmax(x, axis=1).numpy().tolist() == [1, 0]
    assert tf.argmin(x, axis=1, output_type=tf.int32).dtype is tf.int32
    assert tf.argmax(x).dtype is tf.int64


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("name", ["reduce_any", "reduce_all"])
def test_bool_reductions(name, axis, keepdims):
    x = np.random.default_rng(6).integers(0, 4, size=(3, 4, 2)) > 0
    np_fn = np.any if name == "reduce_any" else np.all
    want = np_fn(x, axis=axis if not isinstance(axis, list) else tuple(axis), keepdims=keepdims)
    compare(name, getattr(tf, name)(tf.constant(x), axis=axis, keepdims=keepdims), np.asarray(want), 0, 0)


# ====================================================================== shape ops

X234 = [(2, 3, 4)]


def _t(shape, tf_fn, torch_fn, **kw):
    return (shape, tf_fn, torch_fn, kw)


SHAPE_CASES = {
    "reshape_2d": _t(X234, lambda x: tf.reshape(x, (6, 4)), lambda x: x.reshape(6, 4)),
    "reshape_minus1": _t(X234, lambda x: tf.reshape(x, [-1]), lambda x: x.reshape(-1)),
    "reshape_mid_minus1": _t(X234, lambda x: tf.reshape(x, [4, -1, 3]), lambda x: x.reshape(4, -1, 3)),
    "reshape_scalar": _t([()], lambda x: tf.reshape(x, [1, 1]), lambda x: x.reshape(1, 1)),
    "reshape_to_scalar": _t([(1, 1)], lambda x: tf.reshape(x, []), lambda x: x.reshape(())),
    "transpose_default": _t(X234, tf.transpose, lambda x: x.permute(2, 1, 0)),
    "transpose_102": _t(X234, lambda x: tf.transpose(x, [1, 0, 2]), lambda x: x.permute(1, 0, 2)),
    "transpose_201": _t(X234, lambda x: tf.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1)),
    "transpose_neg": _t(X234, lambda x: tf.transpose(x, (-1, 0, 1)), lambda x: x.permute(2, 0, 1)),
    "transpose_identity": _t(X234, lambda x: tf.transpose(x, (0, 1, 2)), lambda x: x * 1.0),
    "matrix_transpose": _t(X234, tf.linalg.matrix_transpose, lambda x: x.transpose(-1, -2)),
    "expand_dims_0": _t(X234, lambda x: tf.expand_dims(x, 0), lambda x: x.unsqueeze(0)),
    "expand_dims_1": _t(X234, lambda x: tf.expand_dims(x, 1), lambda x: x.unsqueeze(1)),
    "expand_dims_last": _t(X234, lambda x: tf.expand_dims(x, -1), lambda x: x.unsqueeze(-1)),
    "expand_dims_neg4": _t(X234, lambda x: tf.expand_dims(x, -4), lambda x: x.unsqueeze(0)),
    "expand_dims_scalar": _t([()], lambda x: tf.expand_dims(x, 0), lambda x: x.unsqueeze(0)),
    "squeeze_all": _t([(1, 3, 1, 4)], tf.squeeze, lambda x: x.squeeze()),
    "squeeze_0": _t([(1, 3, 1, 4)], lambda x: tf.squeeze(x, 0), lambda x: x.squeeze(0)),
    "squeeze_neg2": _t([(1, 3, 1, 4)], lambda x: tf.squeeze(x, -2), lambda x: x.squeeze(-2)),
    "squeeze_list": _t([(1, 3, 1, 4)], lambda x: tf.squeeze(x, [0, 2]), lambda x: x.reshape(3, 4)),
    "broadcast_to_3d": _t([(3, 1)], lambda x: tf.broadcast_to(x, (2, 3, 4)), lambda x: x.expand(2, 3, 4)),
    "broadcast_to_1": _t([(1,)], lambda x: tf.broadcast_to(x, [5]), lambda x: x.expand(5)),
    "broadcast_to_scalar": _t([()], lambda x: tf.broadcast_to(x, (2, 2)), lambda x: x.expand(2, 2)),
    "broadcast_to_same": _t([(2, 2)], lambda x: tf.broadcast_to(x, (2, 2)), lambda x: x * 1.0),
    "concat_0": _t([(1, 3), (2, 3), (4, 3)], lambda *xs: tf.concat(xs, 0), lambda *xs: torch.cat(xs, 0)),
    "concat_1": _t([(2, 1, 4), (2, 3, 4)], lambda *xs: tf.concat(list(xs), 1), lambda *xs: torch.cat(xs, 1)),
    "concat_neg1": _t([(2, 2), (2, 5), (2, 1)], lambda *xs: tf.concat(xs, -1), lambda *xs: torch.cat(xs, -1)),
    "concat_single": _t([(2, 2)], lambda x: tf.concat([x], 0), lambda x: x * 1.0),
    "stack_0": _t([(2, 3)] * 3, lambda *xs: tf.stack(xs), lambda *xs: torch.stack(xs, 0)),
    "stack_1": _t([(2, 3)] * 2, lambda *xs: tf.stack(xs, axis=1), lambda *xs: torch.stack(xs, 1)),
    "stack_neg1": _t([(2, 3)] * 4, lambda *xs: tf.stack(xs, axis=-1), lambda *xs: torch.stack(xs, -1)),
    "stack_scalars": _t([()] * 3, lambda *xs: tf.stack(xs), lambda *xs: torch.stack(xs)),
    "unstack_0": _t(X234, tf.unstack, lambda x: list(torch.unbind(x, 0))),
    "unstack_1": _t(X234, lambda x: tf.unstack(x, axis=1), lambda x: list(torch.unbind(x, 1))),
    "unstack_neg1": _t(X234, lambda x: tf.unstack(x, axis=-1), lambda x: list(torch.unbind(x, -1))),
    "split_num": _t([(6, 4)], lambda x: tf.split(x, 3), lambda x: list(torch.split(x, 2, 0))),
    "split_num_axis1": _t(X234, lambda x: tf.split(x, 2, axis=-1), lambda x: list(torch.split(x, 2, -1))),
    "split_sizes": _t([(3, 7)], lambda x: tf.split(x, [2, 4, 1], axis=1), lambda x: list(torch.split(x, [2, 4, 1], 1))),
    "split_sizes_minus1": _t([(3, 7)], lambda x: tf.split(x, [2, -1, 1], 1), lambda x: list(torch.split(x, [2, 4, 1], 1))),
    "split_tensor_num": _t([(4, 2)], lambda x: tf.split(x, tf.constant(2)), lambda x: list(torch.split(x, 2, 0))),
    "split_sizes_zero": _t([(5, 2)], lambda x: tf.split(x, [0, 5]), lambda x: list(torch.split(x, [0, 5], 0))),
    "tile_213": _t(X234, lambda x: tf.tile(x, [2, 1, 3]), lambda x: x.repeat(2, 1, 3)),
    "tile_ones": _t(X234, lambda x: tf.tile(x, [1, 1, 1]), lambda x: x * 1.0),
    "tile_size1": _t([(1, 3)], lambda x: tf.tile(x, (4, 2)), lambda x: x.repeat(4, 2)),
    "pad_2d": _t([(3, 4)], lambda x: tf.pad(x, [[1, 2], [0, 3]]), lambda x: F.pad(x, (0, 3, 1, 2))),
    "pad_value": _t([(3, 4)], lambda x: tf.pad(x, [[0, 0], [2, 1]], constant_values=1.5),
                    lambda x: F.pad(x, (2, 1), value=1.5)),
    "pad_3d": _t(X234, lambda x: tf.pad(x, [[1, 0], [0, 0], [2, 2]]), lambda x: F.pad(x, (2, 2, 0, 0, 1, 0))),
    "pad_1d_zero": _t([(5,)], lambda x: tf.pad(x, [[0, 0]]), lambda x: x * 1.0),
    "slice": _t(X234, lambda x: tf.slice(x, [1, 0, 1], [1, 2, 3]), lambda x: x[1:2, 0:2, 1:4]),
    "slice_minus1": _t(X234, lambda x: tf.slice(x, [0, 1, 2], [-1, -1, 2]), lambda x: x[:, 1:, 2:4]),
    "reverse_0": _t(X234, lambda x: tf.reverse(x, [0]), lambda x: x.flip(0)),
    "reverse_1_neg1": _t(X234, lambda x: tf.reverse(x, [1, -1]), lambda x: x.flip(1, 2)),
    "reverse_all": _t(X234, lambda x: tf.reverse(x, [0, 1, 2]), lambda x: x.flip(0, 1, 2)),
}


@pytest.mark.parametrize("name", list(SHAPE_CASES))
def test_shape_op(name):
    shapes, tf_fn, torch_fn, kw = SHAPE_CASES[name]
    helper_test_op(shapes, torch_fn, tf_fn, **kw)


def test_shape_queries():
    x = tf.zeros((2, 3, 4))
    assert tf.shape(x).numpy().tolist() == [2, 3, 4] and tf.shape(x).dtype is tf.int32
    assert tf.size(x).numpy().tolist() == 24 and tf.rank(x).numpy().tolist() == 3


def test_tile_and_concat_of_ints():
    x = np.array([[1, 2], [3, 4]], np.int32)
    helper_test_op(None, lambda a: a.repeat(2, 3), lambda a: tf.tile(a, [2, 3]), vals=[x])
    helper_test_op(None, lambda a: torch.cat([a, a], 1), lambda a: tf.concat([a, a], 1), vals=[x])


# -- getitem: checked against NumPy indexing; the gradient is a scatter-add of the upstream

GETITEM_KEYS = [
    1, -1, (1, 2), (-1, -2, -3), (0, 1, slice(None)), slice(1, None), slice(None, None, 2), slice(None, None, -1),
    slice(3, 0, -2), slice(-2, None, -1), slice(5, 10), slice(None, -1), (slice(None), slice(None, None, -2)),
    (slice(1, 3), slice(None, None, -3), slice(4, 0, -2)), (Ellipsis, 1), (Ellipsis, slice(None, None, -1)),
    (1, Ellipsis), (Ellipsis,), (None, 1), (1, None), (Ellipsis, None), (None, Ellipsis, None),
    (1, None, slice(None, None, -1)), (slice(None, None, 3), Ellipsis, -1), [0, 2, -1], ([1, 1, 0],),
    (slice(None), [3, 0, 3]), (1, [2, 0]), (Ellipsis, [[0, 1], [2, -1]]), (slice(None, None, -1), [0, 0]),
    (np.array([1, -2]),), (None, [2, 1]), (slice(1, None), [-1, 0], slice(None, None, 2)),
]


@pytest.mark.parametrize("key", GETITEM_KEYS, ids=repr)
def test_getitem(key):
    x = np.random.default_rng(7).standard_normal((3, 4, 5))
    want = x[key]
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = t[key]
    compare("forward", out, want, 0, 0)
    g = np.random.default_rng(8).standard_normal(want.shape)
    flat_index = np.arange(x.size).reshape(x.shape)[key]
    want_grad = np.zeros(x.size)
    np.add.at(want_grad, np.asarray(flat_index).reshape(-1), g.reshape(-1))
    compare("grad", tape.gradient(out, t, output_gradients=tf.constant(g)), want_grad.reshape(x.shape), 1e-12, 0)


def test_getitem_with_tensor_indices():
    x = np.arange(20.0).reshape(4, 5)
    t = tf.constant(x)
    assert t[tf.constant(2)].numpy().tolist() == x[2].tolist()
    assert t[tf.constant([3, -1, 0])].numpy().tolist() == x[[3, -1, 0]].tolist()
    assert t[:, tf.constant(np.array([1, 1], np.int64))].numpy().tolist() == x[:, [1, 1]].tolist()
    assert t[1:tf.constant(3), tf.constant(-1)].numpy().tolist() == x[1:3, -1].tolist()


# -- gather / one_hot

GATHER_CASES = [  # (params shape, indices, axis)
    ((5, 4), [4, 0, 2, 0], 0),
    ((5, 4), [[0, 3], [3, 3], [1, 2]], 1),
    ((3, 4, 5), [1], -1),
    ((3, 4, 5), 2, 1),
    ((3, 4, 5), [[[0]], [[3]]], 1),
    ((6,), [5, 5, 5, 1], None),
]


def _torch_gather(x, idx, axis):
    axis = (axis or 0) % x.ndim
    idx = torch.as_tensor(idx)
    out = x.index_select(axis, idx.reshape(-1))
    return out.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))


@pytest.mark.parametrize("shape, indices, axis", GATHER_CASES, ids=str)
def test_gather(shape, indices, axis):
    helper_test_op([shape], lambda x: _torch_gather(x, indices, axis), lambda x: tf.gather(x, indices, axis=axis))
    idx64 = np.asarray(indices, np.int64)
    helper_test_op([shape], lambda x: _torch_gather(x, idx64, axis),
                   lambda x: tf.gather(x, tf.constant(idx64), axis=axis))


def _np_one_hot(idx, depth, axis, on=1.0, off=0.0):
    idx = np.asarray(idx)
    out = np.where(idx[..., None] == np.arange(depth), on, off)
    return np.moveaxis(out, -1, axis if axis is not None else -1)


@pytest.mark.parametrize("indices, depth, axis", [([0, 2, 1, 3], 4, None), ([[0, 1], [2, -1]], 3, 0),
                                                  ([[0, 1], [2, -1]], 3, 1), ([[0, 1], [2, 5]], 3, -1),
                                                  (2, 4, None), ([1, 0], 2, 0)], ids=str)
def test_one_hot(indices, depth, axis):
    out = tf.one_hot(indices, depth, axis=axis)
    compare("one_hot", out, _np_one_hot(indices, depth, axis).astype(np.float32), 0, 0)
    out = tf.one_hot(indices, depth, on_value=5, off_value=-1, axis=axis, dtype=tf.int32)
    compare("one_hot values", out, _np_one_hot(indices, depth, axis, 5, -1).astype(np.int32), 0, 0)
    assert tf.one_hot(indices, depth, on_value=5, off_value=0, axis=axis).dtype is tf.int32  # TF infers it
    assert tf.one_hot(indices, depth, on_value=tf.constant(2.0, tf.float64), axis=axis).dtype is tf.float64
    # one_hot * x: the gradient flows only to x
    oh = _np_one_hot(indices, depth, axis)
    helper_test_op([oh.shape], lambda x: x * torch.tensor(oh),
                   lambda x: tf.one_hot(indices, depth, axis=axis, dtype=tf.float64) * x)


# -- creation

@pytest.mark.parametrize("name", ["range", "linspace", "eye", "fill", "zeros_ones", "like", "constant"])
def test_creation(name):
    if name == "range":
        compare("range", tf.range(5), np.arange(5, dtype=np.int32), 0, 0)
        compare("range", tf.range(2, 10, 3), np.arange(2, 10, 3, dtype=np.int32), 0, 0)
        compare("range", tf.range(10, 2, -2), np.arange(10, 2, -2, dtype=np.int32), 0, 0)
        compare("range", tf.range(0.0, 1.0, 0.25), np.arange(0, 1, 0.25, dtype=np.float32), 0, 0)
        compare("range", tf.range(5, dtype=tf.float64), np.arange(5.0), 0, 0)
        compare("range", tf.range(3, 3), np.arange(3, 3, dtype=np.int32), 0, 0)
        compare("range", tf.range(1.0, 2.05, 0.1, dtype=tf.float64), np.arange(1.0, 2.05, 0.1), 1e-12, 0)
    elif name == "linspace":
        compare("linspace", tf.linspace(0.0, 1.0, 5), np.linspace(0, 1, 5, dtype=np.float32), 1e-7, 0)
        compare("linspace", tf.linspace(-1.0, 2.0, 7), np.linspace(-1, 2, 7, dtype=np.float32), 1e-6, 0)
        compare("linspace", tf.linspace(3.0, 4.0, 1), np.array([3.0], np.float32), 0, 0)
        compare("linspace", tf.linspace(tf.constant(0.0, tf.float64), 1.0, 4), np.linspace(0, 1, 4), 1e-15, 0)
    elif name == "eye":
        compare("eye", tf.eye(3), np.eye(3, dtype=np.float32), 0, 0)
        compare("eye", tf.eye(2, 4, dtype=tf.float64), np.eye(2, 4), 0, 0)
        compare("eye", tf.eye(3, 2, dtype=tf.int32), np.eye(3, 2, dtype=np.int32), 0, 0)
    elif name == "fill":
        compare("fill", tf.fill([2, 3], 7), np.full((2, 3), 7, np.int32), 0, 0)
        compare("fill", tf.fill([2], 1.5), np.full(2, 1.5, np.float32), 0, 0)
        compare("fill", tf.fill((), 2.0), np.float32(2.0), 0, 0)
    elif name == "zeros_ones":
        compare("zeros", tf.zeros((2, 3)), np.zeros((2, 3), np.float32), 0, 0)
        compare("ones", tf.ones([4], tf.int64), np.ones(4, np.int64), 0, 0)
        compare("zeros", tf.zeros((0, 3), tf.float64), np.zeros((0, 3)), 0, 0)
        compare("ones", tf.ones(()), np.float32(1), 0, 0)
    elif name == "like":
        x = tf.constant([[1.5, 2.0]], dtype=tf.float64)
        compare("zeros_like", tf.zeros_like(x), np.zeros((1, 2)), 0, 0)
        compare("ones_like", tf.ones_like(x, dtype=tf.int32), np.ones((1, 2), np.int32), 0, 0)
    else:
        compare("constant", tf.constant(0.5, shape=(2, 3), dtype=tf.float64), np.full((2, 3), 0.5), 0, 0)
        compare("constant", tf.constant([1, 2, 3, 4], shape=(2, 2)), np.array([[1, 2], [3, 4]], np.int32), 0, 0)


# ====================================================================== linear algebra

MATMUL_CASES = [  # (a shape, b shape, transpose_a, transpose_b)
    ((3, 4), (4, 5), False, False),
    ((1, 4), (4, 1), False, False),
    ((2, 3, 4), (2, 4, 5), False, False),
    ((2, 1, 3, 4), (5, 4, 6), False, False),
    ((3, 4), (2, 4, 5), False, False),
    ((2, 3, 4), (4, 5), False, False),
    ((4, 3), (4, 5), True, False),
    ((3, 4), (5, 4), False, True),
    ((4, 3), (5, 4), True, True),
    ((2, 4, 3), (1, 5, 4), True, True),
    ((3, 2, 4, 3), (2, 4, 5), True, False),
    ((2, 3, 4), (1, 6, 4), False, True),
]


@pytest.mark.parametrize("sa, sb, ta, tb", MATMUL_CASES, ids=str)
def test_matmul(sa, sb, ta, tb):
    def ref(a, b):
        return torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
    helper_test_op([sa, sb], ref, lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb), atol=1e-12)


def test_matmul_operator_and_ints():
    helper_test_op([(2, 3), (3, 2)], lambda a, b: a @ b, lambda a, b: a @ b)
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    helper_test_op(None, lambda x, y: x @ y, tf.matmul, vals=[a, a.T.copy()])


@pytest.mark.parametrize("sa, sb, axes", [((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (4, 5), 0),
                                          ((3, 4), (3, 4), 2), ((2, 3, 4), (4, 3, 5), [[1, 2], [1, 0]]),
                                          ((3, 4), (5, 3), [[0], [1]]), ((3, 4), (4, 3), ([0, 1], [1, 0]))], ids=str)
def test_tensordot(sa, sb, axes):
    torch_axes = axes if isinstance(axes, int) else [list(axes[0]), list(axes[1])]
    helper_test_op([sa, sb], lambda a, b: torch.tensordot(a, b, dims=torch_axes),
                   lambda a, b: tf.tensordot(a, b, axes), atol=1e-12)


def test_linalg_norm():
    helper_test_op([(3, 4)], lambda a: torch.linalg.norm(a), tf.linalg.norm)
    helper_test_op([(3, 4)], lambda a: torch.linalg.norm(a, dim=1, keepdim=True),
                   lambda a: tf.norm(a, axis=1, keepdims=True))


# ====================================================================== convolution and pooling

def tf_same_pads(in_hw, k_hw, strides, dilations):
    pads = []
    for size, k, s, d in zip(in_hw, k_hw, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _pairs(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_conv2d(x, w, strides, padding, dilations):
    """TF's NHWC/HWIO conv2d in torch: explicit (asymmetric) padding, then a VALID conv."""
    s, d = _pairs(strides), _pairs(dilations)
    xc = x.permute(0, 3, 1, 2)
    if padding == "SAME":
        (pt, pb), (pl, pr) = tf_same_pads(x.shape[1:3], w.shape[0:2], s, d)
    elif padding == "VALID":
        pt = pb = pl = pr = 0
    else:
        (pt, pb), (pl, pr) = padding[1], padding[2]
    xc = F.pad(xc, (pl, pr, pt, pb))
    return F.conv2d(xc, w.permute(3, 2, 0, 1), stride=s, dilation=d).permute(0, 2, 3, 1)


CONV_CASES = [  # (x shape NHWC, w shape HWIO, strides, padding, dilations)
    ((2, 5, 5, 3), (3, 3, 3, 4), 1, "VALID", 1),
    ((2, 5, 5, 3), (3, 3, 3, 4), 1, "SAME", 1),
    ((1, 7, 6, 2), (2, 2, 2, 3), 2, "SAME", 1),
    ((1, 7, 6, 2), (4, 4, 2, 3), 3, "SAME", 1),
    ((1, 8, 7, 2), (3, 2, 2, 2), 2, "SAME", 1),
    ((2, 8, 8, 1), (3, 2, 1, 2), (2, 1), "VALID", 1),
    ((1, 9, 9, 2), (3, 3, 2, 2), 1, "SAME", 2),
    ((1, 9, 8, 2), (2, 3, 2, 1), 1, "VALID", (2, 3)),
    ((1, 10, 9, 2), (2, 2, 2, 2), 1, "SAME", (3, 2)),
    ((3, 6, 7, 4), (1, 1, 4, 5), 2, "VALID", 1),
    ((1, 5, 5, 2), (5, 5, 2, 3), 1, "VALID", 1),
    ((2, 4, 4, 2), (2, 2, 2, 2), 2, "VALID", 1),
    ((1, 7, 7, 1), (3, 3, 1, 1), 3, "VALID", 1),
    ((1, 6, 5, 2), (3, 3, 2, 2), [1, 2, 2, 1], "SAME", 1),
    ((1, 5, 6, 2), (3, 2, 2, 3), 1, [[0, 0], [1, 2], [0, 1], [0, 0]], 1),
]


@pytest.mark.parametrize("xs, ws, strides, padding, dilations", CONV_CASES, ids=str)
def test_conv2d(xs, ws, strides, padding, dilations):
    s = _pairs(strides) if not (isinstance(strides, list) and len(strides) == 4) else tuple(strides[1:3])
    helper_test_op([xs, ws], lambda x, w: torch_conv2d(x, w, s, padding, dilations),
                   lambda x, w: tf.nn.conv2d(x, w, strides=strides, padding=padding, dilations=dilations),
                   atol=1e-12)


def test_convolution_alias():
    helper_test_op([(1, 5, 5, 2), (3, 3, 2, 2)], lambda x, w: torch_conv2d(x, w, 1, "SAME", 1),
                   lambda x, w: tf.nn.convolution(x, w, padding="SAME"), atol=1e-12)


def _np_pool(x, op, k, s, pads):
    """Reference NHWC pooling with TF's SAME semantics (padding never wins / never counts)."""
    (pt, pb), (pl, pr) = pads
    n, h, w, c = x.shape
    oh = (h + pt + pb - k[0]) // s[0] + 1
    ow = (w + pl + pr - k[1]) // s[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - pt, j * s[1] - pl
            win = x[:, max(r0, 0):min(r0 + k[0], h), max(c0, 0):min(c0 + k[1], w), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if op == "max" else win.mean(axis=(1, 2))
    return out


def torch_pool(x, op, k, s, padding):
    k, s = _pairs(k), _pairs(s)
    (pt, pb), (pl, pr) = tf_same_pads(x.shape[1:3], k, s, (1, 1)) if padding == "SAME" else ((0, 0), (0, 0))
    xc = x.permute(0, 3, 1, 2)
    if op == "max":
        out = F.max_pool2d(F.pad(xc, (pl, pr, pt, pb), value=-math.inf), k, s)
    else:  # window sums over the zero-padded input divided by the count of real cells
        sums = F.avg_pool2d(F.pad(xc, (pl, pr, pt, pb)), k, s) * (k[0] * k[1])
        ones = F.pad(torch.ones_like(xc[:1, :1]), (pl, pr, pt, pb))
        counts = F.avg_pool2d(ones, k, s) * (k[0] * k[1])
        out = sums / counts
    return out.permute(0, 2, 3, 1)


POOL_CASES = [  # (x shape, ksize, strides, padding)
    ((2, 6, 6, 3), 2, 2, "VALID"),
    ((1, 7, 7, 2), 2, 2, "SAME"),
    ((1, 7, 5, 1), 3, 2, "SAME"),
    ((2, 5, 6, 2), 3, 1, "SAME"),
    ((1, 8, 8, 1), (3, 2), (2, 3), "VALID"),
    ((1, 9, 7, 2), 4, 3, "SAME"),
    ((1, 5, 5, 1), 5, 1, "VALID"),
    ((1, 4, 4, 2), 1, 2, "SAME"),
    ((3, 6, 5, 2), [1, 2, 3, 1], [1, 2, 2, 1], "SAME"),
]


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("xs, k, s, padding", POOL_CASES, ids=str)
def test_pool2d(op, xs, k, s, padding):
    kk = _pairs(k) if not (isinstance(k, list) and len(k) == 4) else tuple(k[1:3])
    ss = _pairs(s) if not (isinstance(s, list) and len(s) == 4) else tuple(s[1:3])
    tf_fn = tf.nn.max_pool2d if op == "max" else tf.nn.avg_pool2d
    helper_test_op([xs], lambda x: torch_pool(x, op, kk, ss, padding), lambda x: tf_fn(x, k, s, padding), atol=1e-12)
    # and the forward against a plain NumPy loop (TF's SAME semantics spelled out)
    x = make_inputs([xs], seed=9)[0]
    pads = tf_same_pads(xs[1:3], kk, ss, (1, 1)) if padding == "SAME" else ((0, 0), (0, 0))
    compare("numpy pool", tf_fn(tf.constant(x), k, s, padding), _np_pool(x, op, kk, ss, pads), 1e-12, 0)


def test_pool_aliases():
    helper_test_op([(1, 4, 4, 1)], lambda x: torch_pool(x, "max", 2, 2, "VALID"),
                   lambda x: tf.nn.max_pool(x, 2, 2, "VALID"))
    helper_test_op([(1, 4, 4, 1)], lambda x: torch_pool(x, "avg", 2, 1, "SAME"),
                   lambda x: tf.nn.avg_pool(x, 2, 1, "SAME"))


def test_max_pool_gradient_goes_to_first_max_on_ties():
    x = tf.constant(np.array([1.0, 1.0, 1.0, 1.0]).reshape(1, 2, 2, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 2, 2, "VALID")
    assert tape.gradient(y, x).numpy().reshape(-1).tolist() == [1.0, 0.0, 0.0, 0.0]



def _np_max_pool_grad(x, dy, k, s, pads):
    """Loop reference: each window's dy goes to its first maximal cell (row-major, padding
    never wins, a NaN counts as the maximum as np.argmax has it)."""
    (pt, _), (pl, _) = pads
    n, h, w, c = x.shape
    grad = np.zeros(x.shape)
    for b in range(n):
        for ch in range(c):
            for i in range(dy.shape[1]):
                for j in range(dy.shape[2]):
                    cells = [(r, q) for r in range(i * s[0] - pt, i * s[0] - pt + k[0])
                             for q in range(j * s[1] - pl, j * s[1] - pl + k[1]) if 0 <= r < h and 0 <= q < w]
                    values = np.array([x[b, r, q, ch] for r, q in cells])
                    r, q = cells[int(np.argmax(values))]
                    grad[b, r, q, ch] += dy[b, i, j, ch]
    return grad


@pytest.mark.parametrize("k, s, padding", [(2, 2, "VALID"), (3, 1, "SAME"), (3, 2, "SAME"), (2, 1, "VALID")])
def test_max_pool_gradient_with_ties_nan_and_inf_matches_a_loop_reference(k, s, padding):
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, (2, 5, 6, 3)).astype(np.float64)   # small integers: many ties
    x[0, 1, 1, 0] = np.nan
    x[1, 3, 4, 2] = np.inf
    x[1, 0, 0, 1] = -np.inf
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, k, s, padding)
    dy = rng.standard_normal(y.shape)
    got = tape.gradient(y, xt, output_gradients=tf.constant(dy)).numpy()
    pads = tf_same_pads(x.shape[1:3], (k, k), (s, s), (1, 1)) if padding == "SAME" else ((0, 0), (0, 0))
    np.testing.assert_allclose(got, _np_max_pool_grad(x, dy, (k, k), (s, s), pads), rtol=1e-12, atol=1e-12)

# ====================================================================== activations and nn

ACTIVATIONS = {
    "relu": (tf.nn.relu, F.relu),
    "relu6": (tf.nn.relu6, F.relu6),
    "leaky_relu": (tf.nn.leaky_relu, lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu_0.1": (lambda x: tf.nn.leaky_relu(x, alpha=0.1), lambda x: F.leaky_relu(x, 0.1)),
    "elu": (tf.nn.elu, F.elu),
    "selu": (tf.nn.selu, F.selu),
    "gelu": (tf.nn.gelu, F.gelu),
    "gelu_approximate": (lambda x: tf.nn.gelu(x, approximate=True), lambda x: F.gelu(x, approximate="tanh")),
    "softplus": (tf.nn.softplus, F.softplus),
    "softsign": (tf.nn.softsign, F.softsign),
    "silu": (tf.nn.silu, F.silu),
    "swish": (tf.nn.swish, F.silu),
    "silu_beta": (lambda x: tf.nn.silu(x, beta=1.5), lambda x: x * torch.sigmoid(1.5 * x)),
    "sigmoid": (tf.nn.sigmoid, torch.sigmoid),
    "tanh": (tf.nn.tanh, torch.tanh),
}


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()], ids=str)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name, shape):
    tf_fn, torch_fn = ACTIVATIONS[name]
    helper_test_op([shape], torch_fn, tf_fn, low=-8, high=8)


def test_relu_relu6_gradients_at_the_kinks_like_tf():
    x = tf.constant([-1.0, 0.0, 3.0, 6.0, 7.0], dtype=tf.float64)
    for fn, want in [(tf.nn.relu, [0, 0, 1, 1, 1]), (tf.nn.relu6, [0, 0, 1, 0, 0])]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        assert tape.gradient(y, x).numpy().tolist() == want
    assert tf.nn.relu6(tf.constant([-3, 2, 9])).numpy().tolist() == [0, 2, 6]


def test_activations_extreme_inputs():
    x = np.array([-800.0, -50.0, -1e-3, 1e-3, 50.0, 800.0])
    for tf_fn, torch_fn in [(tf.nn.softplus, F.softplus), (tf.sigmoid, torch.sigmoid),
                            (tf.nn.elu, F.elu), (tf.nn.selu, F.selu), (tf.nn.softsign, F.softsign)]:
        helper_test_op(None, torch_fn, tf_fn, vals=[x])


@pytest.mark.parametrize("shape, axis", [((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), 1), ((5,), -1), ((3, 1), -1)],
                         ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, shape, axis):
    tf_fn = getattr(tf.nn, name)
    torch_fn = getattr(F, name)
    helper_test_op([shape], lambda x: torch_fn(x, dim=axis), lambda x: tf_fn(x, axis=axis), low=-5, high=5)


def test_softmax_large_logits():
    x = np.array([[1000.0, 999.0, -1000.0], [-500.0, -501.0, -502.0]])
    helper_test_op(None, lambda a: F.softmax(a, -1), tf.nn.softmax, vals=[x])
    helper_test_op(None, lambda a: F.log_softmax(a, -1), tf.nn.log_softmax, vals=[x])
    helper_test_op(None, lambda a: torch.logsumexp(a, 1), lambda a: tf.reduce_logsumexp(a, 1), vals=[x])


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)], ids=str)
def test_sigmoid_cross_entropy_with_logits(shape):
    helper_test_op([shape, shape],
                   lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none"),
                   lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
                   low=[0, -6], high=[1, 6])


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)], ids=str)
def test_softmax_cross_entropy_with_logits(shape):
    rng = np.random.default_rng(10)
    z = rng.uniform(0, 1, shape)
    z = z / z.sum(-1, keepdims=True)
    x = rng.uniform(-4, 4, shape)
    helper_test_op(None, lambda zz, xx: -(zz * F.log_softmax(xx, -1)).sum(-1),
                   lambda zz, xx: tf.nn.softmax_cross_entropy_with_logits(labels=zz, logits=xx), vals=[z, x])
    helper_test_op(None, lambda zz, xx: F.cross_entropy(xx.reshape(-1, shape[-1]), zz.detach().reshape(-1, shape[-1]),
                                                        reduction="none").reshape(shape[:-1]),
                   lambda zz, xx: tf.nn.softmax_cross_entropy_with_logits(tf.stop_gradient(zz), xx), vals=[z, x])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (1, 3)], ids=str)
def test_sparse_softmax_cross_entropy_with_logits(shape, dtype):
    rng = np.random.default_rng(11)
    labels = rng.integers(0, shape[-1], size=shape[:-1]).astype(dtype)
    x = rng.uniform(-4, 4, shape)
    helper_test_op(None, lambda y, xx: F.cross_entropy(xx.reshape(-1, shape[-1]), y.long().reshape(-1),
                                                       reduction="none").reshape(shape[:-1]),
                   lambda y, xx: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=xx),
                   vals=[labels, x])


def test_bias_add_l2_loss_l2_normalize():
    helper_test_op([(2, 3, 4), (4,)], lambda x, b: x + b, tf.nn.bias_add)
    helper_test_op([(3,), (3,)], lambda x, b: x + b, tf.nn.bias_add)
    helper_test_op([(3, 4)], lambda x: (x * x).sum() / 2, tf.nn.l2_loss)
    helper_test_op([()], lambda x: (x * x).sum() / 2, tf.nn.l2_loss)
    for axis in (None, 0, -1, [0, 1]):
        def ref(x, axis=axis):
            dims = tuple(range(x.ndim)) if axis is None else axis
            return x / torch.sqrt(torch.clamp((x * x).sum(dims, keepdim=True), min=1e-12))
        helper_test_op([(3, 4)], ref, lambda x, axis=axis: tf.nn.l2_normalize(x, axis=axis))


@pytest.mark.parametrize("axes, keepdims", [([0], False), ([0, 1], False), ([0, 1, 2], True), ([1], True),
                                            ([-1], False), (0, False)], ids=str)
def test_moments(axes, keepdims):
    dims = tuple([axes] if isinstance(axes, int) else axes)
    helper_test_op([(2, 3, 4)], lambda x: [x.mean(dims, keepdim=keepdims), x.var(dims, keepdim=keepdims, correction=0)],
                   lambda x: tf.nn.moments(x, axes, keepdims=keepdims))


def test_batch_normalization():
    def ref(x, m, v, o, s):
        return (x - m) / torch.sqrt(v + 1e-3) * s + o
    helper_test_op([(2, 3, 4), (4,), (4,), (4,), (4,)], ref,
                   lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
                   low=[-2, -1, 0.1, -1, 0.5], high=[2, 1, 2, 1, 2], atol=1e-12)
    helper_test_op([(5, 3), (3,), (3,)], lambda x, m, v: (x - m) / torch.sqrt(v + 1e-5),
                   lambda x, m, v: tf.nn.batch_normalization(x, m, v, None, None, 1e-5),
                   low=[-2, -1, 0.1], high=[2, 1, 2])


def test_dropout_statistics_scaling_and_determinism():
    x = tf.ones((400, 500), dtype=tf.float64)
    tf.random.set_seed(1234)
    try:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.dropout(x, 0.3, seed=7)
        out = y.numpy()
        kept = out != 0
        assert abs(1 - kept.mean() - 0.3) < 0.005
        np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-12)
        assert abs(out.mean() - 1.0) < 0.01
        # the gradient is the same mask and scale
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), out, rtol=1e-12)
        # seeds reproduce; different draws differ
        tf.random.set_seed(1234)
        again = tf.nn.dropout(x, 0.3, seed=7).numpy()
        np.testing.assert_array_equal(again, out)
        assert not np.array_equal(tf.nn.dropout(x, 0.3, seed=7).numpy(), out)
        # noise_shape broadcasts the mask
        cols = tf.nn.dropout(tf.ones((50, 40)), 0.5, noise_shape=(1, 40)).numpy()
        assert np.all(cols == cols[:1]) and set(np.unique(cols)) <= {0.0, 2.0}
        assert tf.nn.dropout(x, 0.0) is x or np.array_equal(tf.nn.dropout(x, 0.0).numpy(), x.numpy())
    finally:
        tf.random.set_seed(None)


# ====================================================================== random

@pytest.fixture
def reset_seed():
    yield
    tf.random.set_seed(None)


def test_random_uniform_statistics(reset_seed):
    tf.random.set_seed(0)
    u = tf.random.uniform((100_000,)).numpy()
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.std() - 1 / math.sqrt(12)) < 0.005
    v = tf.random.uniform((400, 250), minval=-3.0, maxval=5.0, dtype=tf.float64).numpy()
    assert v.shape == (400, 250) and v.dtype == np.float64 and v.min() >= -3 and v.max() < 5
    assert abs(v.mean() - 1.0) < 0.05 and abs(v.std() - 8 / math.sqrt(12)) < 0.04


def test_random_uniform_int(reset_seed):
    tf.random.set_seed(1)
    v = tf.random.uniform((100_000,), minval=3, maxval=9, dtype=tf.int32).numpy()
    assert v.dtype == np.int32 and v.min() == 3 and v.max() == 8
    counts = np.bincount(v - 3, minlength=6) / v.size
    np.testing.assert_allclose(counts, 1 / 6, atol=0.01)
    with pytest.raises(InvalidArgumentError):
        tf.random.uniform((2,), maxval=None, dtype=tf.int32)


def test_random_normal_statistics(reset_seed):
    tf.random.set_seed(2)
    z = tf.random.normal((100_000,)).numpy()
    assert z.dtype == np.float32
    assert abs(z.mean()) < 0.015 and abs(z.std() - 1) < 0.015
    assert abs((np.abs(z) < 1).mean() - 0.6827) < 0.01
    w = tf.random.normal((100_000,), mean=3.0, stddev=2.0, dtype=tf.float64).numpy()
    assert w.dtype == np.float64 and abs(w.mean() - 3) < 0.03 and abs(w.std() - 2) < 0.03


def test_random_truncated_normal_statistics(reset_seed):
    tf.random.set_seed(3)
    z = tf.random.truncated_normal((100_000,)).numpy()
    assert np.abs(z).max() <= 2.0
    assert abs(z.mean()) < 0.015 and abs(z.std() - 0.87962566) < 0.01
    w = tf.random.truncated_normal((100_000,), mean=1.0, stddev=0.5).numpy()
    assert w.min() >= 0.0 and w.max() <= 2.0 and abs(w.mean() - 1) < 0.01


@pytest.mark.parametrize("fn", [tf.random.uniform, tf.random.normal, tf.random.truncated_normal])
def test_random_seed_determinism_and_shapes(fn, reset_seed):
    tf.random.set_seed(42)
    a, b = fn((3, 4)).numpy(), fn((3, 4)).numpy()
    tf.random.set_seed(42)
    a2, b2 = fn((3, 4)).numpy(), fn((3, 4)).numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a, b)
    # an op seed fixes that op's stream regardless of unseeded ops in between
    tf.random.set_seed(42)
    c = fn((5,), seed=7).numpy()
    tf.random.set_seed(42)
    tf.random.normal((3,))
    np.testing.assert_array_equal(fn((5,), seed=7).numpy(), c)
    assert not np.array_equal(fn((5,), seed=8).numpy(), c)
    # shapes
    assert fn(()).shape == () and fn([2, 1, 3]).shape == (2, 1, 3) and fn((0, 3)).shape == (0, 3)
    assert fn(tf.constant([2, 2])).shape == (2, 2)
    # without any seed, draws differ
    tf.random.set_seed(None)
    assert not np.array_equal(fn((8,)).numpy(), fn((8,)).numpy())


def test_random_shuffle(reset_seed):
    tf.random.set_seed(5)
    x = tf.range(10)
    y = tf.random.shuffle(x).numpy()
    assert sorted(y.tolist()) == list(range(10))


# ====================================================================== composites vs finite differences

COMPOSITES = {  # name: (pykernel fn, input shapes, low, high)
    "softmax": (lambda x: tf.nn.softmax(x, axis=1), [(2, 3, 2)], -2, 2),
    "log_softmax": (lambda x: tf.nn.log_softmax(x), [(3, 4)], -2, 2),
    "logsumexp": (lambda x: tf.reduce_logsumexp(x, axis=[0, 2], keepdims=True), [(2, 3, 2)], -2, 2),
    "gelu": (tf.nn.gelu, [(7,)], -3, 3),
    "gelu_approximate": (lambda x: tf.nn.gelu(x, approximate=True), [(7,)], -3, 3),
    "softplus": (tf.nn.softplus, [(7,)], -3, 3),
    "l2_normalize": (lambda x: tf.nn.l2_normalize(x, axis=-1), [(3, 4)], -2, 2),
    "moments": (lambda x: tf.nn.moments(x, [0, 2]), [(2, 3, 2)], -2, 2),
    "batch_normalization": (lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
                            [(2, 3), (3,), (3,), (3,), (3,)], [-2, -1, 0.2, -1, 0.5], [2, 1, 2, 1, 2]),
    "tile": (lambda x: tf.tile(x, [2, 3]), [(2, 2)], -2, 2),
    "one_hot_mul": (lambda x: tf.one_hot([2, 0, 1], 3, dtype=tf.float64) * x, [(3, 3)], -2, 2),
    "reduce_std": (lambda x: tf.math.reduce_std(x, axis=1), [(3, 4)], -2, 2),
    "reduce_prod": (lambda x: tf.reduce_prod(x, axis=0), [(3, 4)], 0.5, 2),
    "selu_elu": (lambda x: tf.nn.selu(x) + tf.nn.elu(x), [(6,)], -2, 2),
    "sparse_xent": (lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits([1, 0, 2], x), [(3, 4)], -2, 2),
    "sigmoid_xent": (lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(z, x), [(4,), (4,)], [0, -3], [1, 3]),
    "clip_by_value": (lambda x: tf.clip_by_value(x, -0.5, 0.5), [(6,)], -1, 1),
    "log1p_expm1": (lambda x: tf.math.log1p(x) + tf.math.expm1(x), [(5,)], -0.5, 1),
    "conv2d_same": (lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [(1, 4, 5, 2), (2, 2, 2, 1)], -1, 1),
    "avg_pool_same": (lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"), [(1, 5, 4, 1)], -1, 1),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_composite_vs_finite_differences(name):
    fn, shapes, low, high = COMPOSITES[name]
    arrays = make_inputs(shapes, low, high, seed=12)
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        outs = _as_list(fn(*tensors))
    rng = np.random.default_rng(13)
    upstream = [rng.standard_normal(tuple(o.shape)) for o in outs]
    grads = tape.gradient(outs, tensors, output_gradients=[tf.constant(u) for u in upstream])
    for i, (g, want) in enumerate(zip(grads, numerical_grad(fn, arrays, upstream))):
        compare(f"grad of input {i}", g, want, 1e-7, 1e-6)


# ====================================================================== second order

def _second_order(tf_fn, torch_fn, shapes, low=-2.0, high=2.0, seed=14):
    """d/dx of <d f/dx, h> for upstream g, h: nested tapes vs torch.autograd.grad(create_graph=True)."""
    arrays = make_inputs(shapes, low, high, seed)
    rng = np.random.default_rng(seed + 1)
    tin = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as outer:
        outer.watch(tin)
        with tf.GradientTape() as inner:
            inner.watch(tin)
            y = tf_fn(*tin)
        g = rng.standard_normal(tuple(y.shape))
        first = inner.gradient(y, tin, output_gradients=tf.constant(g))
    hs = [rng.standard_normal(a.shape) for a in arrays]
    second = outer.gradient(first, tin, output_gradients=[tf.constant(h) for h in hs])

    rin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ry = torch_fn(*rin)
    rfirst = torch.autograd.grad(ry, rin, torch.tensor(g), create_graph=True)
    for i, (f, rf) in enumerate(zip(first, rfirst)):
        compare(f"first grad {i}", f, rf, 1e-10, 1e-8)
    live = [(rf, torch.tensor(h)) for rf, h in zip(rfirst, hs) if rf.requires_grad]
    rsecond = torch.autograd.grad([rf for rf, _ in live], rin, [h for _, h in live], allow_unused=True) \
        if live else [None] * len(rin)
    for i, (s, rs) in enumerate(zip(second, rsecond)):
        want = np.zeros(arrays[i].shape) if rs is None else rs
        if s is None:
            assert not np.any(_to_numpy(want)), f"second grad {i} is None but the reference is nonzero"
        else:
            compare(f"second grad {i}", s, want, 1e-10, 1e-8)


SECOND_ORDER = {
    "tanh": (tf.tanh, torch.tanh, [(3, 4)]),
    "sigmoid": (tf.sigmoid, torch.sigmoid, [(5,)]),
    "exp_mul": (lambda x, y: tf.exp(x) * y, lambda x, y: torch.exp(x) * y, [(3,), (3,)]),
    "sin_div": (lambda x, y: tf.sin(x) / (y + 3.0), lambda x, y: torch.sin(x) / (y + 3.0), [(4,), (4,)]),
    "matmul": (tf.matmul, torch.matmul, [(3, 4), (4, 2)]),
    "matmul_batched_t": (lambda a, b: tf.matmul(a, b, transpose_b=True),
                         lambda a, b: a @ b.transpose(-1, -2), [(2, 3, 4), (5, 4)]),
    "conv2d": (lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), lambda x, w: torch_conv2d(x, w, 2, "SAME", 1),
               [(2, 5, 6, 2), (3, 2, 2, 3)]),
    "conv2d_dilated": (lambda x, w: tf.nn.conv2d(x, w, 1, "VALID", dilations=2),
                       lambda x, w: torch_conv2d(x, w, 1, "VALID", 2), [(1, 6, 6, 1), (2, 2, 1, 2)]),
    "softmax": (tf.nn.softmax, lambda x: F.softmax(x, -1), [(2, 5)]),
    "softplus": (tf.nn.softplus, F.softplus, [(6,)]),
    "reduce_max": (lambda x: tf.reduce_max(x, 1), lambda x: torch.amax(x, 1), [(3, 4)]),
    "getitem": (lambda x: x[::-2, 1:] ** 3, lambda x: x.flip(0)[::2, 1:] ** 3, [(5, 3)]),
    "gather": (lambda x: tf.gather(x, [2, 0, 2]) ** 2, lambda x: x[[2, 0, 2]] ** 2, [(3, 2)]),
    "relu_mul": (lambda x, y: tf.nn.relu(x) * y, lambda x, y: F.relu(x) * y, [(6,), (6,)]),
    "max_pool": (lambda x: tf.nn.max_pool2d(x, 2, 2, "SAME") ** 2,
                 lambda x: torch_pool(x, "max", 2, 2, "SAME") ** 2, [(1, 5, 5, 2)]),
    "max_pool_overlap": (lambda x: tf.nn.max_pool2d(x * x, 3, 1, "SAME") * x[:, :, :, :1],
                         lambda x: torch_pool(x * x, "max", 3, 1, "SAME") * x[:, :, :, :1], [(1, 4, 4, 2)]),
    "avg_pool": (lambda x: tf.nn.avg_pool2d(x * x, 3, 2, "SAME"),
                 lambda x: torch_pool(x * x, "avg", 3, 2, "SAME"), [(1, 5, 4, 2)]),
    "pow": (lambda x, y: tf.pow(x, y), torch.pow, [(4,), (4,)]),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_order(name):
    tf_fn, torch_fn, shapes = SECOND_ORDER[name]
    low, high = (0.5, 2.0) if name == "pow" else (-2.0, 2.0)
    _second_order(tf_fn, torch_fn, shapes, low, high)


# ====================================================================== bad input

def test_bad_input_messages():
    with pytest.raises(InvalidArgumentError, match=r"\(2, 3\).*\(4, 5\)"):
        tf.matmul(tf.zeros((2, 3)), tf.zeros((4, 5)))
    with pytest.raises(InvalidArgumentError, match=r"\(2, 3\).*\(4,\)"):
        tf.add(tf.zeros((2, 3)), tf.zeros((4,)))
    with pytest.raises(InvalidArgumentError, match=r"\(2, 3\).*\(4,\)"):
        tf.zeros((2, 3)) * tf.zeros((4,))
    with pytest.raises(InvalidArgumentError, match=r"\(1, 5, 5, 3\).*\(3, 3, 2, 4\)"):
        tf.nn.conv2d(tf.zeros((1, 5, 5, 3)), tf.zeros((3, 3, 2, 4)), 1, "SAME")
    with pytest.raises(InvalidArgumentError, match=r"float32.*int32|int32.*float32"):
        tf.add(tf.constant([1.0]), tf.constant([1]))
    with pytest.raises(InvalidArgumentError, match=r"float32.*int32|int32.*float32"):
        tf.constant([1.0]) * tf.constant([2])
    with pytest.raises(InvalidArgumentError, match=r"float64.*float32|float32.*float64"):
        tf.matmul(tf.zeros((2, 2), tf.float64), tf.zeros((2, 2)))
    with pytest.raises(InvalidArgumentError, match=r"\(2, 3\).*\[4, 2\]|\(2, 3\).*\(4, 2\)"):
        tf.reshape(tf.zeros((2, 3)), [4, 2])
    with pytest.raises(InvalidArgumentError):
        tf.reshape(tf.zeros((2, 3)), [4, -1])
    with pytest.raises(InvalidArgumentError, match="SAME"):
        tf.nn.conv2d(tf.zeros((1, 5, 5, 1)), tf.zeros((3, 3, 1, 1)), 1, "FULL")
    with pytest.raises(InvalidArgumentError, match="SAME"):
        tf.nn.max_pool2d(tf.zeros((1, 5, 5, 1)), 2, 2, "same-ish")
    with pytest.raises(InvalidArgumentError):
        tf.concat([tf.zeros((2, 3)), tf.zeros((3, 2))], 0)
    with pytest.raises(InvalidArgumentError):
        tf.reduce_sum(tf.zeros((2, 3)), axis=2)
    with pytest.raises(InvalidArgumentError):
        tf.transpose(tf.zeros((2, 3)), [0, 0])
    with pytest.raises(InvalidArgumentError):
        tf.split(tf.zeros((5,)), 2)
    with pytest.raises(InvalidArgumentError, match="float"):
        tf.exp(tf.constant([1, 2]))


def test_index_errors():
    x = tf.zeros((3, 4))
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[:, -5]
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[[0, 3]]
    with pytest.raises(IndexError):
        x[..., ...]
    with pytest.raises((IndexError, InvalidArgumentError)):
        tf.gather(x, [5])


# ====================================================================== float32 path

FLOAT32_CASES = {
    "exp": ([(3, 4)], torch.exp, tf.exp),
    "tanh": ([(3, 4)], torch.tanh, tf.tanh),
    "log": ([(3, 4)], torch.log, tf.math.log),
    "add_broadcast": ([(3, 1, 5), (4, 5)], torch.add, tf.add),
    "div": ([(3, 4), (4,)], torch.div, tf.divide),
    "matmul": ([(3, 8), (8, 5)], torch.matmul, tf.matmul),
    "reduce_mean": ([(4, 6)], lambda x: x.mean(1), lambda x: tf.reduce_mean(x, 1)),
    "softmax": ([(3, 7)], lambda x: F.softmax(x, -1), tf.nn.softmax),
    "conv2d": ([(2, 6, 6, 3), (3, 3, 3, 4)], lambda x, w: torch_conv2d(x, w, 2, "SAME", 1),
               lambda x, w: tf.nn.conv2d(x, w, 2, "SAME")),
    "max_pool": ([(1, 6, 6, 2)], lambda x: torch_pool(x, "max", 2, 2, "VALID"), lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID")),
    "gelu": ([(10,)], F.gelu, tf.nn.gelu),
    "sigmoid_xent": ([(5,), (5,)], lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none"),
                     lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(z, x)),
}


@pytest.mark.parametrize("name", list(FLOAT32_CASES))
def test_float32(name):
    shapes, torch_fn, tf_fn = FLOAT32_CASES[name]
    low = [0.1] * len(shapes) if name == "log" else ([-2, 0.5] if name == "div" else -2)
    high = 3 if name == "log" else 2
    helper_test_op(shapes, torch_fn, tf_fn, dtype=np.float32, low=low, high=high, atol=1e-5, rtol=1e-5)
