"""Reductions (sum, prod, max, min, any, all) and arg-reductions from shaders/reduce.wgsl.

The input is read in place through two sets of strides: kept dims (which output) and
reduced dims (which element of that output's reduction). Threads per output scale with the
reduction length; long reductions are split into chunks whose partials a second dispatch
(the same kernel) reduces, so no thread folds more than SERIAL elements on its own.
"""
import math
import struct

from ... import dtypes
from .elementwise import HELPERS, contiguous_strides, grid
from .kernels import I64, fill, template, wgsl_type

SERIAL = 32       # elements one thread folds before the tree: short enough for accurate f32 sums
_INF_BITS = 0x7f800000   # passed in a uniform: infinite constants are a shader-creation error
MAX_GROUPS = 4    # merged kept (or reduced) dims; rank <= 8 never needs more

_NAN_MAX = "select(select(max(a, b), b, is_nan(b)), a, is_nan(a))"
_NAN_MIN = "select(select(min(a, b), b, is_nan(b)), a, is_nan(a))"


def reduce(backend, op, x, axes, keepdims):
    axes = {a % len(x.shape) for a in axes} if x.shape else set()
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keepdims or i not in axes)
    out_dtype = dtypes.bool_ if op in ("any", "all") else x.dtype
    if math.prod(out_shape) == 0:
        return backend.empty(out_shape, out_dtype)
    kept, red = _groups(x.shape, axes)
    return _run(backend, _ReduceKernel(op, x.dtype, out_dtype), x, kept, red, out_shape)


def arg_reduce(backend, op, x, axis, dtype):
    axis %= len(x.shape)
    out_shape = x.shape[:axis] + x.shape[axis + 1:]
    if math.prod(out_shape) == 0:
        return backend.empty(out_shape, dtype)
    kept, red = _groups(x.shape, {axis})
    return _run(backend, _ArgKernel(op, x.dtype, dtype), x, kept, red, out_shape)


def _groups(shape, axes):
    """([(size, stride)] kept, [(size, stride)] reduced), outermost first, adjacent dims of a
    kind merged and size-1 dims dropped: fewer index divisions in the inner loop."""
    kept, red, last = [], [], None
    for d, (size, stride) in enumerate(zip(shape, contiguous_strides(shape))):
        if size == 1:
            continue
        side = red if d in axes else kept
        if side is last:
            side[-1] = (side[-1][0] * size, stride)
        else:
            side.append((size, stride))
        last = side
    if len(kept) > MAX_GROUPS or len(red) > MAX_GROUPS:
        raise ValueError(f"WebGPU reductions support tensors of rank <= 8, got shape {tuple(shape)}")
    return kept, red


def _lanes(outputs, size, lane_inner):
    """Threads per output: enough that each folds about SERIAL elements. When the kept axis
    is the contiguous one, keep at least min(outputs, 32) outputs per workgroup so that
    neighbouring threads read neighbouring addresses."""
    cap = 256 if lane_inner else 256 // min(32, _pow2(outputs))
    return max(1, min(cap, _pow2(-(-size // SERIAL))))


def _pow2(n):
    return 1 << max(0, n - 1).bit_length()


def _run(backend, kernel, src, kept, red, out_shape, pairs_in=False):
    outputs = math.prod(s for s, _ in kept)
    size = math.prod(s for s, _ in red)
    lane_inner = bool(red) and red[-1][1] == 1
    lanes = _lanes(outputs, size, lane_inner)
    chunk_len = lanes * SERIAL
    chunks = max(1, -(-size // chunk_len))
    final = chunks == 1
    items = outputs * chunks
    if final:
        out = backend.empty(out_shape, kernel.out_dtype)
    else:
        out = backend.empty((items * kernel.partial_width,), kernel.partial_dtype)
    lane_step = 1 if lane_inner or lanes == 1 else 256 // lanes

    values = dict(IN_TYPE="u32" if pairs_in else wgsl_type(src.dtype),
                  OUT_TYPE=wgsl_type(kernel.out_dtype if final else kernel.partial_dtype),
                  **_lane_code(lanes, lane_step),
                  KEPT_OFFSET=_offset_code("kept", len(kept)), RED_OFFSET=_offset_code("red", len(red)),
                  **kernel.code(pairs_in, final, src.dtype))
    # the ranks are bucketed by _offset_code, LANES by _lane_code
    pipeline = backend.pipelines.get(("reduce",) + tuple(sorted(values.items())),
                                     lambda: fill(template("reduce"), **values))
    groups, _ = grid(backend.device, items, workgroup=256 // lanes)
    params = struct.pack("<8I20I", items, outputs, chunks, chunk_len, size, groups[0], int(not lane_inner), _INF_BITS,
                         *_vec4(kept, 0, 1), *_vec4(kept, 1, 0), *_vec4(red, 0, 1), *_vec4(red, 1, 0),
                         len(kept), len(red), lanes, lane_step)
    backend.device.dispatch(pipeline, [src.handle, out.handle], params, groups)
    if final:
        return out
    # The partials keep the read pattern: (outputs, chunks) when the reduced axis was the
    # contiguous one, (chunks, outputs) otherwise.
    if lane_inner:
        kept2, red2 = [(outputs, chunks)] if outputs > 1 else [], [(chunks, 1)]
    else:
        kept2, red2 = [(outputs, 1)] if outputs > 1 else [], [(chunks, outputs)]
    return _run(backend, kernel, out, kept2, red2, out_shape, pairs_in=kernel.partial_width > 1)


def _lane_code(lanes, lane_step):
    """LANES, SLOTS and LANE_STEP as WGSL constants for 1 and 256 lanes; between, read from
    the uniform. A constant is ~10% faster on lavapipe, but baked at every power of two it
    made one pipeline per batch size for each reduction over the batch (a shader compile
    each: 14-90 ms on SwiftShader, in a new model's first step); those are short reductions."""
    if lanes in (1, 256):
        return dict(LANES_FROM=f"{lanes}, constant", LANE_LETS="", LANE_CONSTS="\n".join([
            f"const LANES: u32 = {lanes}u;", "const SLOTS: u32 = 256u / LANES;",
            f"const LANE_STEP: u32 = {lane_step}u;"]))
    return dict(LANES_FROM="from the uniform", LANE_CONSTS="", LANE_LETS="\n".join([
        "    let LANES = p.lanes;", "    let SLOTS = 256u / LANES;", "    let LANE_STEP = p.lane_step;"]))


def _vec4(groups, field, fill_value):
    values = [g[field] for g in groups]
    return values + [fill_value] * (MAX_GROUPS - len(values))


def _offset_code(name, rank):
    """WGSL body mapping a linear index over the merged dims to an element offset. Ranks 0
    and 1 (the common case once dims are merged) are straight code with no division; ranks
    2-4 share one loop over the uniform rank. Two variants per side, not five: each distinct
    pipeline is a shader compile, but a uniform-rank loop for every rank made rank-1
    reductions ~1.7x slower on lavapipe (integer division is scalarised there)."""
    if rank <= 1:
        return f"    return i * p.{name}_strides[0];   // rank 0: stride 0"
    return "\n".join([
        "    var rem = i;", "    var offset = 0u;",
        f"    for (var d = p.{name}_rank - 1u; d > 0u && d < 4u; d = d - 1u) {{",
        f"        offset = offset + (rem % p.{name}_shape[d]) * p.{name}_strides[d];",
        f"        rem = rem / p.{name}_shape[d];", "    }",
        f"    return offset + rem * p.{name}_strides[0];"])


class _ReduceKernel:
    partial_width = 1

    def __init__(self, op, in_dtype, out_dtype):
        self.op, self.in_dtype, self.out_dtype = op, in_dtype, out_dtype
        self.partial_dtype = out_dtype   # finishing is idempotent: partials are already outputs

    def code(self, pairs_in, final, src_dtype):
        # src_dtype: what this pass reads: the input, or a first pass's partials (bool for any/all)
        op, kind = self.op, wgsl_type(src_dtype)
        if op in ("any", "all"):
            acc = "u32"
            # not `!= 0`: that compiles to an ordered compare, false for NaN (which is truthy)
            nonzero = "i64_nonzero(inp[offset])" if kind == I64 else \
                f"!(inp[offset] == {({'f32': '0.0', 'i32': '0', 'u32': '0u'})[kind]})"
            load = f"select(0u, 1u, {nonzero})"
        else:
            acc, load = kind, "inp[offset]"
        if acc == I64:
            combine = {"sum": "i64_add(a, b)", "prod": "i64_mul(a, b)", "max": "i64_max(a, b)",
                       "min": "i64_min(a, b)"}[op]
        else:
            combine = {
                "sum": "a + b", "prod": "a * b", "any": "max(a, b)", "all": "min(a, b)",
                "max": _NAN_MAX if acc == "f32" else "max(a, b)",
                "min": _NAN_MIN if acc == "f32" else "min(a, b)",
            }[op]
        identity = _identity(op, acc)
        if self.out_dtype is dtypes.uint8 and op in ("sum", "prod"):
            result = "a & 255u"   # uint8 wraps like NumPy's
        elif self.out_dtype.is_bool and op not in ("any", "all"):
            result = "select(0u, 1u, a != 0u)"
        else:
            result = "a"
        decls = "\n".join([
            HELPERS["is_nan"], HELPERS["i64"] if kind == I64 else "",
            f"fn combine(a: {acc}, b: {acc}) -> {acc} {{ return {combine}; }}",
            f"fn load(offset: u32, r: u32) -> {acc} {{ return {load}; }}",
            f"fn store(i: u32, a: {acc}) {{ out[i] = {result}; }}",
        ])
        return dict(ACC=acc, IDENTITY=identity, DECLS=decls)


def _identity(op, kind):
    if kind == I64:
        return {"sum": "vec2<u32>(0u, 0u)", "prod": "vec2<u32>(1u, 0u)",
                "max": "vec2<u32>(0u, 0x80000000u)", "min": "vec2<u32>(0xffffffffu, 0x7fffffffu)"}[op]
    if op in ("sum", "any"):
        return {"f32": "0.0", "i32": "0", "u32": "0u"}[kind]
    if op in ("prod",):
        return {"f32": "1.0", "i32": "1", "u32": "1u"}[kind]
    if op == "all":
        return "1u"
    lowest = op == "max"
    return {"f32": f"{'-' if lowest else ''}bitcast<f32>(p.inf_bits)",
            "i32": f"bitcast<i32>({'0x80000000u' if lowest else '0x7fffffffu'})",
            "u32": "0u" if lowest else "0xffffffffu"}[kind]


class _ArgKernel:
    """(value, index) pairs; ties and NaNs resolve to the first index, like NumPy. Partials
    are u32 words: the value's bits (two words for int64), then the index."""
    partial_dtype = dtypes.uint8   # u32 storage

    def __init__(self, op, in_dtype, out_dtype):
        self.op, self.in_dtype, self.out_dtype = op, in_dtype, out_dtype
        self.partial_width = 3 if wgsl_type(in_dtype) == I64 else 2

    def code(self, pairs_in, final, src_dtype):
        kind = wgsl_type(self.in_dtype)   # partials (u32 words) are decoded as the input's type
        w = self.partial_width
        if kind == I64:
            better = "i64_lt(b.v, a.v)" if self.op == "argmax" else "i64_lt(a.v, b.v)"
            equal = "i64_eq(a.v, b.v)"
            from_words = "vec2<u32>(inp[3u * offset], inp[3u * offset + 1u])"
            to_words = "out[3u * i] = a.v.x; out[3u * i + 1u] = a.v.y;"
        else:
            better = f"a.v {'>' if self.op == 'argmax' else '<'} b.v"
            equal = "a.v == b.v"
            from_words = f"bitcast<{kind}>(inp[2u * offset])"
            to_words = "out[2u * i] = bitcast<u32>(a.v);"
        nan = "is_nan(a.v)" if kind == "f32" else "false"
        nan_b = nan.replace("a.v", "b.v")
        load = f"Pair({from_words}, inp[{w}u * offset + {w - 1}u])" if pairs_in else "Pair(inp[offset], r)"
        if final:
            store = "out[i] = vec2<u32>(a.i, 0u);" if wgsl_type(self.out_dtype) == I64 else "out[i] = i32(a.i);"
        else:
            store = f"{to_words} out[{w}u * i + {w - 1}u] = a.i;"
        decls = "\n".join([
            f"struct Pair {{ v: {kind}, i: u32 }}",
            HELPERS["is_nan"], HELPERS["i64"] if I64 in (kind, wgsl_type(self.out_dtype)) else "",
            # a NaN beats any number; between equals (or two NaNs) the lower index wins
            f"""fn first_wins(a: Pair, b: Pair) -> bool {{
    let an = {nan};
    let bn = {nan_b};
    if (an != bn) {{ return an; }}
    if (an || {equal}) {{ return a.i < b.i; }}
    return {better};
}}""",
            "fn combine(a: Pair, b: Pair) -> Pair { if (first_wins(a, b)) { return a; } return b; }",
            f"fn load(offset: u32, r: u32) -> Pair {{ return {load}; }}",
            f"fn store(i: u32, a: Pair) {{ {store} }}",
        ])
        identity = f"Pair({_identity('max' if self.op == 'argmax' else 'min', kind)}, 0xffffffffu)"
        return dict(ACC="Pair", IDENTITY=identity, DECLS=decls)
