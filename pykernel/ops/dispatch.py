"""What every op shares: converting arguments, checking them, wrapping backend results."""
from .. import dtypes
from ..autodiff import record, is_recording  # noqa: F401  (re-exported for op modules)
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor


def wrap(buf, backend, shape=None, dtype=None):
    return Tensor(buf, backend, shape, dtype)


def tensor(x, dtype=None):
    return convert_to_tensor(x, dtype=dtype)


def _has_dtype(x):
    return isinstance(x, Tensor) or (hasattr(x, "read_value") and hasattr(x, "dtype")) or \
        (type(x).__module__ == "numpy" and hasattr(x, "dtype"))


def tensors(op, *values):
    """Convert op inputs; Python literals take the dtype of the first real tensor.

    Inputs must share one dtype and one device: the error names the op and both.
    """
    hint = next((v.dtype for v in values if isinstance(v, Tensor) or
                 (hasattr(v, "read_value") and hasattr(v, "dtype"))), None)
    if hint is None:
        hint = next((dtypes.as_dtype(v.dtype.name) for v in values if _has_dtype(v)), None)
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif _has_dtype(v) and hint is not None and type(v).__module__ == "numpy":
            # NumPy operands follow the tensor's dtype, as TF's operator overloads do
            out.append(convert_to_tensor(v, dtype=hint))
        else:
            out.append(convert_to_tensor(v, dtype_hint=hint))
    first = out[0]
    for i, t in enumerate(out[1:], 1):
        if t.dtype is not first.dtype:
            raise InvalidArgumentError(
                f"{op}: dtype mismatch: input 0 is {first.dtype.name} with shape {tuple(first.shape)}, "
                f"input {i} is {t.dtype.name} with shape {tuple(t.shape)}; "
                "convert one with tf.cast")
        if t.backend is not first.backend:
            raise InvalidArgumentError(
                f"{op}: inputs live on different devices ({first.device} and {t.device}); "
                "move one with tf.identity inside `with tf.device(...)`")
    return out


def broadcast_shapes(op, *shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            shown = " and ".join(str(tuple(s)) for s in shapes)
            raise InvalidArgumentError(f"{op}: incompatible shapes {shown}: they cannot be broadcast together")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def normalize_axis(axis, rank, op="op"):
    if isinstance(axis, Tensor):
        axis = axis.item()
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise InvalidArgumentError(f"{op}: axis must be an int, got {axis!r}")
    if not -rank <= axis < max(rank, 1):
        raise InvalidArgumentError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % max(rank, 1)


def normalize_axes(axis, rank, op="op"):
    """Sorted unique axes; None means all."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, Tensor):
        axis = axis.tolist()
    if isinstance(axis, (list, tuple)):
        return tuple(sorted({normalize_axis(a, rank, op) for a in axis}))
    return (normalize_axis(axis, rank, op),)


def check_float(op, x):
    if not x.dtype.is_floating:
        raise InvalidArgumentError(f"{op}: expected a floating-point tensor, got {x.dtype.name} "
                                   f"with shape {tuple(x.shape)}; convert it with tf.cast")
