"""tf.linalg."""
from .ops import eye, matmul, tensordot, transpose  # noqa: F401
from .ops import reduce_sum as _reduce_sum
from .ops import sqrt as _sqrt


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):  # noqa: A002
    if ord not in ("euclidean", 2, "fro") or (ord == 2 and axis is None):
        raise ValueError(f"norm: only the euclidean norm is supported, got ord={ord!r}")
    return _sqrt(_reduce_sum(tensor * tensor, axis, keepdims))


matrix_transpose = lambda a, name=None: transpose(a, list(range(a.ndim - 2)) + [a.ndim - 1, a.ndim - 2])  # noqa: E731
