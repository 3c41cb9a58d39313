"""Tensors from values: constant, zeros, ones, fill, range, ..."""
import math

from .. import backends, dtypes
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from .dispatch import tensor, wrap


def _shape(shape, op):
    if isinstance(shape, Tensor):
        shape = shape.tolist()
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{op}: shape must be a list of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"{op}: shape {dims} has a negative dimension")
    return dims


def constant(value, dtype=None, shape=None, name=None):
    """A tensor holding `value`; with `shape`, a scalar is filled out and a list reshaped."""
    from .shape import reshape
    from .math_ops import cast
    if isinstance(value, Tensor) or hasattr(value, "read_value"):
        t = convert_to_tensor(value)
        t = cast(t, dtype) if dtype is not None else t
    else:
        t = convert_to_tensor(value, dtype=dtype)
    if shape is None:
        return t
    shape = _shape(shape, "constant")
    if t.shape.num_elements() == 1 and math.prod(shape) != 1:
        return fill(shape, t.item(), dtype=t.dtype)
    if t.shape.num_elements() != math.prod(shape):
        raise InvalidArgumentError(f"constant: {t.shape.num_elements()} values cannot fill shape {shape}")
    return reshape(t, shape)


def fill(dims, value, name=None, dtype=None):
    shape = _shape(dims, "fill")
    if dtype is None:
        dtype = value.dtype if isinstance(value, Tensor) else convert_to_tensor(value).dtype
    dtype = dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        value = value.item()
    be = backends.default()
    return wrap(be.full(shape, dtype.python_type()(value), dtype), be, shape, dtype)


def zeros(shape, dtype=dtypes.float32, name=None):
    return fill(shape, 0, dtype=dtype)


def ones(shape, dtype=dtypes.float32, name=None):
    return fill(shape, 1, dtype=dtype)


def zeros_like(input, dtype=None, name=None):  # noqa: A002
    x = tensor(input)
    return _full_like(x, 0, dtype)


def ones_like(input, dtype=None, name=None):  # noqa: A002
    x = tensor(input)
    return _full_like(x, 1, dtype)


def _full_like(x, value, dtype):
    dtype = dtypes.as_dtype(dtype) if dtype is not None else x.dtype
    return wrap(x.backend.full(tuple(x.shape), dtype.python_type()(value), dtype), x.backend, x.shape, dtype)


def range(start, limit=None, delta=1, dtype=None, name=None):  # noqa: A001
    """tf.range: [start, limit) in steps of delta; `range(n)` counts from 0."""
    if limit is None:
        start, limit = 0, start
    start, limit, delta = (v.item() if isinstance(v, Tensor) else v for v in (start, limit, delta))
    if delta == 0:
        raise InvalidArgumentError("range: delta must not be 0")
    if dtype is None:
        dtype = dtypes.float32 if any(isinstance(v, float) for v in (start, limit, delta)) else dtypes.int32
    dtype = dtypes.as_dtype(dtype)
    count = max(0, math.ceil((limit - start) / delta))
    be = backends.default()
    return wrap(be.arange(start, delta, count, dtype), be, (count,), dtype)


def linspace(start, stop, num, name=None, axis=0):
    """`num` evenly spaced values from start to stop; the dtype of a tensor `start`, else float32."""
    dtype = next((v.dtype for v in (start, stop) if isinstance(v, Tensor)), dtypes.float32)
    if not dtype.is_floating:
        raise InvalidArgumentError(f"linspace: start and stop must be floating, got {dtype.name}")
    start, stop, num = (v.item() if isinstance(v, Tensor) else v for v in (start, stop, num))
    num = int(num)
    if num < 1:
        raise InvalidArgumentError(f"linspace: num must be >= 1, got {num}")
    step = (stop - start) / (num - 1) if num > 1 else 0.0
    be = backends.default()
    return wrap(be.arange(float(start), float(step), num, dtype), be, (num,), dtype)


def eye(num_rows, num_columns=None, dtype=dtypes.float32, name=None):
    from .elementwise import equal
    from .math_ops import cast
    from .shape import expand_dims
    num_columns = num_rows if num_columns is None else num_columns
    return cast(equal(expand_dims(range(num_rows), 1), range(num_columns)), dtype)
