"""Seeded random tensors from a counter-based generator (Philox), identical on every backend.

Seeding follows TF: with neither a global nor an op seed, values are fresh each run;
after `set_seed`, the sequence of random ops is reproducible; an op seed fixes that op's
stream (each call still advances it, like TF's eager kernels).
"""
import math
import os

from .. import backends, dtypes
from ..errors import InvalidArgumentError
from .creation import _shape
from .dispatch import wrap

_DEFAULT_GLOBAL_SEED = 87654321
_global_seed = None
_op_counter = 0
_stream_calls = {}


def set_seed(seed):
    global _global_seed, _op_counter
    _global_seed = None if seed is None else int(seed)
    _op_counter = 0
    _stream_calls.clear()


def get_global_seed():
    return _global_seed


class RandomStream:
    """Where one random op draws from: a Philox key and the calls made on it so far.

    Its seed is fixed when the op is created (at each eager call, or once when a function
    is traced), and every draw takes the next window of the stream: a traced random op
    gives fresh numbers at every replay, reproducibly after `set_seed`, as TF's stateful
    kernels do. With neither a global nor an op seed, each draw takes fresh OS entropy."""

    __slots__ = ("seed", "key")

    def __init__(self, seed):
        global _op_counter
        self.seed = seed
        if _global_seed is None and seed is None:
            self.key = None
            return
        if seed is None:
            _op_counter += 1
            op_seed = _op_counter
        else:
            op_seed = int(seed)
        global_seed = _DEFAULT_GLOBAL_SEED if _global_seed is None else _global_seed
        self.key = (global_seed & 0xFFFFFFFF, op_seed & 0xFFFFFFFF)

    def next(self):
        """(key, offset) of the next draw."""
        if self.key is None:
            entropy = int.from_bytes(os.urandom(8), "little")
            return (entropy & 0xFFFFFFFF, entropy >> 32), 0
        calls = _stream_calls.get(self.key, 0)
        _stream_calls[self.key] = calls + 1
        return self.key, calls << 32  # each call reads a fresh 2**32-block window of the stream


def _uniform01(shape, seed):
    be = backends.default()
    stream = RandomStream(seed)
    draw = getattr(be, "random_uniform_from", None)   # a tracer records the stream itself
    if draw is not None:
        return wrap(draw(shape, stream), be, shape, dtypes.float32)
    key, offset = stream.next()
    return wrap(be.random_uniform(shape, key, offset), be, shape, dtypes.float32)


def _check_float(op, dtype):
    if not dtype.is_floating:
        raise InvalidArgumentError(f"{op}: dtype must be floating, got {dtype.name}")


def uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    from .elementwise import floor
    from .math_ops import cast
    shape = _shape(shape, "random.uniform")
    dtype = dtypes.as_dtype(dtype)
    u = _uniform01(shape, seed)
    if dtype.is_integer:
        if maxval is None:
            raise InvalidArgumentError("random.uniform: maxval is required for integer dtypes")
        if maxval <= minval:
            raise InvalidArgumentError(f"random.uniform: need minval < maxval, got {minval} and {maxval}")
        return cast(floor(u * float(maxval - minval)), dtype) + minval
    maxval = 1.0 if maxval is None else maxval
    out = cast(u, dtype) if dtype is not dtypes.float32 else u
    return out * (maxval - minval) + minval if (minval, maxval) != (0, 1.0) else out


def normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Box-Muller over two uniform streams."""
    from .elementwise import cos, log, sqrt
    from .math_ops import cast
    from .shape import reshape, split
    shape = _shape(shape, "random.normal")
    dtype = dtypes.as_dtype(dtype)
    _check_float("random.normal", dtype)
    n = math.prod(shape)
    u = _uniform01((2, n), seed)
    u1, u2 = split(u, 2, axis=0)
    z = sqrt(-2.0 * log(1.0 - u1)) * cos(u2 * (2.0 * math.pi))  # 1 - u1 lies in (0, 1]
    z = cast(reshape(z, shape), dtype)
    return z * stddev + mean if (mean, stddev) != (0.0, 1.0) else z


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal values redrawn (a fixed number of rounds, no host sync) until within 2 stddev."""
    from .elementwise import abs as abs_, greater
    from .math_ops import clip_by_value, where
    z = normal(shape, dtype=dtype, seed=seed)
    for round_index in range(6):
        redraw = normal(shape, dtype=dtype, seed=None if seed is None else seed + 1000003 * (round_index + 1))
        z = where(greater(abs_(z), 2.0), redraw, z)
    z = clip_by_value(z, -2.0, 2.0)  # after 6 redraws a miss has probability ~1e-9
    return z * stddev + mean


def shuffle(value, seed=None, name=None):
    """A random permutation along axis 0 (the order is drawn on the host)."""
    from .dispatch import tensor
    from .shape import gather
    x = tensor(value)
    keys = _uniform01((x.shape[0],), seed).tolist()
    order = sorted(range(x.shape[0]), key=keys.__getitem__)
    return gather(x, order, axis=0)
