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
from .kernels import fill, template, wgsl_type

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
                  LANES=lanes, LANE_STEP=lane_step,
                  KEPT_OFFSET=_offset_code("kept", len(kept)), RED_OFFSET=_offset_code("red", len(red)),
                  **kernel.code(pairs_in, final))
    # LANES stays a WGSL constant (as a uniform it cost ~10% on lavapipe); the ranks are
    # bucketed by _offset_code
    pipeline = backend.pipelines.get(("reduce",) + tuple(sorted(values.items())),
                                     lambda: fill(template("reduce"), **values))
    groups, _ = grid(backend.device, items, workgroup=256 // lanes)
    params = struct.pack("<8I20I", items, outputs, chunks, chunk_len, size, groups[0], int(not lane_inner), _INF_BITS,
                         *_vec4(kept, 0, 1), *_vec4(kept, 1, 0), *_vec4(red, 0, 1), *_vec4(red, 1, 0),
                         len(kept), len(red), 0, 0)
    backend.device.dispatch(pipeline, [src.handle, out.handle], params, groups)
    if final:
        return out
    # The partials keep the read pattern: (outputs, chunks) when the reduced axis was the
    # contiguous one, (chunks, outputs) otherwise.
    if lane_inner:
        kept2, red2 = [(outputs, chunks)] if outputs > 1 else [], [(chunks, 1)]
    else:
        kept2, red2 = [(outputs, 1)] if outputs > 1 else [], [(chunks, outputs)]
    return _run(backend, kernel, out, kept2, red2, out_shape, pairs_in=kernel.partial_width == 2)


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

    def code(self, pairs_in, final):
        op, kind = self.op, wgsl_type(self.in_dtype)
        if op in ("any", "all"):
            acc = "u32"
            zero = {"f32": "0.0", "i32": "0", "u32": "0u"}[kind]
            load = f"select(0u, 1u, inp[offset] != {zero})"
        else:
            acc, load = kind, "inp[offset]"
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
            HELPERS["is_nan"],
            f"fn combine(a: {acc}, b: {acc}) -> {acc} {{ return {combine}; }}",
            f"fn load(offset: u32, r: u32) -> {acc} {{ return {load}; }}",
            f"fn store(i: u32, a: {acc}) {{ out[i] = {result}; }}",
        ])
        return dict(ACC=acc, IDENTITY=identity, DECLS=decls)


def _identity(op, kind):
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
    """(value, index) pairs; ties and NaNs resolve to the first index, like NumPy."""
    partial_width = 2
    partial_dtype = dtypes.uint8   # u32 storage: bitcast value, index

    def __init__(self, op, in_dtype, out_dtype):
        self.op, self.in_dtype, self.out_dtype = op, in_dtype, out_dtype

    def code(self, pairs_in, final):
        kind = wgsl_type(self.in_dtype)
        cmp = ">" if self.op == "argmax" else "<"
        nan = "is_nan(a.v)" if kind == "f32" else "false"
        nan_b = nan.replace("a.v", "b.v")
        load = f"Pair(bitcast<{kind}>(inp[2u * offset]), inp[2u * offset + 1u])" if pairs_in \
            else "Pair(inp[offset], r)"
        store = "out[i] = i32(a.i);" if final else \
            "out[2u * i] = bitcast<u32>(a.v); out[2u * i + 1u] = a.i;"
        decls = "\n".join([
            f"struct Pair {{ v: {kind}, i: u32 }}",
            HELPERS["is_nan"],
            # a NaN beats any number; between equals (or two NaNs) the lower index wins
            f"""fn first_wins(a: Pair, b: Pair) -> bool {{
    let an = {nan};
    let bn = {nan_b};
    if (an != bn) {{ return an; }}
    if (an || a.v == b.v) {{ return a.i < b.i; }}
    return a.v {cmp} b.v;
}}""",
            "fn combine(a: Pair, b: Pair) -> Pair { if (first_wins(a, b)) { return a; } return b; }",
            f"fn load(offset: u32, r: u32) -> Pair {{ return {load}; }}",
            f"fn store(i: u32, a: Pair) {{ {store} }}",
        ])
        identity = f"Pair({_identity('max' if self.op == 'argmax' else 'min', kind)}, 0xffffffffu)"
        return dict(ACC="Pair", IDENTITY=identity, DECLS=decls)
