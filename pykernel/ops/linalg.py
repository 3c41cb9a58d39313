"""Matrix multiplication (batched, broadcasting batch dimensions)."""
from ..errors import InvalidArgumentError
from .dispatch import broadcast_shapes, is_recording, record, tensors, wrap
from .elementwise import unbroadcast


def matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unsupported):
    if any(unsupported.values()):
        raise InvalidArgumentError(f"matmul: unsupported arguments {sorted(unsupported)}")
    a, b = tensors("matmul", a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise InvalidArgumentError(f"matmul: both inputs need rank >= 2, got shapes "
                                   f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype.is_bool:
        raise InvalidArgumentError("matmul: bool tensors cannot be multiplied")
    m, k = (a.shape[-1], a.shape[-2]) if transpose_a else (a.shape[-2], a.shape[-1])
    k2, n = (b.shape[-1], b.shape[-2]) if transpose_b else (b.shape[-2], b.shape[-1])
    if k != k2:
        raise InvalidArgumentError(
            f"matmul: inner dimensions do not match: a has shape {tuple(a.shape)}"
            f"{' (transposed)' if transpose_a else ''} and b has shape {tuple(b.shape)}"
            f"{' (transposed)' if transpose_b else ''}: {k} != {k2}")
    batch = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    shape = tuple(batch) + (m, n)
    out = wrap(a.backend.matmul(a._buf, b._buf, transpose_a, transpose_b), a.backend, shape, a.dtype)
    if a.dtype.is_floating and is_recording():
        def backward(g):
            if transpose_a:
                ga = matmul(b, g, transpose_a=transpose_b, transpose_b=True)
            else:
                ga = matmul(g, b, transpose_b=not transpose_b)
            if transpose_b:
                gb = matmul(g, a, transpose_a=True, transpose_b=transpose_a)
            else:
                gb = matmul(a, g, transpose_a=not transpose_a)
            return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)
        record((a, b), out, backward)
    return out


def tensordot(a, b, axes, name=None):
    """Contract the last `axes` dims of a with the first of b (int axes only)."""
    from .shape import reshape
    a, b = tensors("tensordot", a, b)
    if not isinstance(axes, int):
        raise InvalidArgumentError("tensordot: only an integer `axes` is supported")
    if tuple(a.shape[a.ndim - axes:]) != tuple(b.shape[:axes]):
        raise InvalidArgumentError(f"tensordot: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                                   f"match over {axes} axes")
    free_a, free_b = a.shape[:a.ndim - axes], b.shape[axes:]
    k = b.shape[:axes].num_elements()
    out = matmul(reshape(a, [-1, k]) if free_a else reshape(a, [1, k]),
                 reshape(b, [k, -1]) if free_b else reshape(b, [k, 1]))
    return reshape(out, tuple(free_a) + tuple(free_b))
