"""A pure-Python backend: every primitive on flat Python lists, standard library only.

It is the fallback where NumPy is absent (Pyodide offline, a minimal CPython) and is meant
for small models. Results match the NumPy backend: float32 values are rounded to float32
after every primitive (through `array('f')`), float64 values are Python floats, integer
`div` truncates toward zero, floordiv/mod floor, NaN and inf follow IEEE/NumPy (no
exceptions) and integers wrap around to their dtype's range.

A buffer (`PyBuffer`) holds a flat row-major list, the shape tuple and the DType. Buffers
are never mutated after creation, so lists are shared freely (reshape is free).
NumPy is imported only by `to_numpy`, which by definition returns a NumPy array.
"""
import math
import operator
import struct
import sys
from array import array
from itertools import repeat

from .base import (Backend, optimizer_constants, optimizer_step, warp_interpolate,
                   warp_source)
from .. import dtypes

_INF = math.inf
_NAN = math.nan
_U32 = 0xFFFFFFFF
_PHILOX_M0, _PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
_PHILOX_W0, _PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
_TWO_M24 = 2.0 ** -24
_BIG_ENDIAN = sys.byteorder == "big"
_COMPARISONS = {
    "equal": operator.eq, "not_equal": operator.ne, "less": operator.lt,
    "less_equal": operator.le, "greater": operator.gt, "greater_equal": operator.ge,
}


class PyBuffer:
    """A flat row-major list of Python scalars with its shape and dtype."""

    __slots__ = ("data", "shape", "dtype")

    def __init__(self, data, shape, dtype):
        self.data = data
        self.shape = tuple(shape)
        self.dtype = dtype

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        return f"PyBuffer(shape={self.shape}, dtype={self.dtype.name}, data={self.data[:8]}" \
               f"{'...' if len(self.data) > 8 else ''})"


# ---------------------------------------------------------------- helpers

def _prod(shape):
    return math.prod(shape)


def _round32(values):
    """Round Python floats to float32 (IEEE round-to-nearest-even; overflow gives inf)."""
    return array("f", values).tolist()


_F32 = struct.Struct("f")


def _round32_scalar(value):
    """One Python float rounded to float32 (the fused primitives' per-element loops)."""
    try:
        return _F32.unpack(_F32.pack(value))[0]
    except OverflowError:  # rounds beyond the largest float32
        return math.copysign(_INF, value)


def _scalar_rounder(dtype):
    return _round32_scalar if dtype is dtypes.float32 else float


def _wrap_int(values, dtype):
    """Two's-complement wrap-around into the dtype's range (only when something is out)."""
    if values:
        lo, hi = dtype.min, dtype.max
        if min(values) < lo or max(values) > hi:
            span = hi - lo + 1
            return [(v - lo) % span + lo for v in values]
    return values


def _finish(values, dtype):
    """Coerce freshly computed values (of the right Python type) to the dtype's range."""
    if dtype is dtypes.float32:
        return _round32(values)
    if dtype.kind == "f":
        return values
    if dtype.kind == "b":
        return [bool(v) for v in values]
    return _wrap_int(values, dtype)


def _float_to_int(v, dtype):
    """NumPy's float -> int cast: truncate; NaN/inf (undefined in C) give the dtype's min."""
    return int(v) if v - v == 0 else dtype.min


def _convert(values, dtype):
    """Python numbers of any kind -> values of `dtype` (like ndarray.astype)."""
    kind = dtype.kind
    if dtype is dtypes.float32:
        return _round32([float(v) for v in values])
    if kind == "f":
        return [float(v) for v in values]
    if kind == "b":
        return [v != 0 for v in values]
    return _wrap_int([v if type(v) is int else (_float_to_int(v, dtype) if isinstance(v, float) else int(v))
                      for v in values], dtype)


def _scalar(value, dtype):
    if hasattr(value, "item"):  # a Tensor or NumPy scalar
        value = value.item()
    return _convert([value], dtype)[0]


def _zero(dtype):
    return {"f": 0.0, "b": False}.get(dtype.kind, 0)


def _strides(shape):
    out = [1] * len(shape)
    acc = 1
    for i in range(len(shape) - 1, -1, -1):
        out[i] = acc
        acc *= shape[i]
    return out


def _index_map(shape, strides, offset=0):
    """Flat source index of every element of `shape` (row-major), where axis i moves by strides[i]."""
    idx = [offset]
    for d, s in zip(shape, strides):
        if d == 1:
            continue
        if d == 0:
            return []
        steps = [k * s for k in range(d)]
        idx = [i + t for i in idx for t in steps]
    return idx


def _take(data, idx):
    return list(map(data.__getitem__, idx))


def _broadcast_shape(*shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        d = 1
        for s in shapes:
            j = i - rank + len(s)
            if j >= 0 and s[j] != 1:
                d = s[j]
        out.append(d)
    return tuple(out)


def _expand(data, shape, out_shape):
    """`data` of `shape` broadcast to `out_shape`, as a flat list."""
    shape, out_shape = tuple(shape), tuple(out_shape)
    if shape == out_shape:
        return data
    n_out = _prod(out_shape)
    n_in = len(data)
    if n_in == 1:
        return data * n_out
    if n_out == 0:
        return []
    aligned = (1,) * (len(out_shape) - len(shape)) + shape
    # shape == the trailing dims of out_shape: the whole buffer repeats
    lead = 0
    while lead < len(aligned) and aligned[lead] == 1:
        lead += 1
    if aligned[lead:] == out_shape[lead:]:
        return data * (n_out // n_in)
    in_strides = _strides(aligned)
    strides = [0 if a == 1 else s for a, s in zip(aligned, in_strides)]
    return _take(data, _index_map(out_shape, strides))


def _move_axes_last(x, axes):
    """(flat list, kept shape) with the kept axes first and `axes` last, in order."""
    shape = x.shape
    nd = len(shape)
    kept = [i for i in range(nd) if i not in axes]
    perm = kept + list(axes)
    data = x.data
    if perm != list(range(nd)):
        st = _strides(shape)
        data = _take(data, _index_map([shape[p] for p in perm], [st[p] for p in perm]))
    return data, [shape[i] for i in kept]


def _has_nan(values):
    return any(map(math.isnan, values))


# ---------------------------------------------------------------- unary helpers

def _exp_slow(t):
    if t != t:
        return t
    try:
        return math.exp(t)
    except OverflowError:
        return _INF


def _log_slow(t):
    if t == 0:
        return -_INF
    return _NAN  # negative, -inf or NaN


def _sign_f(t):
    return 1.0 if t > 0 else (-1.0 if t < 0 else (0.0 if t == 0 else t))


def _u_float(op, v, dtype):
    """Unary op on float values; the result still needs rounding to the dtype."""
    exp, sqrt, copysign = math.exp, math.sqrt, math.copysign
    if op == "neg":
        return [-t for t in v]
    if op == "exp":
        return [exp(t) if t < 709.0 else _exp_slow(t) for t in v]
    if op == "log":
        log = math.log
        return [log(t) if t > 0 else _log_slow(t) for t in v]
    if op == "sqrt":
        return [sqrt(t) if t >= 0 else _NAN for t in v]
    if op == "rsqrt":  # 1 / sqrt(x), each step in the dtype (as NumPy does)
        s = _finish([sqrt(t) if t >= 0 else _NAN for t in v], dtype)
        return [1.0 / t if t else copysign(_INF, t) for t in s]
    if op == "abs":
        return list(map(abs, v))
    if op == "sign":
        return [_sign_f(t) for t in v]
    if op == "tanh":
        return list(map(math.tanh, v))
    if op == "sigmoid":  # exp of non-positive numbers only; each step in the dtype
        e = _finish([exp(-abs(t)) if t == t else t for t in v], dtype)
        d = _finish([1.0 + t for t in e], dtype)
        return [(1.0 / dd if t >= 0 else ee / dd) for t, ee, dd in zip(v, e, d)]
    if op == "erf":
        return list(map(math.erf, v))
    if op == "sin":
        sin = math.sin
        return [sin(t) if t - t == 0 else _NAN for t in v]
    if op == "cos":
        cos = math.cos
        return [cos(t) if t - t == 0 else _NAN for t in v]
    if op == "floor":
        floor = math.floor
        return [copysign(floor(t), t) if t - t == 0 else t for t in v]
    if op == "ceil":
        ceil = math.ceil
        return [copysign(ceil(t), t) if t - t == 0 else t for t in v]
    if op == "round":  # half to even, like np.round / rint
        return [copysign(round(t), t) if t - t == 0 else t for t in v]
    if op == "reciprocal":
        return [1.0 / t if t else copysign(_INF, t) for t in v]
    raise ValueError(f"unknown unary op {op!r}")


# ---------------------------------------------------------------- binary helpers

def _fdiv_safe(x, y):
    if y:
        return x / y
    if x != x or x == 0:
        return _NAN
    return math.copysign(_INF, x) * math.copysign(1.0, y)


def _ftruncdiv_int(x, y):
    if not y:
        return 0  # NumPy gives an undefined value here
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _ffloordiv_safe(x, y):
    return x // y if y else _fdiv_safe(x, y)


def _fmod_safe(x, y):
    return x % y if y else _NAN


def _is_odd_int(y):
    return y - y == 0 and y == math.floor(y) and math.floor(y) % 2 == 1


def _fpow_safe(x, y):
    try:
        return math.pow(x, y)
    except OverflowError:
        return -_INF if x < 0 and _is_odd_int(y) else _INF
    except ValueError:
        if x == 0:  # 0 ** negative
            return math.copysign(_INF, x) if _is_odd_int(y) else _INF
        return _NAN  # negative ** non-integer


def _ipow(x, y):
    if y >= 0:
        return pow(x, y, 1 << 64)  # NumPy wraps around; this keeps huge exponents cheap
    return 1 if x == 1 else ((-1 if y % 2 else 1) if x == -1 else 0)


def _binary_values(op, A, B, dtype):
    """Elementwise op on equally long lists of one dtype's values."""
    is_float = dtype.kind == "f"
    if op == "add":
        return list(map(operator.add, A, B))
    if op == "sub":
        return list(map(operator.sub, A, B))
    if op == "mul":
        return list(map(operator.mul, A, B))
    if op == "div":
        if is_float:
            try:
                return list(map(operator.truediv, A, B))
            except ZeroDivisionError:
                return list(map(_fdiv_safe, A, B))
        return list(map(_ftruncdiv_int, A, B))
    if op == "floordiv":
        if is_float:
            try:
                return list(map(operator.floordiv, A, B))
            except ZeroDivisionError:
                return list(map(_ffloordiv_safe, A, B))
        try:
            return list(map(operator.floordiv, A, B))
        except ZeroDivisionError:
            return [x // y if y else 0 for x, y in zip(A, B)]
    if op == "mod":
        if is_float:
            try:
                return list(map(operator.mod, A, B))
            except ZeroDivisionError:
                return list(map(_fmod_safe, A, B))
        try:
            return list(map(operator.mod, A, B))
        except ZeroDivisionError:
            return [x % y if y else 0 for x, y in zip(A, B)]
    if op == "pow":
        if is_float:
            try:
                return list(map(math.pow, A, B))
            except (ValueError, OverflowError):
                return list(map(_fpow_safe, A, B))
        return list(map(_ipow, A, B))
    if op == "maximum":
        if is_float:  # NaN propagates; ties give b (NumPy's choice, visible for -0.0 vs 0.0)
            return [x if x > y or x != x else y for x, y in zip(A, B)]
        return list(map(max, A, B))
    if op == "minimum":
        if is_float:
            return [x if x < y or x != x else y for x, y in zip(A, B)]
        return list(map(min, A, B))
    raise ValueError(f"unknown binary op {op!r}")


# ---------------------------------------------------------------- reductions

def _reduce_chunks(op, chunks, dtype, nan_possible):
    kind = dtype.kind
    if op == "sum":
        start = 0.0 if kind == "f" else 0
        return [sum(c, start) for c in chunks]
    if op == "prod":
        start = 1.0 if kind == "f" else 1
        return [math.prod(c, start=start) for c in chunks]
    if op == "any":
        return [any(c) for c in chunks]
    if op == "all":
        return [all(c) for c in chunks]
    fn = max if op == "max" else min
    if any(not c for c in chunks):
        raise ValueError(f"zero-size array to reduction operation {op} which has no identity")
    if nan_possible:
        return [_NAN if _has_nan(c) else fn(c) for c in chunks]
    return [fn(c) for c in chunks]


def _first_arg(op, c, nan_possible):
    if not c:
        raise ValueError(f"attempt to get {op} of an empty sequence")
    if nan_possible:
        for i, v in enumerate(c):
            if v != v:
                return i
    return c.index(max(c) if op == "argmax" else min(c))


# ---------------------------------------------------------------- Philox

def philox_uniform(n, key, offset):
    """The first `n` float32 uniforms of the Philox-4x32-10 stream (see Backend.random_uniform).

    Vectorised over blocks: each round is a handful of C-level `map`s over all counters.
    """
    blocks = (n + 3) // 4
    c0 = list(range(blocks))
    c1 = [offset & _U32] * blocks
    c2 = [(offset >> 32) & _U32] * blocks
    c3 = [0] * blocks
    k0, k1 = key[0] & _U32, key[1] & _U32
    xor = operator.xor
    shift32 = (32).__rrshift__  # h -> h >> 32
    low32 = _U32.__and__
    for round_index in range(10):
        p0 = list(map(_PHILOX_M0.__mul__, c0))
        p1 = list(map(_PHILOX_M1.__mul__, c2))
        c0, c1, c2, c3 = (list(map(k0.__xor__, map(xor, map(shift32, p1), c1))),
                          list(map(low32, p1)),
                          list(map(k1.__xor__, map(xor, map(shift32, p0), c3))),
                          list(map(low32, p0)))
        if round_index < 9:
            k0 = (k0 + _PHILOX_W0) & _U32
            k1 = (k1 + _PHILOX_W1) & _U32
    words = [w for quad in zip(c0, c1, c2, c3) for w in quad]
    del words[n:]
    return [(w >> 8) * _TWO_M24 for w in words]  # exact in float32


# ---------------------------------------------------------------- the backend

_TYPECODES = {"float32": "f", "float64": "d", "int64": "q", "uint8": "B", "bool": "B",
              "int32": "i" if array("i").itemsize == 4 else "l"}


class PythonBackend(Backend):
    """Every primitive in pure Python (standard library only)."""

    name = "cpu"
    device_name = "CPU:0"

    # -- transfer --
    def from_list(self, flat, shape, dtype):
        return PyBuffer(_convert(list(flat), dtype), shape, dtype)

    def from_bytes(self, data, shape, dtype):
        arr = array(_TYPECODES[dtype.name])
        arr.frombytes(data.tobytes() if isinstance(data, array) else bytes(data))
        if _BIG_ENDIAN and arr.itemsize > 1:
            arr.byteswap()
        values = arr.tolist()
        if dtype.is_bool:
            values = [v != 0 for v in values]
        return PyBuffer(values, shape, dtype)

    def from_numpy(self, array_, dtype):
        # duck-typed: works on an ndarray without importing NumPy here
        values = array_.astype(dtype.name).reshape(-1).tolist()
        return PyBuffer(_convert(values, dtype), tuple(array_.shape), dtype)

    def to_list(self, x):
        return list(x.data)

    host_values = to_list   # the values are on the host already: not a device read

    def to_numpy(self, x):
        import numpy  # only reached when a NumPy array is explicitly asked for
        return numpy.array(x.data, dtype=x.dtype.name).reshape(x.shape)

    def shape(self, x):
        return x.shape

    def dtype(self, x):
        return x.dtype

    # -- creation --
    def full(self, shape, value, dtype):
        return PyBuffer([_scalar(value, dtype)] * _prod(shape), shape, dtype)

    def arange(self, start, delta, count, dtype):
        if dtype.is_floating:
            start, delta = float(start), float(delta)
        values = [start + delta * k for k in range(count)]
        return PyBuffer(_convert(values, dtype), (count,), dtype)

    def random_uniform(self, shape, key, offset):
        return PyBuffer(philox_uniform(_prod(shape), key, offset), shape, dtypes.float32)

    # -- elementwise --
    def unary(self, op, x):
        v, dt = x.data, x.dtype
        if op == "logical_not":
            return PyBuffer([not t for t in v], x.shape, dtypes.bool_)
        if op == "isnan":
            out = [t != t for t in v] if dt.is_floating else [False] * len(v)
            return PyBuffer(out, x.shape, dtypes.bool_)
        if op == "isfinite":
            out = [t - t == 0 for t in v] if dt.is_floating else [True] * len(v)
            return PyBuffer(out, x.shape, dtypes.bool_)
        if dt.is_floating:
            return PyBuffer(_finish(_u_float(op, v, dt), dt), x.shape, dt)
        # integer and bool inputs: NumPy computes in the input type or in float64, then casts back
        if op in ("floor", "ceil", "round"):
            return PyBuffer(v, x.shape, dt)
        if op == "neg":
            out = [-t for t in v]
        elif op == "abs":
            out = list(map(abs, v))
        elif op == "sign":
            out = [(t > 0) - (t < 0) for t in v]
        else:
            out = [_float_to_int(t, dt) for t in _u_float(op, [float(t) for t in v], dtypes.float64)]
        return PyBuffer(_finish(out, dt), x.shape, dt)

    def binary(self, op, a, b):
        shape = _broadcast_shape(a.shape, b.shape)
        A = _expand(a.data, a.shape, shape)
        B = _expand(b.data, b.shape, shape)
        dt = a.dtype
        cmp = _COMPARISONS.get(op)
        if cmp is not None:
            return PyBuffer(list(map(cmp, A, B)), shape, dtypes.bool_)
        if op in ("logical_and", "logical_or"):
            if not dt.is_bool:
                A, B = [t != 0 for t in A], [t != 0 for t in B]
            fn = operator.and_ if op == "logical_and" else operator.or_
            return PyBuffer(list(map(fn, A, B)), shape, dtypes.bool_)
        if dt.is_bool:
            A, B = [int(t) for t in A], [int(t) for t in B]
        return PyBuffer(_finish(_binary_values(op, A, B, dt), dt), shape, dt)

    def where(self, cond, a, b):
        shape = _broadcast_shape(cond.shape, a.shape, b.shape)
        C = _expand(cond.data, cond.shape, shape)
        A = _expand(a.data, a.shape, shape)
        B = _expand(b.data, b.shape, shape)
        return PyBuffer([x if c else y for c, x, y in zip(C, A, B)], shape, a.dtype)

    def cast(self, x, dtype):
        if dtype is x.dtype:
            return PyBuffer(x.data, x.shape, dtype)
        return PyBuffer(_convert(x.data, dtype), x.shape, dtype)

    # -- reductions --
    def reduce(self, op, x, axes, keepdims):
        axes = sorted({a % max(len(x.shape), 1) for a in axes}) if x.shape else []
        shape = x.shape
        if keepdims:
            out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
        else:
            out_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
        dt = x.dtype
        data, _ = _move_axes_last(x, axes)
        r = _prod([shape[a] for a in axes])
        n_out = _prod(out_shape)
        chunks = [data[i * r:(i + 1) * r] for i in range(n_out)]
        nan_possible = dt.is_floating and op in ("max", "min") and _has_nan(data)
        if dt.is_bool and op in ("sum", "prod", "max", "min"):
            chunks = [[int(t) for t in c] for c in chunks]
        out = _reduce_chunks(op, chunks, dt, nan_possible)
        if op in ("any", "all"):
            return PyBuffer(out, out_shape, dtypes.bool_)
        return PyBuffer(_finish(out, dt), out_shape, dt)

    def arg_reduce(self, op, x, axis, dtype):
        axis %= len(x.shape)
        data, kept = _move_axes_last(x, [axis])
        r = x.shape[axis]
        nan_possible = x.dtype.is_floating and _has_nan(data)
        n_out = _prod(kept)
        out = [_first_arg(op, data[i * r:(i + 1) * r], nan_possible) for i in range(n_out)]
        return PyBuffer(out, tuple(kept), dtype)

    # -- movement --
    def reshape(self, x, shape):
        shape = tuple(shape)
        if -1 in shape:
            known = _prod([d for d in shape if d != -1])
            shape = tuple((len(x.data) // known if known else 0) if d == -1 else d for d in shape)
        return PyBuffer(x.data, shape, x.dtype)

    def transpose(self, x, perm):
        perm = tuple(perm)
        shape = tuple(x.shape[p] for p in perm)
        if perm == tuple(range(len(perm))):
            return PyBuffer(x.data, shape, x.dtype)
        st = _strides(x.shape)
        return PyBuffer(_take(x.data, _index_map(shape, [st[p] for p in perm])), shape, x.dtype)

    def broadcast_to(self, x, shape):
        return PyBuffer(_expand(x.data, x.shape, shape), shape, x.dtype)

    def strided_slice(self, x, begin, strides, out_shape):
        st = _strides(x.shape)
        offset = sum(b * s for b, s in zip(begin, st))
        idx = _index_map(out_shape, [k * s for k, s in zip(strides, st)], offset)
        return PyBuffer(_take(x.data, idx), out_shape, x.dtype)

    def strided_slice_grad(self, dy, in_shape, begin, strides):
        st = _strides(in_shape)
        out = [_zero(dy.dtype)] * _prod(in_shape)
        offset = sum(b * s for b, s in zip(begin, st))
        for i, v in zip(_index_map(dy.shape, [k * s for k, s in zip(strides, st)], offset), dy.data):
            out[i] = v
        return PyBuffer(out, in_shape, dy.dtype)

    def pad(self, x, pads, value):
        shape = x.shape
        out_shape = tuple(d + a + b for d, (a, b) in zip(shape, pads))
        out = [_scalar(value, x.dtype)] * _prod(out_shape)
        if not shape:
            return PyBuffer(list(x.data), out_shape, x.dtype)
        if not x.data:
            return PyBuffer(out, out_shape, x.dtype)
        st = _strides(out_shape)
        offset = sum(p[0] * s for p, s in zip(pads, st))
        row = shape[-1]  # copy whole innermost rows with slice assignment
        starts = _index_map(shape[:-1], st[:-1], offset)
        data = x.data
        for k, s in enumerate(starts):
            out[s:s + row] = data[k * row:(k + 1) * row]
        return PyBuffer(out, out_shape, x.dtype)

    def concat(self, xs, axis):
        first = xs[0]
        shape = list(first.shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        outer = _prod(first.shape[:axis])
        inners = [_prod(x.shape[axis:]) for x in xs]
        out = []
        for p in range(outer):
            for x, inner in zip(xs, inners):
                out += x.data[p * inner:(p + 1) * inner]
        return PyBuffer(out, tuple(shape), first.dtype)

    @staticmethod
    def _indices(indices, size):
        out = []
        for j in indices.data:
            if j < 0:
                j += size
            if not 0 <= j < size:
                raise IndexError(f"index {j} is out of bounds for axis with size {size}")
            out.append(j)
        return out

    def gather(self, x, indices, axis):
        shape = x.shape
        size = shape[axis]
        idx = self._indices(indices, size)
        outer = _prod(shape[:axis])
        inner = _prod(shape[axis + 1:])
        out_shape = shape[:axis] + indices.shape + shape[axis + 1:]
        data = x.data
        if inner == 1:
            out = []
            for p in range(outer):
                base = p * size
                out += [data[base + j] for j in idx]
        else:
            out = []
            for p in range(outer):
                base = p * size
                for j in idx:
                    s = (base + j) * inner
                    out += data[s:s + inner]
        return PyBuffer(out, out_shape, x.dtype)

    def scatter_add(self, updates, indices, axis, shape):
        shape = tuple(shape)
        size = shape[axis]
        idx = self._indices(indices, size)
        outer = _prod(shape[:axis])
        inner = _prod(shape[axis + 1:])
        dt = updates.dtype
        out = [_zero(dt)] * _prod(shape)
        upd = updates.data
        if dt.is_bool:
            upd = [int(t) for t in upd]
            out = [0] * len(out)
        n_idx = len(idx)
        add = operator.add
        for p in range(outer):
            base = p * size
            ubase = p * n_idx
            if inner == 1:
                for k, j in enumerate(idx):
                    out[base + j] += upd[ubase + k]
            else:
                for k, j in enumerate(idx):
                    s = (base + j) * inner
                    u = (ubase + k) * inner
                    out[s:s + inner] = map(add, out[s:s + inner], upd[u:u + inner])
        return PyBuffer(_finish(out, dt), shape, dt)

    # -- linear algebra --
    def matmul(self, a, b, transpose_a, transpose_b):
        ash, bsh = a.shape, b.shape
        m, k = (ash[-1], ash[-2]) if transpose_a else (ash[-2], ash[-1])
        n = bsh[-2] if transpose_b else bsh[-1]
        batch = _broadcast_shape(ash[:-2], bsh[:-2])
        a_blocks = _expand(list(range(_prod(ash[:-2]))), ash[:-2], batch)
        b_blocks = _expand(list(range(_prod(bsh[:-2]))), bsh[:-2], batch)
        dt = a.dtype
        zero = 0.0 if dt.is_floating else 0
        mul = operator.mul
        size_a, size_b = m * k, k * n
        rows_cache, cols_cache = {}, {}
        out = []
        for ia, ib in zip(a_blocks, b_blocks):
            rows = rows_cache.get(ia)
            if rows is None:
                blk = a.data[ia * size_a:(ia + 1) * size_a]
                rows = [blk[i::m] for i in range(m)] if transpose_a else \
                    [blk[i * k:(i + 1) * k] for i in range(m)]
                rows_cache[ia] = rows
            cols = cols_cache.get(ib)
            if cols is None:
                blk = b.data[ib * size_b:(ib + 1) * size_b]
                cols = [blk[j * k:(j + 1) * k] for j in range(n)] if transpose_b else \
                    [blk[j::n] for j in range(n)]
                cols_cache[ib] = cols
            out += [sum(map(mul, r, c), zero) for r in rows for c in cols]
        return PyBuffer(_finish(out, dt), batch + (m, n), dt)

    # -- convolution (im2col on lists) --
    @staticmethod
    def _out_hw(h, w, kh, kw, strides, pads, dilations):
        oh = (h + pads[0][0] + pads[0][1] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
        ow = (w + pads[1][0] + pads[1][1] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
        return oh, ow

    def _padded(self, x, pads, value):
        if not any(pads[0]) and not any(pads[1]):
            return x.data
        return self.pad(x, ((0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)), value).data

    @staticmethod
    def _window_starts(n, hp, wp, c, kh, kw, oh, ow, strides, dilations):
        """For each output position (row-major), the flat start of each window cell, (ki, kj) order."""
        sh, sw = strides
        dh, dw = dilations
        row = wp * c
        cell_offsets = [ki * dh * row + kj * dw * c for ki in range(kh) for kj in range(kw)]
        out = []
        for b in range(n):
            base_n = b * hp * row
            for y in range(oh):
                base_y = base_n + y * sh * row
                for xo in range(ow):
                    base = base_y + xo * sw * c
                    out.append([base + o for o in cell_offsets])
        return out

    def _patches(self, xp, x_shape, kh, kw, oh, ow, strides, pads, dilations):
        n, h, w, c = x_shape
        hp, wp = h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]
        patches = []
        if dilations[1] == 1:  # each kernel row is one contiguous run of kw * c values
            row_len = kw * c
            starts = self._window_starts(n, hp, wp, c, kh, 1, oh, ow, strides, dilations)
            for cells in starts:
                patch = []
                for s in cells:
                    patch += xp[s:s + row_len]
                patches.append(patch)
        else:
            for cells in self._window_starts(n, hp, wp, c, kh, kw, oh, ow, strides, dilations):
                patch = []
                for s in cells:
                    patch += xp[s:s + c]
                patches.append(patch)
        return patches

    def conv2d(self, x, w, strides, pads, dilations):
        kh, kw, c, o = w.shape
        oh, ow = self._out_hw(x.shape[1], x.shape[2], kh, kw, strides, pads, dilations)
        xp = self._padded(x, pads, 0)
        patches = self._patches(xp, x.shape, kh, kw, oh, ow, strides, pads, dilations)
        wcols = [w.data[j::o] for j in range(o)]
        mul = operator.mul
        zero = _zero(x.dtype)
        out = [sum(map(mul, p, wc), zero) for p in patches for wc in wcols]
        return PyBuffer(_finish(out, x.dtype), (x.shape[0], oh, ow, o), x.dtype)

    def conv2d_grad_filter(self, x, dy, w_shape, strides, pads, dilations):
        kh, kw, c, o = w_shape
        oh, ow = dy.shape[1], dy.shape[2]
        xp = self._padded(x, pads, 0)
        patches = self._patches(xp, x.shape, kh, kw, oh, ow, strides, pads, dilations)
        zero = _zero(dy.dtype)
        if not patches:
            return PyBuffer([zero] * _prod(w_shape), tuple(w_shape), dy.dtype)
        pcols = list(zip(*patches))
        dcols = [dy.data[j::o] for j in range(o)]
        mul = operator.mul
        out = [sum(map(mul, pc, dc), zero) for pc in pcols for dc in dcols]
        return PyBuffer(_finish(out, dy.dtype), tuple(w_shape), dy.dtype)

    def _scatter_windows(self, x_shape, pads, values, cell_len, starts, dtype):
        """Add each position's window values (cells of `cell_len`) into a padded zero
        input, then crop the padding."""
        n, h, w, c = x_shape
        (pt, pb), (pl, pr) = pads
        hp, wp = h + pt + pb, w + pl + pr
        acc = [_zero(dtype)] * (n * hp * wp * c)
        add = operator.add
        for vals, cells in zip(values, starts):
            for q, s in enumerate(cells):
                acc[s:s + cell_len] = map(add, acc[s:s + cell_len], vals[q * cell_len:(q + 1) * cell_len])
        if not (pt or pb or pl or pr):
            return acc
        out = []
        row = wp * c
        for b in range(n):
            for y in range(h):
                s = (b * hp + y + pt) * row + pl * c
                out += acc[s:s + w * c]
        return out

    def conv2d_grad_input(self, dy, w, x_shape, strides, pads, dilations):
        kh, kw, c, o = w.shape
        n, oh, ow, _ = dy.shape
        x_shape = tuple(x_shape)
        hp, wp = x_shape[1] + pads[0][0] + pads[0][1], x_shape[2] + pads[1][0] + pads[1][1]
        wrows = [w.data[r * o:(r + 1) * o] for r in range(kh * kw * c)]
        mul = operator.mul
        zero = _zero(dy.dtype)
        d = dy.data
        cols = []
        for p in range(n * oh * ow):
            drow = d[p * o:(p + 1) * o]
            cols.append([sum(map(mul, drow, wr), zero) for wr in wrows])
        if dilations[1] == 1:
            starts = self._window_starts(n, hp, wp, c, kh, 1, oh, ow, strides, dilations)
            out = self._scatter_windows(x_shape, pads, cols, kw * c, starts, dy.dtype)
        else:
            starts = self._window_starts(n, hp, wp, c, kh, kw, oh, ow, strides, dilations)
            out = self._scatter_windows(x_shape, pads, cols, c, starts, dy.dtype)
        return PyBuffer(_finish(out, dy.dtype), x_shape, dy.dtype)

    # -- pooling --
    def _pool_cells(self, x_shape, ksize, strides, pads):
        """(out_hw, per output position: list of cell starts in the unpadded input, with
        None for padded cells, in row-major window order)."""
        n, h, w, c = x_shape
        kh, kw = ksize
        sh, sw = strides
        pt, pl = pads[0][0], pads[1][0]
        oh, ow = self._out_hw(h, w, kh, kw, strides, pads, (1, 1))
        out = []
        for b in range(n):
            for y in range(oh):
                for xo in range(ow):
                    cells = []
                    for ki in range(kh):
                        iy = y * sh - pt + ki
                        for kj in range(kw):
                            ix = xo * sw - pl + kj
                            cells.append(((b * h + iy) * w + ix) * c if 0 <= iy < h and 0 <= ix < w else None)
                    out.append(cells)
        return (oh, ow), out

    def pool2d(self, op, x, ksize, strides, pads):
        n, h, w, c = x.shape
        dt = x.dtype
        (oh, ow), windows = self._pool_cells(x.shape, ksize, strides, pads)
        data = x.data
        out = []
        if op == "max":
            lowest = -_INF if dt.is_floating else dt.min
            pad_row = [lowest] * c
            nan_possible = dt.is_floating and _has_nan(data)
            for cells in windows:
                rows = [data[s:s + c] if s is not None else pad_row for s in cells]
                if nan_possible:
                    out += [_NAN if _has_nan(v) else max(v) for v in zip(*rows)]
                else:
                    cur = rows[0]
                    for r in rows[1:]:
                        cur = list(map(max, cur, r))
                    out += cur
            return PyBuffer(_finish(out, dt), (n, oh, ow, c), dt)
        add = operator.add
        for cells in windows:
            valid = [s for s in cells if s is not None]
            cur = [0.0] * c if dt.is_floating else [0] * c
            for s in valid:
                cur = list(map(add, cur, data[s:s + c]))
            cnt = len(valid)
            if dt.is_floating:
                out += [t / cnt for t in cur] if cnt else [_NAN] * c
            else:
                out += [int(t / cnt) for t in cur] if cnt else [dt.min] * c
        return PyBuffer(_finish(out, dt), (n, oh, ow, c), dt)

    def pool2d_grad(self, op, x, dy, ksize, strides, pads):
        n, h, w, c = x.shape
        dt = dy.dtype
        (oh, ow), windows = self._pool_cells(x.shape, ksize, strides, pads)
        acc = [_zero(dt)] * (n * h * w * c)
        g = dy.data
        if op == "avg":
            counts = [sum(s is not None for s in cells) for cells in windows]
            shares = _finish([g[p * c + ch] / cnt if cnt else _NAN
                              for p, cnt in enumerate(counts) for ch in range(c)], dt)
            add = operator.add
            for p, cells in enumerate(windows):
                sh_ = shares[p * c:(p + 1) * c]
                for s in cells:
                    if s is not None:
                        acc[s:s + c] = map(add, acc[s:s + c], sh_)
            return PyBuffer(_finish(acc, dt), x.shape, dt)
        data = x.data
        lowest = -_INF if x.dtype.is_floating else x.dtype.min
        pad_row = [lowest] * c
        nan_possible = x.dtype.is_floating and _has_nan(data)
        for p, cells in enumerate(windows):
            rows = [data[s:s + c] if s is not None else pad_row for s in cells]
            gbase = p * c
            for ch, vals in enumerate(zip(*rows)):
                q = _first_arg("argmax", vals, nan_possible) if nan_possible else vals.index(max(vals))
                s = cells[q]
                if s is not None:
                    acc[s + ch] += g[gbase + ch]
        return PyBuffer(_finish(acc, dt), x.shape, dt)

    # -- fused primitives: base.py's scalar references, element by element --
    def optimizer_update(self, kind, variable, gradient, slots, rate, hyper):
        rnd = _scalar_rounder(variable.dtype)
        constants = tuple(map(rnd, optimizer_constants(kind, hyper)))
        names = tuple(slots)
        columns = [slots[name].data for name in names]
        lr = rate.data[0]
        values, updated = [], [[] for _ in names]
        for i, (v, g) in enumerate(zip(variable.data, gradient.data)):
            value, new = optimizer_step(kind, hyper, constants, rnd, v, g,
                                        {name: col[i] for name, col in zip(names, columns)}, lr)
            values.append(value)
            for out, name in zip(updated, names):
                out.append(new[name])
        shape, dt = variable.shape, variable.dtype
        return PyBuffer(values, shape, dt), {name: PyBuffer(out, shape, dt) for name, out in zip(names, updated)}

    def affine_warp(self, images, transforms, interpolation, fill_mode, fill_value):
        n, h, w, c = images.shape
        dt = images.dtype
        rnd = _scalar_rounder(dt)
        fill = rnd(float(fill_value))
        cols = transforms.shape[1]
        shared = transforms.shape[0] == 1
        data = images.data
        out = []
        for b in range(n):
            row = 0 if shared else b
            transform = transforms.data[row * cols:(row + 1) * cols]
            readers = [_pixel_reader(data, b, ch, h, w, c, fill) for ch in range(c)]
            for y in range(h):
                for x in range(w):
                    point = warp_source(transform, x, y, w, h, fill_mode, rnd)
                    if point is None:
                        out += [fill] * c
                        continue
                    out += [warp_interpolate(read, point[0], point[1], interpolation, rnd) for read in readers]
        return PyBuffer(out, images.shape, dt)


def _pixel_reader(data, b, ch, h, w, c, fill):
    """read(iy, ix): channel `ch` of image `b` at a pixel, fill outside the image."""
    def read(iy, ix):
        return data[((b * h + iy) * w + ix) * c + ch] if 0 <= iy < h and 0 <= ix < w else fill
    return read
