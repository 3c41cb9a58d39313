"""Value checks that ops make where TF raises from inside a kernel: a class label or an
index out of range, an integer division by zero. Without them those are silent wrong
answers (a zero loss, a wrapped index, a 0 quotient).

Each check reduces the input to a few integers on its own device (min and max); the
backend raises when they fail: at once on the CPU, at the next read on the GPU
(Backend.check_values), so a guarded training step needs no extra host round trip.
"""
import math

from .. import dtypes


def _extremes(x):
    """[min, max] of an integer tensor as one int32 (int64 for int64) buffer of x's device."""
    be = x.backend
    axes = tuple(range(x.ndim))
    parts = [be.reshape(be.reduce(op, x._buf, axes, False), (1,)) for op in ("min", "max")]
    both = be.concat(parts, 0)
    return both if x.dtype in (dtypes.int32, dtypes.int64) else be.cast(both, dtypes.int32)


def check_in_range(x, low, high, describe, error=None):
    """Raise `error` (InvalidArgumentError) with describe(value) if an element of the integer
    tensor `x` lies outside [low, high); `value` is the smallest (if below) or the largest
    offender."""
    if math.prod(x.shape) == 0:
        return

    def failure(extremes):
        smallest, largest = extremes
        if smallest < low:
            return describe(smallest)
        if largest >= high:
            return describe(largest)
        return None
    x.backend.check_values(_extremes(x), failure, error)


def check_nonzero_divisor(op, divisor, y):
    """Integer floor division and modulo by zero raise, as TF's CPU kernels do. `y` is the
    divisor as converted for the op, `divisor` as given (a Python literal is checked here,
    without a reduction on the device)."""
    if not y.dtype.is_integer or math.prod(y.shape) == 0:
        return
    message = (f"{op}: integer division by zero (the divisor has a zero element); "
               "use tf.math.divide_no_nan or floats for a result at zero divisors")
    if isinstance(divisor, int):
        if divisor == 0:
            from ..errors import InvalidArgumentError
            raise InvalidArgumentError(message)
        return
    be = y.backend
    nonzero = be.cast(be.binary("not_equal", y._buf, be.full((), 0, y.dtype)), dtypes.int32)
    smallest = be.reshape(be.reduce("min", nonzero, tuple(range(y.ndim)), False), (1,))
    be.check_values(smallest, lambda values: message if values[0] == 0 else None)
