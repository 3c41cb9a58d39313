"""Elementwise math: each op's forward is one backend primitive; its gradient sits beside it."""
import math

from .. import dtypes
from ..errors import InvalidArgumentError
from .checks import check_nonzero_divisor
from .dispatch import broadcast_shapes, check_float, is_recording, record, tensor, tensors, wrap


def unbroadcast(g, shape):
    """Sum a broadcast gradient back down to `shape`."""
    from .reduction import reduce_sum
    from .shape import reshape
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    extra = g.ndim - len(shape)
    axes = list(range(extra)) + [i + extra for i, d in enumerate(shape) if d == 1 and g.shape[i + extra] != 1]
    return reshape(reduce_sum(g, axes), shape)


# ------------------------------------------------------------------ unary

def _unary(op, x, grad=None, name=None, float_only=True):
    x = tensor(x)
    if float_only:
        check_float(op, x)
    out = wrap(x.backend.unary(op, x._buf), x.backend, x.shape, x.dtype)
    if grad is not None and is_recording():
        record((x,), out, lambda g: (grad(g, x, out),))
    return out


def negative(x, name=None):
    x = tensor(x)
    out = wrap(x.backend.unary("neg", x._buf), x.backend, x.shape, x.dtype)
    if is_recording():
        record((x,), out, lambda g: (negative(g),))
    return out


def exp(x, name=None):
    return _unary("exp", x, lambda g, x, y: g * y)


def log(x, name=None):
    return _unary("log", x, lambda g, x, y: g / x)


def sqrt(x, name=None):
    return _unary("sqrt", x, lambda g, x, y: g * 0.5 / y)


def rsqrt(x, name=None):
    return _unary("rsqrt", x, lambda g, x, y: g * -0.5 * y * y * y)


def reciprocal(x, name=None):
    return _unary("reciprocal", x, lambda g, x, y: -g * y * y)


def abs(x, name=None):  # noqa: A001  (TF's name)
    x = tensor(x)
    out = wrap(x.backend.unary("abs", x._buf), x.backend, x.shape, x.dtype)
    if x.dtype.is_floating and is_recording():
        record((x,), out, lambda g: (g * sign(x),))
    return out


def sign(x, name=None):
    x = tensor(x)
    out = wrap(x.backend.unary("sign", x._buf), x.backend, x.shape, x.dtype)
    if x.dtype.is_floating and is_recording():  # TF's gradient of sign is zeros, not None
        from .creation import zeros_like
        record((x,), out, lambda g: (zeros_like(g),))
    return out


def tanh(x, name=None):
    return _unary("tanh", x, lambda g, x, y: g * (1.0 - y * y))


def sigmoid(x, name=None):
    return _unary("sigmoid", x, lambda g, x, y: g * y * (1.0 - y))


def erf(x, name=None):
    return _unary("erf", x, lambda g, x, y: g * (2.0 / math.sqrt(math.pi)) * exp(-x * x))


def sin(x, name=None):
    return _unary("sin", x, lambda g, x, y: g * cos(x))


def cos(x, name=None):
    return _unary("cos", x, lambda g, x, y: -g * sin(x))


def floor(x, name=None):
    return _unary("floor", x)  # piecewise constant: no gradient, like TF


def ceil(x, name=None):
    return _unary("ceil", x)


def round(x, name=None):  # noqa: A001
    return _unary("round", x)  # half to even, like TF and NumPy


def square(x, name=None):
    return multiply(x, x)


def log1p(x, name=None):
    """log(1 + x), accurate for tiny x (Kahan: log(u) * x / (u - 1) with u = 1 + x)."""
    from .math_ops import stop_gradient, where
    x = tensor(x)
    check_float("log1p", x)
    xs = stop_gradient(x)
    u = xs + 1.0
    d = u - 1.0
    exact = equal(d, 0.0)
    out = where(exact, xs, log(u) * (xs / where(exact, 1.0, d)))
    out = where(equal(u, math.inf), u, out)
    if is_recording():
        record((x,), out, lambda g: (g / (x + 1.0),))
    return out


def expm1(x, name=None):
    """exp(x) - 1, accurate for tiny x (Kahan: (u - 1) * x / log(u) with u = exp(x))."""
    from .math_ops import stop_gradient, where
    x = tensor(x)
    check_float("expm1", x)
    xs = stop_gradient(x)
    u = exp(xs)
    d = u - 1.0
    log_u = log(u)
    small = equal(u, 1.0)
    out = where(small, xs, d * (xs / where(small, 1.0, log_u)))
    out = where(logical_or(equal(d, -1.0), equal(u, math.inf)), d, out)
    if is_recording():
        record((x,), out, lambda g: (g * exp(x),))
    return out


def logical_not(x, name=None):
    x = tensor(x, dtypes.bool_)
    return wrap(x.backend.unary("logical_not", x._buf), x.backend, x.shape, dtypes.bool_)


def is_nan(x, name=None):
    x = tensor(x)
    return wrap(x.backend.unary("isnan", x._buf), x.backend, x.shape, dtypes.bool_)


def is_finite(x, name=None):
    x = tensor(x)
    return wrap(x.backend.unary("isfinite", x._buf), x.backend, x.shape, dtypes.bool_)


# ------------------------------------------------------------------ binary

def _binary(op, a, b, grad=None, out_dtype=None, name=None):
    a, b = tensors(op, a, b)
    shape = broadcast_shapes(op, a.shape, b.shape)
    out = wrap(a.backend.binary(op, a._buf, b._buf), a.backend, shape, out_dtype or a.dtype)
    if grad is not None and a.dtype.is_floating and is_recording():
        def backward(g):
            ga, gb = grad(g, a, b, out)
            return (None if ga is None else unbroadcast(ga, a.shape),
                    None if gb is None else unbroadcast(gb, b.shape))
        record((a, b), out, backward)
    return out


def add(x, y, name=None):
    return _binary("add", x, y, lambda g, a, b, out: (g, g))


def subtract(x, y, name=None):
    return _binary("sub", x, y, lambda g, a, b, out: (g, negative(g)))


def multiply(x, y, name=None):
    return _binary("mul", x, y, lambda g, a, b, out: (g * b, g * a))


def divide(x, y, name=None):
    """True division; integer inputs are converted to float first (tf.math.divide)."""
    return truediv(x, y)


def truediv(x, y, name=None):
    x, y = _float_operands(x, y)
    return _binary("div", x, y, lambda g, a, b, out: (g / b, -g * out / b))


def _float_operands(x, y):
    """Integer tensors divided with `/` become floats, as in TF (int32 -> float64 there;
    float32 here, the device dtype) ; Python literals follow."""
    from .math_ops import cast
    from ..tensor import Tensor
    xs = [v for v in (x, y) if isinstance(v, Tensor) or hasattr(v, "read_value")]
    if xs and all(not t.dtype.is_floating for t in xs):
        target = dtypes.float64 if xs[0].dtype is dtypes.int64 else dtypes.float32
        x = cast(x, target) if isinstance(x, Tensor) or hasattr(x, "read_value") else x
        y = cast(y, target) if isinstance(y, Tensor) or hasattr(y, "read_value") else y
    return x, y


def divide_no_nan(x, y, name=None):
    from .math_ops import where
    x, y = tensors("divide_no_nan", x, y)
    zero = equal(y, 0.0)
    safe = where(zero, 1.0, y)
    return where(zero, 0.0, x / safe)


def floordiv(x, y, name=None):
    a, b = tensors("floordiv", x, y)
    check_nonzero_divisor("floordiv", y, b)
    return _binary("floordiv", a, b)


def floormod(x, y, name=None):
    a, b = tensors("floormod", x, y)
    check_nonzero_divisor("floormod", y, b)
    # TF's FloorMod gradient: x - floor(x / y) * y
    return _binary("mod", a, b, lambda g, a, b, out: (g, -g * floordiv(a, b)))


def pow(x, y, name=None):  # noqa: A001
    from .math_ops import where

    def grad(g, a, b, out):
        ga = g * b * pow(a, b - 1.0)
        positive = greater(a, 0.0)
        gb = g * out * log(where(positive, a, 1.0))
        return ga, where(positive, gb, 0.0)
    return _binary("pow", x, y, grad)


def maximum(x, y, name=None):
    def grad(g, a, b, out):
        a_wins = greater_equal(a, b)
        return _select(a_wins, g, 0.0), _select(a_wins, 0.0, g)
    return _binary("maximum", x, y, grad)


def minimum(x, y, name=None):
    def grad(g, a, b, out):
        a_wins = less_equal(a, b)
        return _select(a_wins, g, 0.0), _select(a_wins, 0.0, g)
    return _binary("minimum", x, y, grad)


def _select(cond, a, b):
    from .math_ops import where
    return where(cond, a, b)


def _compare(op, x, y):
    return _binary(op, x, y, out_dtype=dtypes.bool_)


def equal(x, y, name=None):
    return _compare("equal", x, y)


def not_equal(x, y, name=None):
    return _compare("not_equal", x, y)


def less(x, y, name=None):
    return _compare("less", x, y)


def less_equal(x, y, name=None):
    return _compare("less_equal", x, y)


def greater(x, y, name=None):
    return _compare("greater", x, y)


def greater_equal(x, y, name=None):
    return _compare("greater_equal", x, y)


def _logical(op, x, y):
    x, y = tensor(x, dtypes.bool_) if not hasattr(x, "dtype") else x, tensor(y, dtypes.bool_) if not hasattr(y, "dtype") else y
    for t in (x, y):
        if t.dtype is not dtypes.bool_:
            raise InvalidArgumentError(f"{op}: expected bool tensors, got {t.dtype.name}")
    return _binary(op, x, y, out_dtype=dtypes.bool_)


def logical_and(x, y, name=None):
    return _logical("logical_and", x, y)


def logical_or(x, y, name=None):
    return _logical("logical_or", x, y)


def logical_xor(x, y, name=None):
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)))
