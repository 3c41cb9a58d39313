"""Parity of the pure-Python backend with the NumPy reference backend, primitive by primitive.

Every primitive runs on the same inputs through both backends; float32 results must agree
to ~1e-6 relative (exactly, where IEEE makes the result unique), float64 to ~1e-12, ints
and bools exactly, and random streams bit for bit. Then an end-to-end GradientTape check
with the Python backend as the default device, and a run with NumPy blocked from importing.
"""
import array
import itertools
import math
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from pykernel import dtypes
from pykernel.backends.numpy_backend import NumpyBackend
from pykernel.backends.python_backend import PyBuffer, PythonBackend

PB = PythonBackend()
NB = NumpyBackend()
F32, F64, I32, I64, U8, BOOL = (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64,
                                dtypes.uint8, dtypes.bool_)
FLOATS = (F32, F64)
INTS = (I32, I64, U8)
ALL = FLOATS + INTS + (BOOL,)
INF, NAN = math.inf, math.nan
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 3.0, -7.25, 100.0, -100.0, 1e-30, 1e30,
            INF, -INF, NAN]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- helpers

def rand(shape, dtype, seed=0, low=-3.0, high=3.0):
    r = np.random.default_rng(seed)
    if dtype.is_floating:
        return r.uniform(low, high, size=shape).astype(dtype.name)
    if dtype is BOOL:
        return r.random(shape) < 0.5
    if dtype is U8:
        return r.integers(0, 256, size=shape).astype(np.uint8)
    return r.integers(-50, 51, size=shape).astype(dtype.name)


def make(arr, dtype):
    """The same values as a Python-backend buffer (via from_list) and a NumPy-backend one."""
    arr = np.asarray(arr).astype(dtype.name)
    return PB.from_list(arr.reshape(-1).tolist(), arr.shape, dtype), NB.from_numpy(arr, dtype)


def check(p, n, rtol=None, atol=0.0):
    """Python-backend buffer `p` equals NumPy-backend buffer `n` in shape, dtype and values."""
    assert isinstance(p, PyBuffer)
    shape = tuple(NB.shape(n))
    assert tuple(PB.shape(p)) == shape
    dt = NB.dtype(n)
    assert PB.dtype(p) is dt, (PB.dtype(p), dt)
    pv, nv = PB.to_list(p), NB.to_list(n)
    assert len(pv) == len(nv) == math.prod(shape)
    pytype = dt.python_type()
    bad = [v for v in pv if type(v) is not pytype]
    assert not bad, f"to_list must give Python {pytype.__name__}s, got {type(bad[0]).__name__}"
    if dt.is_floating:
        if rtol is None:
            rtol = 1e-6 if dt is F32 else 1e-12
        pa, na = np.array(pv, dtype=np.float64), np.array(nv, dtype=np.float64)
        if rtol == 0 and atol == 0:  # bit-exact (NaN == NaN, and the sign of zero)
            same = (pa == na) | (np.isnan(pa) & np.isnan(na))
            assert same.all(), f"differ at {np.flatnonzero(~same)[:10]}: {pa[~same][:5]} vs {na[~same][:5]}"
            assert (np.signbit(pa) == np.signbit(na))[~np.isnan(pa)].all(), "sign of zero differs"
        else:
            np.testing.assert_allclose(pa, na, rtol=rtol, atol=atol, equal_nan=True)
    else:
        assert pv == nv


def special_pairs(dtype):
    a = np.repeat(np.array(SPECIALS), len(SPECIALS)).astype(dtype.name)
    b = np.tile(np.array(SPECIALS), len(SPECIALS)).astype(dtype.name)
    return a, b


def quiet(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*args)


# ---------------------------------------------------------------- transfer and creation

@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_transfer_round_trips(dtype):
    arr = rand((3, 1, 4), dtype, seed=1)
    p, n = make(arr, dtype)
    check(p, n, rtol=0)
    check(PB.from_numpy(arr, dtype), n, rtol=0)
    scalar = np.array(arr.reshape(-1)[0])  # 0-d stays 0-d
    check(PB.from_numpy(scalar, dtype), NB.from_numpy(scalar, dtype), rtol=0)
    raw = arr.astype(dtype.name).tobytes()
    for data in (raw, bytearray(raw), memoryview(raw)):
        check(PB.from_bytes(data, arr.shape, dtype), NB.from_bytes(data, arr.shape, dtype), rtol=0)
    np.testing.assert_array_equal(PB.to_numpy(p), NB.to_numpy(n))
    assert PB.to_numpy(p).dtype == arr.dtype
    check(PB.from_list([], (0, 3), dtype), NB.from_list([], (0, 3), dtype))
    check(PB.from_list([True], (), dtype), NB.from_list([True], (), dtype))


def test_from_bytes_array_array_and_float32_rounding():
    for typecode, dtype in (("f", F32), ("d", F64), ("q", I64), ("B", U8), ("i", I32)):
        data = array.array(typecode, [1, 2, 3, 250])
        check(PB.from_bytes(data, (2, 2), dtype), NB.from_bytes(data.tobytes(), (2, 2), dtype), rtol=0)
    vals = [0.1, 1 / 3, 1e40, -1e40, 3.4028235677973366e38, 1e-46, 16777217.0, NAN]
    check(PB.from_list(vals, (8,), F32), quiet(NB.from_list, vals, (8,), F32), rtol=0)
    assert PB.to_list(PB.from_list([0.1], (1,), F32)) == [float(np.float32(0.1))]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_full(dtype):
    value = dtype.python_type()(0.1 if dtype.is_floating else 7)
    check(PB.full((2, 3), value, dtype), NB.full((2, 3), value, dtype), rtol=0)
    check(PB.full((), value, dtype), NB.full((), value, dtype), rtol=0)
    check(PB.full((0, 4), value, dtype), NB.full((0, 4), value, dtype), rtol=0)


@pytest.mark.parametrize("start, delta, count, dtype", [
    (0.0, 0.1, 17, F32), (-1.5, 0.3, 11, F64), (3, -2, 6, I32), (0, 5, 4, I64), (2, 1, 0, I32),
    (0.0, 1 / 3, 7, F32), (1, 3, 5, U8)])
def test_arange(start, delta, count, dtype):
    check(PB.arange(start, delta, count, dtype), NB.arange(start, delta, count, dtype), rtol=0)


@pytest.mark.parametrize("shape", [(0,), (1,), (3,), (4,), (5,), (2, 3, 7), (1001,)])
@pytest.mark.parametrize("key, offset", [((0, 0), 0), ((87654321, 1), 0), ((87654321, 3), 5 << 32),
                                         ((2**32 - 1, 2**31 + 5), 2**40 + 17), ((12, 2**35), 7),
                                         ((0xCAFEF00D, 42), (3 << 32) + 0xDEADBEEF)])
def test_random_uniform_bit_identical(shape, key, offset):
    p, n = PB.random_uniform(shape, key, offset), NB.random_uniform(shape, key, offset)
    check(p, n, rtol=0)
    assert all(0.0 <= v < 1.0 for v in PB.to_list(p))


# ---------------------------------------------------------------- elementwise

UNARY_EXACT = {"neg", "abs", "sign", "sqrt", "rsqrt", "floor", "ceil", "round", "reciprocal"}
UNARY_FLOAT = ["neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "sigmoid", "erf",
               "sin", "cos", "floor", "ceil", "round", "reciprocal"]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", UNARY_FLOAT)
def test_unary_float(op, dtype):
    arr = np.concatenate([rand((40,), dtype, seed=2, low=-6, high=6),
                          np.array(SPECIALS + [88.0, 89.0, -88.0, -104.0, 710.0, -745.5, 0.49999997,
                                               1.5, -0.5, 2.5e-8, 1e5, 3e38], dtype=dtype.name)])
    arr = arr.reshape(2, -1)
    p, n = make(arr, dtype)
    exact = op in UNARY_EXACT
    check(PB.unary(op, p), NB.unary(op, n), rtol=0 if exact else (4e-6 if dtype is F32 else 1e-12))


@pytest.mark.parametrize("dtype", INTS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", ["neg", "abs", "sign", "floor", "ceil", "round"])
def test_unary_int(op, dtype):
    p, n = make(rand((3, 5), dtype, seed=3), dtype)
    check(PB.unary(op, p), NB.unary(op, n))


@pytest.mark.parametrize("op", ["sqrt", "reciprocal", "exp"])
def test_unary_int_through_float(op):
    arr = np.array([1, 2, 3, 10, 17, -1, -2][: 5 if op == "sqrt" else 7], dtype=np.int32)
    p, n = make(arr, I32)
    check(PB.unary(op, p), NB.unary(op, n))


@pytest.mark.parametrize("op, dtype", [("logical_not", BOOL)] + [(op, d) for op in ("isnan", "isfinite") for d in ALL],
                         ids=lambda v: getattr(v, "name", v))
def test_unary_predicates(op, dtype):
    arr = np.array(SPECIALS, dtype=dtype.name) if dtype.is_floating else rand((7,), dtype, seed=4)
    p, n = make(arr, dtype)
    check(PB.unary(op, p), NB.unary(op, n))


BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,)), ((5,), ()),
                    ((2, 1, 3), (4, 1)), ((1,), (3, 1)), ((0, 3), (1, 3)), ((2, 3, 1, 5), (3, 4, 1)),
                    ((4, 1), (4, 3)), ((), ())]
ARITH = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "floordiv", "mod"]
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
BINARY_F32_EXACT = {"add", "sub", "mul", "div", "maximum", "minimum", "mod"} | set(COMPARE)


def binary_inputs(op, dtype, sa, sb, seed):
    a, b = rand(sa, dtype, seed), rand(sb, dtype, seed + 100)
    if dtype.is_integer:
        if op == "pow":
            a = np.clip(a, -5 if dtype is not U8 else 0, 5).astype(dtype.name)
            b = (np.abs(b.astype(np.int64)) % 6).astype(dtype.name)
        elif op == "div":  # truncation toward zero; no zero divisors (undefined in NumPy)
            b = np.where(b == 0, 3, b).astype(dtype.name)
        elif op in ("floordiv", "mod"):
            b = (b.astype(np.int64) % 9 - (4 if dtype is not U8 else 0)).astype(dtype.name)
    elif op == "pow":
        a = np.where(np.abs(a) < 0.5, a + 1, a).astype(dtype.name)
    return a, b


@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", ARITH + COMPARE)
def test_binary_broadcasting(op, dtype):
    for k, (sa, sb) in enumerate(BROADCAST_SHAPES):
        a, b = binary_inputs(op, dtype, sa, sb, seed=10 + k)
        (pa, na), (pb, nb) = make(a, dtype), make(b, dtype)
        exact = dtype is F64 or op in BINARY_F32_EXACT
        check(PB.binary(op, pa, pb), NB.binary(op, na, nb), rtol=0 if exact and dtype is F32 else
              (4e-6 if dtype is F32 else 1e-12))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", ARITH + COMPARE)
def test_binary_special_values(op, dtype):
    """0, -0, inf, nan, huge and tiny operands: NumPy's IEEE results, never an exception."""
    a, b = special_pairs(dtype)
    (pa, na), (pb, nb) = make(a, dtype), make(b, dtype)
    exact = op in BINARY_F32_EXACT or op == "floordiv"
    check(PB.binary(op, pa, pb), NB.binary(op, na, nb),
          rtol=0 if exact else (4e-6 if dtype is F32 else 1e-12))


def test_binary_float_corner_cases():
    a = np.array([-8.0, -8.0, 0.0, -0.0, -0.0, 10.0, -10.0, -10.0, 1e30, -2.0, 2.0, 1e8], np.float64)
    b = np.array([1 / 3, 3.0, -1.0, -1.0, -2.0, 400.0, 401.0, 400.0, 1e30, 0.5, -1074.0, 3.0])
    for dtype in FLOATS:
        (pa, na), (pb, nb) = make(a, dtype), make(b, dtype)
        for op in ("pow", "mul", "floordiv", "mod", "div"):
            check(PB.binary(op, pa, pb), NB.binary(op, na, nb), rtol=4e-6 if dtype is F32 else 1e-12)


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "equal", "not_equal"])
def test_binary_bool(op):
    for sa, sb in BROADCAST_SHAPES:
        a, b = rand(sa, BOOL, 5), rand(sb, BOOL, 6)
        (pa, na), (pb, nb) = make(a, BOOL), make(b, BOOL)
        check(PB.binary(op, pa, pb), NB.binary(op, na, nb))


def test_integer_wraparound_and_truncating_div():
    a = np.array([3, 0, 200, 255, 7], np.uint8)
    b = np.array([5, 1, 100, 2, 9], np.uint8)
    (pa, na), (pb, nb) = make(a, U8), make(b, U8)
    for op in ("sub", "add", "mul", "pow"):
        check(PB.binary(op, pa, pb), NB.binary(op, na, nb))
    check(PB.unary("neg", pa), NB.unary("neg", na))
    a32 = np.array([2**31 - 1, -(2**31), 7, -7, 7, -7, 0, 65536], np.int32)
    b32 = np.array([1, -1, 2, 2, -2, -2, 5, 65536], np.int32)
    (pa, na), (pb, nb) = make(a32, I32), make(b32, I32)
    for op in ("add", "sub", "mul", "div", "floordiv", "mod"):
        check(PB.binary(op, pa, pb), NB.binary(op, na, nb))
    assert PB.to_list(PB.binary("div", pa, pb))[2:6] == [3, -3, -3, 3]
    z = make(np.zeros(8, np.int32), I32)
    check(PB.binary("floordiv", pa, z[0]), quiet(NB.binary, "floordiv", na, z[1]))
    check(PB.binary("mod", pa, z[0]), quiet(NB.binary, "mod", na, z[1]))


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_where(dtype):
    for sc, sa, sb in [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((4,), (2, 3, 1), (3, 4)),
                       ((), (2, 2), (2, 2)), ((2, 1, 1), (1,), (5,))]:
        (pc, nc) = make(rand(sc, BOOL, 1), BOOL)
        (pa, na), (pb, nb) = make(rand(sa, dtype, 2), dtype), make(rand(sb, dtype, 3), dtype)
        check(PB.where(pc, pa, pb), NB.where(nc, na, nb), rtol=0)


@pytest.mark.parametrize("src", ALL, ids=lambda d: d.name)
@pytest.mark.parametrize("dst", ALL, ids=lambda d: d.name)
def test_cast(src, dst):
    if src.is_floating:
        arr = np.array([0.0, -0.0, 1.5, -1.5, 2.7, -2.7, 100.25, 0.1, 1e-3, 255.9, 3.0], dtype=src.name)
        if dst is U8:
            arr = np.abs(arr)  # negative float -> uint8 is undefined in NumPy
        elif dst.is_floating or dst is BOOL:
            arr = np.concatenate([arr, np.array([INF, -INF, NAN, 1e39 if src is F64 else 1e38],
                                                dtype=src.name)])
    elif src is I64:
        arr = np.array([0, 1, -1, 2**31, -(2**31) - 1, 2**40 + 3, 255, 256, -129, 2**53 + 1], np.int64)
    else:
        arr = rand((4, 3), src, seed=8)
    p, n = make(arr, src)
    with np.errstate(all="ignore"):
        expected = NB.cast(n, dst)
    check(PB.cast(p, dst), expected, rtol=0)


# ---------------------------------------------------------------- reductions

REDUCE_CASES = [((3, 4, 5), (0,)), ((3, 4, 5), (1,)), ((3, 4, 5), (2,)), ((3, 4, 5), (0, 2)),
                ((3, 4, 5), (0, 1, 2)), ((3, 4, 5), ()), ((2, 1, 3), (1,)), ((7,), (0,)),
                ((), ()), ((1, 1), (0, 1)), ((4, 6), (1, 0))]


@pytest.mark.parametrize("op, dtype", [(op, d) for op in ("sum", "max", "min", "prod") for d in ALL] +
                         [("any", BOOL), ("all", BOOL)], ids=lambda v: getattr(v, "name", v))
def test_reduce(op, dtype):
    for k, (shape, axes) in enumerate(REDUCE_CASES):
        if op == "prod" and dtype.is_floating:
            arr = rand(shape, dtype, k, low=0.5, high=1.5)
        elif op == "prod" and dtype.is_integer:
            arr = (rand(shape, dtype, k).astype(np.int64) % 4 - (1 if dtype is not U8 else 0)).astype(dtype.name)
        else:
            arr = rand(shape, dtype, k)
        p, n = make(arr, dtype)
        for keepdims in (False, True):
            check(PB.reduce(op, p, axes, keepdims), NB.reduce(op, n, axes, keepdims),
                  rtol=1e-6 if dtype is F32 else 1e-12, atol=2e-6 if dtype is F32 else 1e-13)


def test_reduce_empty_and_nan():
    for dtype in (F32, I32, BOOL):
        p, n = make(np.zeros((0, 3), dtype.name), dtype)
        for op in ("sum", "prod") + (("any", "all") if dtype is BOOL else ()):
            check(PB.reduce(op, p, (0,), False), NB.reduce(op, n, (0,), False))
            check(PB.reduce(op, p, (0, 1), True), NB.reduce(op, n, (0, 1), True))
    with pytest.raises(ValueError):
        PB.reduce("max", p, (0,), False)
    arr = np.array([[1.0, NAN, 3.0], [INF, -INF, 2.0], [NAN, NAN, 0.0]], np.float32)
    p, n = make(arr, F32)
    for op in ("max", "min", "sum", "prod"):
        for axes in ((0,), (1,), (0, 1)):
            check(PB.reduce(op, p, axes, False), quiet(NB.reduce, op, n, axes, False), rtol=0)


@pytest.mark.parametrize("dtype", [F32, F64, I32, I64, U8, BOOL], ids=lambda d: d.name)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce(op, dtype):
    arr = rand((4, 5, 3), dtype, seed=9)
    if dtype.is_floating:
        arr = np.round(arr).astype(dtype.name)  # plenty of ties: the first index must win
    p, n = make(arr, dtype)
    for axis in (0, 1, 2):
        for out in (I32, I64):
            check(PB.arg_reduce(op, p, axis, out), NB.arg_reduce(op, n, axis, out))
    p, n = make(np.array([[1.0, NAN, 3.0, NAN], [2.0, 2.0, -1.0, -1.0]], np.float32), F32)
    check(PB.arg_reduce(op, p, 1, I64), NB.arg_reduce(op, n, 1, I64))


# ---------------------------------------------------------------- movement

@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_reshape_transpose_broadcast(dtype):
    p, n = make(rand((2, 3, 4), dtype, 11), dtype)
    for shape in [(6, 4), (24,), (4, 1, 6), (2, 3, 4)]:
        check(PB.reshape(p, shape), NB.reshape(n, shape), rtol=0)
    check(PB.reshape(p, (-1, 2)), NB.reshape(n, (-1, 2)), rtol=0)
    pe, ne = make(np.zeros((0, 3), dtype.name), dtype)
    check(PB.reshape(pe, (3, -1)), NB.reshape(ne, (3, -1)), rtol=0)
    for perm in itertools.permutations(range(3)):
        check(PB.transpose(p, perm), NB.transpose(n, perm), rtol=0)
    p4, n4 = make(rand((2, 1, 3, 5), dtype, 12), dtype)
    for perm in [(3, 1, 0, 2), (0, 2, 3, 1), (1, 0, 2, 3)]:
        check(PB.transpose(p4, perm), NB.transpose(n4, perm), rtol=0)
    for src, dst in [((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((), (2, 2)), ((2, 1, 3), (2, 5, 3)),
                     ((1, 1), (1, 1)), ((3, 1), (3, 0))]:
        ps, ns = make(rand(src, dtype, 13), dtype)
        check(PB.broadcast_to(ps, dst), NB.broadcast_to(ns, dst), rtol=0)


SLICES = [  # (shape, begin, strides, out_shape)
    ((5, 6, 4), (0, 0, 0), (1, 1, 1), (5, 6, 4)),
    ((5, 6, 4), (4, 0, 3), (-1, 2, -2), (5, 3, 2)),
    ((5, 6, 4), (1, 5, 1), (2, -1, 1), (2, 6, 2)),
    ((5, 6, 4), (4, 5, 3), (-3, -4, -1), (2, 2, 4)),
    ((7,), (6,), (-1,), (7,)),
    ((7,), (2,), (3,), (2,)),
    ((7,), (3,), (1,), (0,)),
    ((3, 1), (2, 0), (-1, 1), (3, 1)),
]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_strided_slice_and_grad(dtype):
    for k, (shape, begin, strides, out_shape) in enumerate(SLICES):
        p, n = make(rand(shape, dtype, 20 + k), dtype)
        check(PB.strided_slice(p, begin, strides, out_shape), NB.strided_slice(n, begin, strides, out_shape),
              rtol=0)
        pd, nd = make(rand(out_shape, dtype, 40 + k), dtype)
        check(PB.strided_slice_grad(pd, shape, begin, strides), NB.strided_slice_grad(nd, shape, begin, strides),
              rtol=0)


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_pad(dtype):
    value = {F32: 0.1, F64: -2.5, BOOL: True}.get(dtype, 7)
    for shape, pads in [((2, 3), ((1, 2), (0, 3))), ((4,), ((0, 0),)), ((2, 1, 3), ((1, 0), (2, 2), (0, 1))),
                        ((0, 2), ((1, 1), (1, 0))), ((3, 2), ((0, 0), (0, 0)))]:
        p, n = make(rand(shape, dtype, 30), dtype)
        check(PB.pad(p, pads, value), NB.pad(n, pads, value), rtol=0)


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_concat(dtype):
    for axis, shapes in [(0, [(2, 3), (1, 3), (4, 3)]), (1, [(2, 3), (2, 1), (2, 0), (2, 2)]),
                         (2, [(2, 1, 3), (2, 1, 1)]), (1, [(3, 2, 2)]), (0, [(0, 2), (1, 2)])]:
        pairs = [make(rand(s, dtype, 50 + i), dtype) for i, s in enumerate(shapes)]
        check(PB.concat([p for p, _ in pairs], axis), NB.concat([n for _, n in pairs], axis), rtol=0)


GATHER_CASES = [  # (x shape, indices, axis)
    ((4, 5, 3), [2, 0, 3, 3], 0), ((4, 5, 3), [[4, 0], [-1, 2], [1, 1]], 1), ((4, 5, 3), 2, 2),
    ((4, 5, 3), [], 1), ((6,), [[5, 0, 1], [2, -6, 3]], 0), ((4, 5, 3), [[0, 2, 2, 1]], 2),
]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
@pytest.mark.parametrize("idx_dtype", [I32, I64], ids=lambda d: d.name)
def test_gather(dtype, idx_dtype):
    for k, (shape, indices, axis) in enumerate(GATHER_CASES):
        p, n = make(rand(shape, dtype, 60 + k), dtype)
        pi, ni = make(np.array(indices, dtype=np.int64), idx_dtype)
        check(PB.gather(p, pi, axis), NB.gather(n, ni, axis), rtol=0)
    with pytest.raises(IndexError):
        PB.gather(p, make(np.array([6]), idx_dtype)[0], 0)


@pytest.mark.parametrize("dtype", [F32, F64, I32, I64], ids=lambda d: d.name)
def test_scatter_add(dtype):
    for k, (shape, indices, axis) in enumerate(GATHER_CASES):
        idx = np.array(indices, dtype=np.int64)
        upd_shape = shape[:axis] + idx.shape + shape[axis + 1:]
        pu, nu = make(rand(upd_shape, dtype, 70 + k), dtype)
        pi, ni = make(idx, I32)
        check(PB.scatter_add(pu, pi, axis, shape), NB.scatter_add(nu, ni, axis, shape),
              rtol=1e-6 if dtype is F32 else 1e-12, atol=1e-6 if dtype is F32 else 1e-13)


# ---------------------------------------------------------------- matmul, conv, pool

MATMUL_CASES = [  # (a shape, b shape, transpose_a, transpose_b)
    ((3, 4), (4, 5), False, False), ((4, 3), (4, 5), True, False), ((3, 4), (5, 4), False, True),
    ((4, 3), (5, 4), True, True), ((2, 3, 4), (4, 5), False, False), ((3, 4), (2, 4, 5), False, False),
    ((2, 1, 3, 4), (5, 4, 6), False, False), ((2, 1, 4, 3), (5, 6, 4), True, True),
    ((1, 1), (1, 7), False, False), ((3, 0), (0, 2), False, False), ((0, 3), (3, 2), False, False),
    ((1, 2, 3), (3, 1, 2), True, True),
]


@pytest.mark.parametrize("dtype", [F32, F64, I32, I64], ids=lambda d: d.name)
def test_matmul(dtype):
    for k, (sa, sb, ta, tb) in enumerate(MATMUL_CASES):
        (pa, na), (pb, nb) = make(rand(sa, dtype, 80 + k), dtype), make(rand(sb, dtype, 90 + k), dtype)
        check(PB.matmul(pa, pb, ta, tb), NB.matmul(na, nb, ta, tb),
              rtol=1e-5 if dtype is F32 else 1e-12, atol=1e-5 if dtype is F32 else 1e-12)


CONV_CASES = [  # (x shape, w shape, strides, pads, dilations)
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((1, 9, 8, 2), (3, 2, 2, 3), (2, 3), ((0, 1), (2, 0)), (1, 1)),
    ((2, 10, 9, 3), (3, 3, 3, 2), (1, 2), ((2, 2), (1, 3)), (2, 2)),
    ((1, 5, 5, 1), (1, 1, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((3, 6, 7, 2), (2, 3, 2, 5), (2, 2), ((0, 0), (0, 0)), (1, 3)),
    ((1, 4, 4, 2), (4, 4, 2, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv2d_and_gradients(case, dtype):
    x_shape, w_shape, strides, pads, dil = CONV_CASES[case]
    (px, nx), (pw, nw) = make(rand(x_shape, dtype, 100 + case), dtype), make(rand(w_shape, dtype, 110 + case), dtype)
    tol = dict(rtol=1e-5, atol=2e-5) if dtype is F32 else dict(rtol=1e-12, atol=1e-12)
    ny = NB.conv2d(nx, nw, strides, pads, dil)
    check(PB.conv2d(px, pw, strides, pads, dil), ny, **tol)
    pdy, ndy = make(rand(ny.shape, dtype, 120 + case), dtype)
    check(PB.conv2d_grad_input(pdy, pw, x_shape, strides, pads, dil),
          NB.conv2d_grad_input(ndy, nw, x_shape, strides, pads, dil), **tol)
    check(PB.conv2d_grad_filter(px, pdy, w_shape, strides, pads, dil),
          NB.conv2d_grad_filter(nx, ndy, w_shape, strides, pads, dil), **tol)


POOL_CASES = [  # (x shape, ksize, strides, pads)
    ((2, 6, 7, 3), (2, 2), (2, 2), ((0, 0), (0, 1))),
    ((1, 5, 5, 2), (3, 3), (1, 1), ((1, 1), (1, 1))),
    ((2, 7, 5, 1), (3, 2), (2, 1), ((1, 1), (0, 1))),
    ((1, 4, 4, 3), (4, 4), (4, 4), ((0, 0), (0, 0))),
    ((1, 3, 3, 2), (2, 2), (1, 1), ((0, 1), (0, 1))),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool2d_and_gradient(case, op, dtype):
    x_shape, ksize, strides, pads = POOL_CASES[case]
    arr = np.round(rand(x_shape, dtype, 130 + case) * 2) / 2  # coarse values: ties in max windows
    px, nx = make(arr, dtype)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype is F32 else dict(rtol=1e-12, atol=1e-12)
    ny = NB.pool2d(op, nx, ksize, strides, pads)
    check(PB.pool2d(op, px, ksize, strides, pads), ny, **tol)
    pdy, ndy = make(rand(ny.shape, dtype, 140 + case), dtype)
    check(PB.pool2d_grad(op, px, pdy, ksize, strides, pads), NB.pool2d_grad(op, nx, ndy, ksize, strides, pads),
          **tol)


def test_pool2d_ints_nan_and_neg_inf():
    for dtype in (I32, I64):
        p, n = make(rand((2, 5, 6, 2), dtype, 150), dtype)
        for op in ("max", "avg"):
            check(PB.pool2d(op, p, (2, 3), (2, 2), ((0, 1), (1, 1))), NB.pool2d(op, n, (2, 3), (2, 2), ((0, 1), (1, 1))))
    arr = np.array([[NAN, 1.0, 2.0], [3.0, -INF, 4.0], [-INF, -INF, NAN]], np.float32).reshape(1, 3, 3, 1)
    px, nx = make(arr, F32)
    args = ((2, 2), (1, 1), ((1, 1), (1, 1)))
    ny = NB.pool2d("max", nx, *args)
    check(PB.pool2d("max", px, *args), ny, rtol=0)
    pdy, ndy = make(np.arange(ny.size, dtype=np.float32).reshape(ny.shape) + 1, F32)
    check(PB.pool2d_grad("max", px, pdy, *args), NB.pool2d_grad("max", nx, ndy, *args), rtol=0)


def test_matmul_and_conv_are_fast_enough():
    p, _ = make(rand((64, 64), F32, 1), F32)
    start = time.perf_counter()
    PB.matmul(p, p, False, False)
    assert time.perf_counter() - start < 0.25
    px, _ = make(rand((2, 16, 16, 3), F32, 2), F32)
    pw, _ = make(rand((3, 3, 3, 8), F32, 3), F32)
    start = time.perf_counter()
    PB.conv2d(px, pw, (1, 1), ((1, 1), (1, 1)), (1, 1))
    assert time.perf_counter() - start < 0.25


# ---------------------------------------------------------------- end to end

@pytest.fixture
def python_default():
    from pykernel import backends
    backends.register("pycpu", PythonBackend)
    backends.set_default("pycpu")
    try:
        yield backends.get("pycpu")
    finally:
        backends.set_default("cpu")


def _small_training_step():
    import pykernel as tf
    r = np.random.default_rng(7)
    x = tf.constant(r.standard_normal((3, 6, 6, 2)).astype(np.float32).tolist())
    w = tf.constant((0.5 * r.standard_normal((3, 3, 2, 4))).astype(np.float32).tolist())
    w2 = tf.constant((0.3 * r.standard_normal((36, 5))).astype(np.float32).tolist())
    b2 = tf.constant([0.1, -0.2, 0.0, 0.3, 0.05])
    labels = tf.one_hot(tf.constant([1, 4, 0]), 5)
    with tf.GradientTape() as tape:
        tape.watch([x, w, w2, b2])
        h = tf.nn.relu(tf.nn.conv2d(x, w, strides=1, padding="SAME"))
        h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")
        logits = tf.matmul(tf.reshape(h, (3, 36)), w2) + b2
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels, logits))
    grads = tape.gradient(loss, [x, w, w2, b2])
    tf.random.set_seed(5)
    noise = tf.random.uniform((2, 3), seed=11)
    normal = tf.random.normal((4,), seed=3)
    return loss, grads, noise, normal


def test_end_to_end_gradient_tape_matches_numpy(python_default):
    loss_p, grads_p, noise_p, normal_p = _small_training_step()
    assert isinstance(loss_p.backend, PythonBackend)
    assert all(isinstance(g.backend, PythonBackend) for g in grads_p)
    from pykernel import backends
    backends.set_default("cpu")
    loss_n, grads_n, noise_n, normal_n = _small_training_step()
    assert isinstance(loss_n.backend, NumpyBackend)
    np.testing.assert_allclose(loss_p.item(), loss_n.item(), rtol=1e-5)
    for gp, gn in zip(grads_p, grads_n):
        assert gp.shape == gn.shape and gp.dtype is gn.dtype
        np.testing.assert_allclose(np.array(gp.tolist()), gn.numpy(), rtol=1e-4, atol=1e-6)
    assert noise_p.tolist() == noise_n.tolist()
    np.testing.assert_allclose(normal_p.tolist(), normal_n.numpy(), rtol=1e-5, atol=1e-6)


NO_NUMPY_SCRIPT = textwrap.dedent("""
    import sys

    class BlockNumpy:
        def find_spec(self, name, path=None, target=None):
            if name == "numpy" or name.startswith("numpy."):
                raise ImportError("numpy is blocked for this test")

    sys.meta_path.insert(0, BlockNumpy())
    import pykernel as tf
    from pykernel import backends
    from pykernel.backends.python_backend import PythonBackend
    backends.register("pycpu", PythonBackend)
    backends.set_default("pycpu")
    c = tf.add(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]))
    assert c.tolist() == [4.0, 6.0], c.tolist()
    assert "[4. 6.]" in str(c) or "[4.0, 6.0]" in str(c), str(c)
    x = tf.constant([[1.0, 2.0], [3.0, -1.0]])
    w = tf.constant([[0.5], [-1.0]])
    with tf.GradientTape() as tape:
        tape.watch(w)
        y = tf.reduce_sum(tf.nn.sigmoid(tf.matmul(x, w)) * 2.0)
    g = tape.gradient(y, w)
    assert g.shape == (2, 1), g.shape
    s = [2 * (1 / (1 + 2.718281828459045 ** 1.5)) * (1 - 1 / (1 + 2.718281828459045 ** 1.5)),
         2 * (1 / (1 + 2.718281828459045 ** -2.5)) * (1 - 1 / (1 + 2.718281828459045 ** -2.5))]
    expect = [s[0] * 1.0 + s[1] * 3.0, s[0] * 2.0 + s[1] * -1.0]
    got = [v[0] for v in g.tolist()]
    assert all(abs(a - b) < 1e-5 for a, b in zip(got, expect)), (got, expect)
    assert not any(m == "numpy" or m.startswith("numpy.") for m in sys.modules)
    print("OK")
""")


def test_runs_without_numpy():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYKERNEL_DEVICE", None)
    result = subprocess.run([sys.executable, "-c", NO_NUMPY_SCRIPT], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
