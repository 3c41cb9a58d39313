"""Every public op, each defined once (forward from backend primitives, gradient rule beside it)."""
from .creation import constant, eye, fill, linspace, ones, ones_like, range, zeros, zeros_like  # noqa: F401
from .elementwise import (  # noqa: F401
    abs, add, ceil, cos, divide, divide_no_nan, equal, erf, exp, expm1, floor, floordiv, floormod,
    greater, greater_equal, is_finite, is_nan, less, less_equal, log, log1p, logical_and, logical_not,
    logical_or, logical_xor, maximum, minimum, multiply, negative, not_equal, pow, reciprocal, round,
    rsqrt, sigmoid, sign, sin, sqrt, square, subtract, tanh, truediv,
)
from .linalg import matmul, tensordot  # noqa: F401
from .math_ops import add_n, cast, clip_by_value, identity, stop_gradient, where  # noqa: F401
from .printing import print_ as print  # noqa: F401,A001
from .reduction import (  # noqa: F401
    argmax, argmin, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
    reduce_prod, reduce_std, reduce_sum, reduce_variance,
)
from .shape import (  # noqa: F401
    broadcast_to, concat, expand_dims, gather, getitem, one_hot, pad, rank, reshape, reverse, shape,
    size, slice, split, squeeze, stack, tile, transpose, unstack,
)

import types as _types

# `from .ops import *` in pykernel/__init__.py must export the ops only, not this package's
# submodules (ops.linalg, ops.nn, ops.random would shadow tf.linalg, tf.nn, tf.random).
__all__ = sorted(name for name, value in dict(globals()).items()
                 if not name.startswith("_") and not isinstance(value, _types.ModuleType))
