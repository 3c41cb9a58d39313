"""Reductions along any set of axes, and arg-reductions."""
from .. import dtypes
from ..errors import InvalidArgumentError
from .dispatch import is_recording, normalize_axes, normalize_axis, record, tensor, wrap


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _expand_to(g, x_shape, axes):
    """Broadcast a reduced gradient back over the reduced axes."""
    from .shape import broadcast_to, reshape
    kept = tuple(1 if i in axes else d for i, d in enumerate(x_shape))
    return broadcast_to(reshape(g, kept), x_shape)


def _reduce(op, x, axis, keepdims, grad=None):
    x = tensor(x)
    axes = normalize_axes(axis, x.ndim, f"reduce_{op}")
    shape = _reduced_shape(x.shape, axes, keepdims)
    out_dtype = dtypes.bool_ if op in ("any", "all") else x.dtype
    if op in ("max", "min") and any(x.shape[a] == 0 for a in axes):
        raise InvalidArgumentError(f"reduce_{op}: cannot reduce an empty axis of shape {tuple(x.shape)}")
    out = wrap(x.backend.reduce(op, x._buf, axes, keepdims), x.backend, shape, out_dtype)
    if grad is not None and x.dtype.is_floating and is_recording():
        record((x,), out, lambda g: (grad(g, x, out, axes),))
    return out


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("sum", input_tensor, axis, keepdims,
                   lambda g, x, y, axes: _expand_to(g, x.shape, axes))


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    x = tensor(input_tensor)
    axes = normalize_axes(axis, x.ndim, "reduce_mean")
    count = 1
    for a in axes:
        count *= x.shape[a]
    total = reduce_sum(x, axes, keepdims)
    if x.dtype.is_integer:  # integer division truncating toward zero, as TF's integer mean
        divisor = x.backend.full((), max(count, 1), x.dtype)
        return wrap(x.backend.binary("div", total._buf, divisor), x.backend, total.shape, x.dtype)
    return total / float(count) if count else total * float("nan")


def _extremum_grad(g, x, y, axes):
    """Ties share the gradient equally, as in TF and PyTorch."""
    from .elementwise import equal
    from .math_ops import cast
    y_full = _expand_to(y, x.shape, axes)
    hits = cast(equal(x, y_full), x.dtype)
    share = _expand_to(g, x.shape, axes) / _expand_to(reduce_sum(hits, axes), x.shape, axes)
    return hits * share


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("max", input_tensor, axis, keepdims, _extremum_grad)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("min", input_tensor, axis, keepdims, _extremum_grad)


def _prod_grad(g, x, y, axes):
    """Product of the other elements, without dividing by zero (exact when x has zeros)."""
    from .elementwise import equal
    from .math_ops import cast, where
    zero = equal(x, 0.0)
    zeros = reduce_sum(cast(zero, x.dtype), axes, keepdims=True)
    prod_nonzero = reduce_prod(where(zero, 1.0, x), axes, keepdims=True)
    others = where(zero, where(equal(zeros, 1.0), prod_nonzero, 0.0),
                   where(equal(zeros, 0.0), prod_nonzero / where(zero, 1.0, x), 0.0))
    return _expand_to(g, x.shape, axes) * others


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("prod", input_tensor, axis, keepdims, _prod_grad)


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("any", tensor(input_tensor, dtypes.bool_) if not hasattr(input_tensor, "dtype")
                   else input_tensor, axis, keepdims)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("all", tensor(input_tensor, dtypes.bool_) if not hasattr(input_tensor, "dtype")
                   else input_tensor, axis, keepdims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    from .elementwise import exp, is_finite, log
    from .math_ops import stop_gradient, where
    x = tensor(input_tensor)
    m = stop_gradient(reduce_max(x, axis, keepdims=True))
    m = where(is_finite(m), m, 0.0)  # an all -inf slice gives -inf, not NaN (as TF)
    out = log(reduce_sum(exp(x - m), axis, keepdims=True)) + m
    if keepdims:
        return out
    from .shape import reshape
    axes = normalize_axes(axis, x.ndim)
    return reshape(out, _reduced_shape(x.shape, axes, False))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    x = tensor(input_tensor)
    mean = reduce_mean(x, axis, keepdims=True)
    return reduce_mean((x - mean) * (x - mean), axis, keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    from .elementwise import sqrt
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def _arg_reduce(op, x, axis, output_type):
    x = tensor(x)
    if x.ndim == 0:
        raise InvalidArgumentError(f"{op}: needs a tensor of rank >= 1, got a scalar")
    axis = normalize_axis(0 if axis is None else axis, x.ndim, op)
    if x.shape[axis] == 0:
        raise InvalidArgumentError(f"{op}: axis {axis} of shape {tuple(x.shape)} is empty")
    output_type = dtypes.as_dtype(output_type)
    if output_type not in (dtypes.int32, dtypes.int64):
        raise InvalidArgumentError(f"{op}: output_type must be int32 or int64, got {output_type.name}")
    shape = tuple(d for i, d in enumerate(x.shape) if i != axis)
    return wrap(x.backend.arg_reduce(op, x._buf, axis, output_type), x.backend, shape, output_type)


def argmax(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    return _arg_reduce("argmax", input, axis, output_type)


def argmin(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    return _arg_reduce("argmin", input, axis, output_type)
