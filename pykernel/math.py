"""tf.math: elementwise math and reductions."""
from .ops import (  # noqa: F401
    abs, add, add_n, argmax, argmin, ceil, cos, divide, divide_no_nan, equal, erf, exp, expm1, floor,
    floordiv, floormod, greater, greater_equal, is_finite, is_nan, less, less_equal, log, log1p,
    logical_and, logical_not, logical_or, logical_xor, maximum, minimum, multiply, negative, not_equal,
    pow, reciprocal, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
    reduce_prod, reduce_std, reduce_sum, reduce_variance, round, rsqrt, sigmoid, sign, sin, sqrt,
    square, subtract, tanh, truediv,
)
from .ops.nn import softplus  # noqa: F401
from .ops.elementwise import floormod as mod  # noqa: F401
