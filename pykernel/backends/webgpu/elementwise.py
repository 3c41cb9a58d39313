"""The map kernel family: elementwise ops and strided copies, all from shaders/map.wgsl."""
import math
import struct

from ... import dtypes
from .buffers import GPUArray
from .kernels import I64, fill, template, wgsl_type

MAX_RANK = 8
WORKGROUP = 256

# Helper functions some expressions call; included only in kernels that use them.
HELPERS = {
    "is_nan": "fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }",
    "is_inf_or_nan": "fn is_inf_or_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }",
    # Vulkan only bounds log's *absolute* error (2^-21) on [0.5, 2]: near 1 that is a large relative
    # error (it broke log1p/expm1's Kahan tricks: 1e-3 relative at 3e-5). There, x - 1 is exact and
    # log(x) = 2 atanh(s), s = (x-1)/(x+1) <= 0.05: series to s^9 (truncation < 1e-13).
    "accurate_log": """fn accurate_log(x: f32) -> f32 {
    if (abs(x - 1.0) < 0.1) {
        let s = (x - 1.0) / (x + 1.0);
        let s2 = s * s;
        return 2.0 * s * (1.0 + s2 * (0.33333333 + s2 * (0.2 + s2 * (0.14285714 + s2 * 0.11111111))));
    }
    // WGSL leaves log of a negative number undefined (SwiftShader returns log|x|): NaN, as IEEE
    if (x < 0.0) { return bitcast<f32>(0x7fc00000u + u32(x != x)); }   // Tint rejects a constant NaN
    return log(x);
}""",
    "stable_sigmoid": """fn stable_sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}""",
    # (1 - e) / (1 + e) cancels for small |x| (tanh(1e-30) came out as 3e-8): odd Taylor series
    # there (truncation < 1e-10 relative below 0.1)
    "stable_tanh": """fn stable_tanh(x: f32) -> f32 {
    if (abs(x) < 0.1) {
        let x2 = x * x;
        return x * (1.0 + x2 * (-0.33333333 + x2 * (0.13333333 + x2 * -0.053968254)));
    }
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}""",
    # Abramowitz & Stegun 7.1.26 refined with one extra term: |error| < 1.5e-7, float32-exact enough.
    # Its error is absolute, so for |x| < 0.5 (erf(1e-30) came out as 0) use the Maclaurin series
    # 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320): truncation < 3e-8 relative.
    "erf": """fn erf_approx(x: f32) -> f32 {
    if (abs(x) < 0.5) {
        let x2 = x * x;
        return 1.1283791671 * x * (1.0 + x2 * (-0.33333333 + x2 * (0.1 + x2 * (-0.023809524
            + x2 * (0.0046296296 + x2 * -0.00075757576)))));
    }
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                   + 0.254829592) * t * exp(-x * x);
    return sign(x) * y;
}""",
    # split-K partial sums (matmul._sum_splits): p.consts.x values p.consts.y apart, added
    # left to right exactly like the expression a + b + c + ..., but one pipeline for every
    # fan-in instead of one per count of inputs
    "sum_run": """fn sum_run(first: f32, o: i32) -> f32 {
    var s = first;
    for (var j = 1; j < p.consts.x; j = j + 1) { s = s + in0[o + j * p.consts.y]; }
    return s;
}""",
    "pow": """fn pow_real(a: f32, b: f32) -> f32 {
    // WGSL pow is undefined for a < 0 and for NaN; NumPy gives a real result when b is an
    // integer, 1 for x^0 and 1^y (NaN included), NaN for any other NaN operand.
    if (b == 0.0 || a == 1.0) { return 1.0; }
    if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u + u32(b != b)); }   // a != a folds away
    if (a == -1.0 && (bitcast<u32>(b) & 0x7fffffffu) == 0x7f800000u) { return 1.0; }   // (-1)^(+-inf), as C's pow
    let odd = abs(b) < 16777216.0 && floor(b) == b && (i32(b) & 1) == 1;   // from 2^24 on, f32 integers are even
    if (a == 0.0) {   // exp2(b * log2(0)) is not exactly 0 everywhere (SwiftShader: 7.7e-20 for 0^0.5)
        let z = select(bitcast<f32>(0x7f800000u + u32(b != b)), 0.0, b > 0.0);   // +inf for b < 0
        return select(z, -z, odd && (bitcast<u32>(a) & 0x80000000u) != 0u);
    }
    let m = pow(abs(a), b);
    if (a >= 0.0) { return m; }
    let minus_inf = bitcast<u32>(a) == 0xff800000u;   // (-inf)^y is +-inf or +-0, never NaN
    if (floor(b) != b && !minus_inf) { return bitcast<f32>(0x7fc00000u + u32(b != b)); }  // Tint rejects a constant NaN
    return select(m, -m, odd);
}""",
    "ipow": """fn ipow(a: i32, b: i32) -> i32 {
    var r = 1; var base = a; var e = b;
    if (e < 0) { return select(0, r, a == 1); }
    loop { if (e == 0) { break; } if ((e & 1) == 1) { r = r * base; } base = base * base; e = e >> 1u; }
    return r;
}""",
    "ifloordiv": """fn ifloordiv(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    let q = a / b;
    return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}""",
    # TF's FloorMod for floats: fmod, then the sign of the divisor. a - b * floor(a / b) is NaN
    # for an infinite divisor (inf * 0); there the remainder is a itself (or b, on the other side)
    "fmod_floor": """fn fmod_floor(a: f32, b: f32) -> f32 {
    if ((bitcast<u32>(b) & 0x7fffffffu) == 0x7f800000u && !is_inf_or_nan(a)) {   // b = +-inf, a finite
        return select(a, b, a != 0.0 && ((a < 0.0) != (b < 0.0)));
    }
    return a - b * floor(a / b);
}""",
    "imod": """fn imod(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    let r = a % b;
    return select(r, r + b, r != 0 && ((r < 0) != (b < 0)));
}""",
}

# int64 as vec2<u32> (low word, high word; two's complement). Every function wraps modulo
# 2^64 like C++'s (and TF's) int64 arithmetic; division by zero gives 0 (ops/checks.py
# raises before that is ever read).
HELPERS["i64"] = """fn i64_from_i32(a: i32) -> vec2<u32> { return vec2<u32>(bitcast<u32>(a), select(0u, 0xffffffffu, a < 0)); }
fn i64_is_neg(a: vec2<u32>) -> bool { return bitcast<i32>(a.y) < 0; }
fn i64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn i64_neg(a: vec2<u32>) -> vec2<u32> {
    let lo = ~a.x + 1u;
    return vec2<u32>(lo, ~a.y + select(0u, 1u, lo == 0u));
}
fn i64_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return i64_add(a, i64_neg(b)); }
fn i64_abs(a: vec2<u32>) -> vec2<u32> { return select(a, i64_neg(a), i64_is_neg(a)); }
fn u32_mul_wide(a: u32, b: u32) -> vec2<u32> {   // the full 64-bit product of two u32s
    let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
    let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
fn i64_mul(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let low = u32_mul_wide(a.x, b.x);
    return vec2<u32>(low.x, low.y + a.x * b.y + a.y * b.x);
}
fn u64_lt(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }
fn i64_lt(a: vec2<u32>, b: vec2<u32>) -> bool {
    let ah = bitcast<i32>(a.y); let bh = bitcast<i32>(b.y);
    return ah < bh || (ah == bh && a.x < b.x);
}
fn i64_eq(a: vec2<u32>, b: vec2<u32>) -> bool { return a.x == b.x && a.y == b.y; }
fn i64_nonzero(a: vec2<u32>) -> bool { return (a.x | a.y) != 0u; }
fn i64_max(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, i64_lt(a, b)); }
fn i64_min(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, i64_lt(b, a)); }
fn i64_sign(a: vec2<u32>) -> vec2<u32> {
    if (i64_is_neg(a)) { return vec2<u32>(0xffffffffu, 0xffffffffu); }
    return vec2<u32>(select(0u, 1u, i64_nonzero(a)), 0u);
}
struct U64DivMod { q: vec2<u32>, r: vec2<u32> }
fn u64_divmod(n: vec2<u32>, d: vec2<u32>) -> U64DivMod {   // shift-subtract, one bit a step
    var q = vec2<u32>(0u, 0u);
    var r = vec2<u32>(0u, 0u);
    if (!i64_nonzero(d)) { return U64DivMod(q, r); }
    for (var i = 63; i >= 0; i = i - 1) {
        let word = select(n.x, n.y, i >= 32);
        let bit = (word >> u32(i % 32)) & 1u;
        r = vec2<u32>((r.x << 1u) | bit, (r.y << 1u) | (r.x >> 31u));
        if (!u64_lt(r, d)) {
            r = i64_sub(r, d);
            if (i >= 32) { q.y = q.y | (1u << u32(i - 32)); } else { q.x = q.x | (1u << u32(i)); }
        }
    }
    return U64DivMod(q, r);
}
fn i64_truncdiv(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let m = u64_divmod(i64_abs(a), i64_abs(b));
    return select(m.q, i64_neg(m.q), i64_is_neg(a) != i64_is_neg(b));
}
fn i64_floordiv(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let m = u64_divmod(i64_abs(a), i64_abs(b));
    if (i64_is_neg(a) == i64_is_neg(b)) { return m.q; }
    return i64_sub(i64_neg(m.q), vec2<u32>(select(0u, 1u, i64_nonzero(m.r)), 0u));
}
fn i64_mod(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {   // the sign of the divisor, like Python
    let m = u64_divmod(i64_abs(a), i64_abs(b));
    let r = select(m.r, i64_neg(m.r), i64_is_neg(a));
    if (i64_nonzero(r) && i64_is_neg(r) != i64_is_neg(b)) { return i64_add(r, b); }
    return r;
}
fn i64_pow(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let one = vec2<u32>(1u, 0u);
    if (i64_is_neg(b)) { return select(vec2<u32>(0u, 0u), one, i64_eq(a, one)); }
    var r = one; var base = a; var e = b;
    loop {
        if (!i64_nonzero(e)) { break; }
        if ((e.x & 1u) == 1u) { r = i64_mul(r, base); }
        base = i64_mul(base, base);
        e = vec2<u32>((e.x >> 1u) | (e.y << 31u), e.y >> 1u);
    }
    return r;
}
fn i64_from_f32(x: f32) -> vec2<u32> {   // toward zero; NaN and |x| >= 2^63 give INT64_MIN (as x86, NumPy)
    let t = abs(trunc(x));
    // NaN by its bits: compilers may fold x != x to false
    if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u || t >= 9223372036854775808.0) { return vec2<u32>(0u, 0x80000000u); }
    let hi = floor(t / 4294967296.0);
    let m = vec2<u32>(u32(t - hi * 4294967296.0), u32(hi));   // both parts exact in f32
    return select(m, i64_neg(m), x < 0.0);
}
fn i64_to_f32(a: vec2<u32>) -> f32 {   // exact below 2^32 in magnitude (sign-magnitude, no cancellation)
    let m = i64_abs(a);
    let f = f32(m.y) * 4294967296.0 + f32(m.x);
    return select(f, -f, i64_is_neg(a));
}"""

_I64_UNARY = {"neg": "i64_neg(a)", "abs": "i64_abs(a)", "sign": "i64_sign(a)"}
_I64_BINARY = {
    "add": "i64_add(a, b)", "sub": "i64_sub(a, b)", "mul": "i64_mul(a, b)", "div": "i64_truncdiv(a, b)",
    "pow": "i64_pow(a, b)", "maximum": "i64_max(a, b)", "minimum": "i64_min(a, b)",
    "floordiv": "i64_floordiv(a, b)", "mod": "i64_mod(a, b)",
}
_I64_COMPARE = {"equal": "i64_eq(a, b)", "not_equal": "!i64_eq(a, b)", "less": "i64_lt(a, b)",
                "less_equal": "!i64_lt(b, a)", "greater": "i64_lt(b, a)", "greater_equal": "!i64_lt(a, b)"}

_FLOAT_UNARY = {
    "neg": ("-a", ()), "exp": ("exp(a)", ()), "log": ("accurate_log(a)", ("accurate_log",)), "sqrt": ("sqrt(a)", ()),
    "rsqrt": ("inverseSqrt(a)", ()), "abs": ("abs(a)", ()), "sign": ("sign(a)", ()),
    "tanh": ("stable_tanh(a)", ("stable_tanh",)), "sigmoid": ("stable_sigmoid(a)", ("stable_sigmoid",)),
    "erf": ("erf_approx(a)", ("erf",)), "sin": ("sin(a)", ()), "cos": ("cos(a)", ()),
    "floor": ("floor(a)", ()), "ceil": ("ceil(a)", ()), "round": ("round(a)", ()),
    "reciprocal": ("1.0 / a", ()),
}
_INT_UNARY = {"neg": "-a", "abs": "abs(a)", "sign": "sign(a)"}
_FLOAT_BINARY = {
    "add": ("a + b", ()), "sub": ("a - b", ()), "mul": ("a * b", ()), "div": ("a / b", ()),
    "pow": ("pow_real(a, b)", ("is_nan", "pow")),
    "maximum": ("select(select(b, a, a >= b), a, is_nan(a))", ("is_nan",)),
    "minimum": ("select(select(b, a, a <= b), a, is_nan(a))", ("is_nan",)),
    "floordiv": ("floor(a / b)", ()), "mod": ("fmod_floor(a, b)", ("fmod_floor", "is_inf_or_nan")),
}
_INT_BINARY = {
    "add": ("a + b", ()), "sub": ("a - b", ()), "mul": ("a * b", ()),
    "div": ("select(a / b, 0, b == 0)", ()), "pow": ("ipow(a, b)", ("ipow",)),
    "maximum": ("max(a, b)", ()), "minimum": ("min(a, b)", ()),
    "floordiv": ("ifloordiv(a, b)", ("ifloordiv",)), "mod": ("imod(a, b)", ("imod",)),
}
_UNSIGNED_BINARY = {
    "add": "a + b", "sub": "a - b", "mul": "a * b", "div": "select(a / b, 0u, b == 0u)",
    "maximum": "max(a, b)", "minimum": "min(a, b)", "floordiv": "select(a / b, 0u, b == 0u)",
    "mod": "select(a % b, 0u, b == 0u)",
}
_COMPARE = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
            "greater_equal": ">="}


def unary_expr(op, dtype):
    """(WGSL expression over `a`, helper names, output dtype)."""
    if op == "logical_not":
        return "select(0u, 1u, a == 0u)", (), dtypes.bool_
    if op == "isnan":
        return ("select(0u, 1u, is_nan(a))", ("is_nan",), dtypes.bool_) if dtype.is_floating \
            else ("0u", (), dtypes.bool_)
    if op == "isfinite":
        return ("select(1u, 0u, is_inf_or_nan(a))", ("is_inf_or_nan",), dtypes.bool_) if dtype.is_floating \
            else ("1u", (), dtypes.bool_)
    if dtype.is_floating:
        expr, helpers = _FLOAT_UNARY[op]
        if op != "neg":
            # NaN in, NaN out: WGSL leaves builtins' NaN results to the implementation, and
            # they differ (SwiftShader's log(NaN) is 89.1, lavapipe's sign(NaN) is 0)
            expr, helpers = f"select({expr}, a, is_nan(a))", tuple(sorted(set(helpers) | {"is_nan"}))
        return expr, helpers, dtype
    if op in _INT_UNARY and wgsl_type(dtype) == "i32":
        return _INT_UNARY[op], (), dtype
    if op in _I64_UNARY and wgsl_type(dtype) == I64:
        return _I64_UNARY[op], ("i64",), dtype
    if op in ("abs", "floor", "ceil", "round") and wgsl_type(dtype) == "u32":
        return "a", (), dtype
    raise TypeError(f"unary op {op!r} is not defined for {dtype.name} on WebGPU")


def binary_expr(op, dtype):
    kind = wgsl_type(dtype)
    if op in _I64_COMPARE and kind == I64:
        return f"select(0u, 1u, {_I64_COMPARE[op]})", ("i64",), dtypes.bool_
    if op == "not_equal" and kind == "f32":   # != compiles to an ordered compare: NaN != x would be false
        return "select(1u, 0u, a == b)", (), dtypes.bool_
    if op in _COMPARE:
        return f"select(0u, 1u, a {_COMPARE[op]} b)", (), dtypes.bool_
    if op == "logical_and":
        return "select(0u, 1u, a != 0u && b != 0u)", (), dtypes.bool_
    if op == "logical_or":
        return "select(0u, 1u, a != 0u || b != 0u)", (), dtypes.bool_
    if kind == "f32":
        expr, helpers = _FLOAT_BINARY[op]
    elif kind == I64 and op in _I64_BINARY:
        expr, helpers = _I64_BINARY[op], ("i64",)
    elif kind == "i32":
        expr, helpers = _INT_BINARY[op]
    elif op in _UNSIGNED_BINARY:
        expr, helpers = _UNSIGNED_BINARY[op], ()
    else:
        raise TypeError(f"binary op {op!r} is not defined for {dtype.name} on WebGPU")
    return expr, helpers, dtype


def cast_expr(src, dst):
    """(WGSL expression over `a`, helper names)."""
    s, d = wgsl_type(src), wgsl_type(dst)
    if s == I64 or d == I64:
        return _cast_i64_expr(s, d, dst), ("i64",)
    if dst.is_bool:
        zero = {"f32": "0.0", "i32": "0", "u32": "0u"}[s]
        return f"select(1u, 0u, a == {zero})", ()   # not a != 0: an ordered compare, false for NaN
    if s == d:
        return "a", ()
    if dst is dtypes.uint8:
        return f"u32({'i32(a)' if s == 'f32' else 'a'}) & 255u", ()
    return f"{d}(a)", ()


def _cast_i64_expr(s, d, dst):
    """Casts to and from int64 (TF's: narrowing keeps the low bits, floats truncate)."""
    if s == d:
        return "a"
    if s == I64:
        if dst.is_bool:
            return "select(0u, 1u, i64_nonzero(a))"
        return {"f32": "i64_to_f32(a)", "i32": "bitcast<i32>(a.x)", "u32": "a.x & 255u"}[d]
    return {"f32": "i64_from_f32(a)", "i32": "i64_from_i32(a)", "u32": "vec2<u32>(a, 0u)"}[s]


# ------------------------------------------------------------------ views

def contiguous_strides(shape):
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


def broadcast_view(shape, out_shape):
    """(offset, strides) reading an array of `shape` broadcast to `out_shape`."""
    strides = contiguous_strides(shape)
    pad = len(out_shape) - len(shape)
    return 0, tuple([0] * pad + [0 if d == 1 else s for d, s in zip(shape, strides)])


def _params(numel, row_pitch, out_shape, views, consts=(0, 0, 0, 0)):
    ints = [numel, row_pitch, len(out_shape), 0] + list(consts)
    shape8 = list(out_shape) + [1] * (MAX_RANK - len(out_shape))
    body = list(shape8)
    for offset, strides in views or [(0, ())]:  # the uniform struct always holds one view
        body += [offset, 0, 0, 0] + list(strides) + [0] * (MAX_RANK - len(strides))
    return struct.pack(f"<4I4i{len(body)}i", *ints, *body)


def collapse(out_shape, views):
    """(shape, views) with size-1 dims dropped and neighbours merged wherever every view
    steps through them evenly: same-shape elementwise ops become rank 1, a bias add rank 2.
    The kernel's rank is a uniform, so this is what keeps the index loop short; it also
    means the same expression over tensors of any rank shares one pipeline."""
    dims = []   # [size, [stride per view]]
    for d, size in enumerate(out_shape):
        if size == 1:
            continue
        strides = [s[d] for _, s in views]
        if dims and all(prev == st * size for prev, st in zip(dims[-1][1], strides)):
            dims[-1] = [dims[-1][0] * size, strides]
        else:
            dims.append([size, strides])
    shape = tuple(size for size, _ in dims)
    return shape, [(offset, tuple(st[k] for _, st in dims)) for k, (offset, _) in enumerate(views)]


def grid(device, invocations, workgroup=WORKGROUP):
    """A 2-D workgroup grid covering `invocations`, within the per-dimension limit."""
    groups = max(1, -(-invocations // workgroup))
    limit = device.max_workgroups_per_dimension
    gx = min(groups, limit)
    gy = -(-groups // gx)
    if gy > limit:
        raise MemoryError(f"{invocations} elements exceed what one dispatch can cover on this device")
    return (gx, gy, 1), gx * workgroup


def run_map(backend, expr, inputs, out_shape, out_dtype, helpers=(), consts=(0, 0, 0, 0)):
    """out[i] = expr(v0, v1, ...) where vK = inputs[K].array read through inputs[K].view.
    `consts`: four ints the expression or its helpers may read as p.consts (not in the key)."""
    in_types = tuple(wgsl_type(arr.dtype) for arr, _ in inputs)
    out_type = wgsl_type(out_dtype)
    if expr == "a" and in_types == (out_type,) and out_type != I64:
        # a plain copy (transpose, broadcast, slice, ...) moves 32-bit words whatever their
        # dtype: one pipeline for f32, i32, u32 alike (storage bindings are untyped)
        in_types, out_type = ("u32",), "u32"
    # No rank in the key: the kernel loops over p.rank (a uniform) dims, so an expression
    # compiles once for every shape and rank (each distinct pipeline is a shader compile:
    # ~0.3 s on SwiftShader).
    key = ("map", expr, in_types, out_type, tuple(sorted(helpers)))
    loads = [f"    let {'abcdefgh'[k]} = in{k}[o{k}];" for k in range(len(in_types))]
    return _launch(backend, key, lambda: _map_wgsl(in_types, out_type, loads, expr,
                                                   [HELPERS[h] for h in sorted(helpers)]),
                   inputs, out_shape, out_dtype, consts)


def _map_wgsl(in_types, out_type, loads, expr, functions):
    """shaders/map.wgsl for inputs of `in_types`: `loads` (and statements) then out[i] = expr."""
    count = len(in_types)
    bindings = "\n".join(f"@group(0) @binding({k + 1}) var<storage, read> in{k}: array<{t}>;"
                         for k, t in enumerate(in_types))
    return fill(template("map"), INPUTS=bindings, OUT_BINDING=count + 1, OUT_TYPE=out_type,
                VIEW_VEC4S=max(1, 3 * count),
                OFFSETS="\n".join(f"    var o{k} = view_offset({k}u);" for k in range(count)),
                STEPS="\n".join(f"        o{k} = o{k} + j * view_stride({k}u, d);" for k in range(count)),
                LOADS="\n".join(loads), EXPR=expr, HELPERS="\n".join(functions))


def _launch(backend, key, make_wgsl, inputs, out_shape, out_dtype, consts=(0, 0, 0, 0)):
    """One map-kernel dispatch over `inputs` ((array, view) pairs) into a new array."""
    out_shape = tuple(out_shape)
    if len(out_shape) > MAX_RANK:
        raise ValueError(f"WebGPU kernels support tensors of rank <= {MAX_RANK}, got {len(out_shape)}")
    out = backend.empty(out_shape, out_dtype)
    numel = math.prod(out_shape)
    if numel == 0:
        return out
    shape, views = collapse(out_shape, [view for _, view in inputs])
    pipeline = backend.pipelines.get(key, make_wgsl)
    groups, row_pitch = grid(backend.device, numel)
    params = _params(numel, row_pitch, shape, views, consts)
    backend.device.dispatch(pipeline, [arr.handle for arr, _ in inputs] + [out.handle], params, groups)
    return out


# ------------------------------------------------------------------ fused groups

def _wgsl_literal(value, dtype):
    kind = wgsl_type(dtype)
    if kind == "u32":
        return f"{int(bool(value)) if dtype.is_bool else int(value)}u"
    if kind == "i32":
        return f"i32({int(value)})"
    # by its bits: exact, and WGSL has no literal for inf or NaN
    return f"bitcast<f32>({struct.unpack('<I', struct.pack('<f', value))[0]}u)"


def _instruction(kind, attr, arg_dtypes):
    """(WGSL expression over a, b, c, helper names, result dtype) of one fused instruction."""
    if kind == "unary":
        return unary_expr(attr, arg_dtypes[0])
    if kind == "binary":
        return binary_expr(attr, arg_dtypes[0])
    if kind == "cast":
        expr, helpers = cast_expr(arg_dtypes[0], attr)
        return expr, helpers, attr
    if kind == "broadcast_to":   # the input's view already broadcasts it
        return "a", (), arg_dtypes[0]
    if kind == "where":   # where(cond, x, y): a = cond
        return "select(c, b, a != 0u)", (), arg_dtypes[1]
    raise ValueError(f"internal error: unknown fused instruction {kind!r}")


def fused_source(program, in_dtypes, literal_slots=None):
    """(helper functions + one function per instruction, statement lines, result name, helper
    names): the WGSL that computes a fused program from loads v0, v1, ...
    `literal_slots` maps instruction indices of literals to p.consts slots: those are read
    from the uniform (as their bits) instead of written into the code."""
    value_dtypes = list(in_dtypes)
    functions, lines, helpers = [], [], set()
    for j, (kind, attr, args) in enumerate(program):
        name = f"t{j}"
        if kind == "literal":
            value, dtype = attr
            slot = (literal_slots or {}).get(j)
            code = _wgsl_literal(value, dtype) if slot is None else _const_literal(slot, dtype)
            lines.append(f"    let {name} = {code};")
            value_dtypes.append(dtype)
            continue
        arg_dtypes = [value_dtypes[k] for k in args]
        expr, needs, out_dtype = _instruction(kind, attr, arg_dtypes)
        helpers.update(needs)
        params = ", ".join(f"{'abc'[i]}: {wgsl_type(d)}" for i, d in enumerate(arg_dtypes))
        functions.append(f"fn op{j}({params}) -> {wgsl_type(out_dtype)} {{ return {expr}; }}")
        refs = ", ".join(f"v{k}" if k < len(in_dtypes) else f"t{k - len(in_dtypes)}" for k in args)
        lines.append(f"    let {name} = op{j}({refs});")
        value_dtypes.append(out_dtype)
    return functions, lines, f"t{len(program) - 1}", helpers


def _const_literal(slot, dtype):
    kind = wgsl_type(dtype)
    return f"p.consts[{slot}]" if kind == "i32" else f"bitcast<{kind}>(p.consts[{slot}])"


def _literal_bits(value, dtype):
    kind = wgsl_type(dtype)
    if kind == "u32":
        word = struct.pack("<I", int(bool(value)) if dtype.is_bool else int(value))
    elif kind == "i32":
        return int(value)
    else:
        word = struct.pack("<f", value)
    return struct.unpack("<i", word)[0]       # p.consts is vec4<i32>: the same bits


def _generalised_literals(backend, program):
    """Literal slots for `program`, or None to fold its literals into the code.

    Folding makes the kernel specific to its constants, and some constants differ between
    programs that are otherwise the same: 1/batch in a mean, a learning-rate-dependent
    factor, a layer's dropout rate. The first literal set a program shape is seen with is
    folded; from the second on, that shape's literals (up to the four p.consts words) are
    read from the uniform, so a new batch size or rate costs no new shader compile."""
    literals = [j for j, (kind, _, _) in enumerate(program) if kind == "literal"]
    if not literals or len(literals) > 4:
        return None
    shape = tuple((kind, attr[1] if kind == "literal" else attr, args) for kind, attr, args in program)
    values = tuple(program[j][1][0] for j in literals)
    cache = backend.pipelines
    seen = cache.fused_literal_sets.setdefault(shape, values if cache.specialise_literals else True)
    if seen is not True and seen == values:
        return None
    cache.fused_literal_sets[shape] = True   # from now on: generic
    return {j: slot for slot, j in enumerate(literals)}


def run_fused(backend, program, inputs, out_shape, out_dtype):
    """One map kernel for a fused elementwise group (graph/fuse.py): every input read through
    its broadcasting view of `out_shape`, the instructions inlined, one write."""
    in_types = tuple(wgsl_type(x.dtype) for x in inputs)
    slots = _generalised_literals(backend, program)
    consts = (0, 0, 0, 0)
    if slots is None:
        key = ("fused", program, tuple(x.dtype.name for x in inputs))
    else:
        key = ("fused", tuple((k, a[1] if k == "literal" else a, g) for k, a, g in program),
               tuple(x.dtype.name for x in inputs), "consts")
        bits = [_literal_bits(*program[j][1]) for j in sorted(slots)]
        consts = tuple(bits + [0] * (4 - len(bits)))

    def make_wgsl():
        functions, lines, result, helpers = fused_source(program, [x.dtype for x in inputs], slots)
        loads = [f"    let v{k} = in{k}[o{k}];" for k in range(len(in_types))] + lines
        return _map_wgsl(in_types, wgsl_type(out_dtype), loads, result,
                         [HELPERS[h] for h in sorted(helpers)] + functions)

    return _launch(backend, key, make_wgsl, [(x, broadcast_view(x.shape, tuple(out_shape))) for x in inputs],
                   out_shape, out_dtype, consts)
