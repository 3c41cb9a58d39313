"""Matrix multiplication (batched, broadcasting batch dimensions)."""
import math

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
    """Contract a and b over `axes`: an int N (the last N dims of a with the first N of b),
    or a pair of axis lists [a_axes, b_axes] (or of single ints), as tf.tensordot."""
    from .dispatch import normalize_axis
    from .shape import reshape, transpose
    a, b = tensors("tensordot", a, b)
    if isinstance(axes, int) or (hasattr(axes, "__index__") and not isinstance(axes, (list, tuple))):
        n = int(axes)
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise InvalidArgumentError(f"tensordot: axes={n} is out of range for shapes {tuple(a.shape)} "
                                       f"and {tuple(b.shape)}")
        a_axes, b_axes = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        if len(axes) != 2:
            raise InvalidArgumentError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}")
        a_axes, b_axes = ([v] if isinstance(v, int) else list(v) for v in axes)
        a_axes = [normalize_axis(int(v), a.ndim, "tensordot") for v in a_axes]
        b_axes = [normalize_axis(int(v), b.ndim, "tensordot") for v in b_axes]
    if len(a_axes) != len(b_axes) or any(a.shape[i] != b.shape[j] for i, j in zip(a_axes, b_axes)) \
            or len(set(a_axes)) != len(a_axes) or len(set(b_axes)) != len(b_axes):
        raise InvalidArgumentError(f"tensordot: shapes {tuple(a.shape)} and {tuple(b.shape)} do not match "
                                   f"over axes {a_axes} and {b_axes}")
    free_a = [i for i in range(a.ndim) if i not in a_axes]
    free_b = [i for i in range(b.ndim) if i not in b_axes]
    m, k, n = (math.prod(t.shape[i] for i in ax) for t, ax in ((a, free_a), (a, a_axes), (b, free_b)))
    a2 = reshape(transpose(a, free_a + a_axes), [m, k])
    b2 = reshape(transpose(b, b_axes + free_b), [k, n])
    out = matmul(a2, b2)
    return reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))
