"""where, cast, clipping, identity and friends."""
from .. import backends, dtypes
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .dispatch import broadcast_shapes, is_recording, record, tensor, tensors, wrap
from .elementwise import maximum, minimum, unbroadcast


def where(condition, x=None, y=None, name=None):
    """Pick from x where condition is true, else from y (broadcasting); with only a
    condition, return the int64 coordinates of its true elements (a sync point)."""
    cond = tensor(condition, dtypes.bool_) if not isinstance(condition, Tensor) else condition
    if cond.dtype is not dtypes.bool_:
        raise InvalidArgumentError(f"where: condition must be bool, got {cond.dtype.name}")
    if x is None and y is None:
        return _true_coordinates(cond)
    if x is None or y is None:
        raise ValueError("where: x and y must both be given, or neither")
    x, y = tensors("where", x, y)
    shape = broadcast_shapes("where", cond.shape, x.shape, y.shape)
    out = wrap(x.backend.where(cond._buf, x._buf, y._buf), x.backend, shape, x.dtype)
    if x.dtype.is_floating and is_recording():
        def backward(g):
            zero = 0.0
            return (None, unbroadcast(where(cond, g, zero), x.shape),
                    unbroadcast(where(cond, zero, g), y.shape))
        record((cond, x, y), out, backward)
    return out


def _true_coordinates(cond):
    from .creation import constant
    flat = cond.backend.to_list(cond._buf)
    shape = tuple(cond.shape)
    coords = []
    for i, v in enumerate(flat):
        if v:
            c = []
            for d in reversed(shape):
                c.append(i % d)
                i //= d
            coords.append(c[::-1])
    return constant(coords, dtype=dtypes.int64, shape=(len(coords), len(shape)))


def cast(x, dtype, name=None):
    x = tensor(x)
    dtype = dtypes.as_dtype(dtype)
    if x.dtype is dtype:
        return x
    out = wrap(x.backend.cast(x._buf, dtype), x.backend, x.shape, dtype)
    if x.dtype.is_floating and dtype.is_floating and is_recording():
        record((x,), out, lambda g: (cast(g, x.dtype),))
    return out


def identity(x, name=None):
    """The same value; inside `with tf.device(d)` a copy on device d (how tensors move)."""
    x = tensor(x)
    out = _on_backend(x, backends.scoped() or x.backend)
    if is_recording():
        source = x.backend
        record((x,), out, lambda g: (_on_backend(g, source),))
    return out


def _on_backend(x, backend):
    buf = x._buf if backend is x.backend else backends.copy_to(x._buf, x.backend, backend)
    return wrap(buf, backend, x.shape, x.dtype)


def stop_gradient(x, name=None):
    """The same value, invisible to every GradientTape."""
    x = tensor(x)
    return wrap(x._buf, x.backend, x.shape, x.dtype)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    t = tensor(t)
    return minimum(maximum(t, clip_value_min), clip_value_max)


def add_n(inputs, name=None):
    if not inputs:
        raise ValueError("add_n: needs at least one input")
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return tensor(total)
