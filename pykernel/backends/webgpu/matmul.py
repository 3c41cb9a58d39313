"""Batched matmul, and the tiled GEMM core (shaders/matmul.wgsl) that convolutions share.

Few pipelines: one per (element type, address form, tiling), at most 2 tilings and 4 forms
(matmul, conv2d and its two gradients). Strides, transposes, broadcast batches, the order
tile loads walk each operand, conv geometry and split-K are uniforms chosen here per call,
so a model's first step compiles 1-5 GEMM shaders where it compiled 6-9 (one per
shape/layout/vec4 combination), each also cheaper (smaller workgroup memory): SwiftShader,
the page's software adapter, took 1-2.5 s per GEMM compile.
"""
import math
import struct

from ... import dtypes
from .elementwise import contiguous_strides, run_map
from .kernels import fill, reject_int64, template, wgsl_type

WG = 256                # threads per workgroup (SMALL's: 16), 4 x 4 outputs each
TARGET_GROUPS = 256     # workgroups that fill a large GPU (~2 per SM); fewer -> split-K
MIN_K_CHUNK = 256       # split-K never leaves a split less K than this
K_ALIGN = 8             # split-K chunks are whole tile steps of every tiling
MAX_SPLITS = 49         # summed in two passes of <= 7 inputs (the map kernel's binding limit)
MAX_BATCH_DIMS = 8

# The operand address forms: WGSL offsets of A(m, k) and B(n, k), baked into the shader (one
# pipeline each: a runtime choice among them would cost every adapter that runs SIMD lanes
# under masks, lavapipe and SwiftShader, all the forms' arithmetic on every load).
# conv2d.wgsl has the convolutions' im2col helpers; strides come from Params.
STRIDED_A = "a_base + m * p.a_rs + k * p.a_ks"
STRIDED_B = "b_base + n * p.b_rs + k * p.b_ks"
FORMS = {
    "matmul": (STRIDED_A, STRIDED_B),
    "conv2d": ("im2col(m, k)", STRIDED_B),
    "conv2d_grad_input": ("col2im(m, k)", "filter_t(n, k)"),
    "conv2d_grad_filter": ("im2col(k, m)", STRIDED_B),
}


class Tiling:
    """wg threads, wx across N (wg // wx across M): a bm x bn output tile, bk deep per step.
    Baked into the shader (as runtime values they cost lavapipe a quarter of its speed), so
    there are only three; workgroup memory is bk * (bm + bn) words, kept near 1K words (WGSL
    zero-fills it, which SwiftShader compiles as one store per word: ~0.35 ms each)."""

    def __init__(self, name, wx, bk, wg=WG):
        self.name, self.wx, self.bk, self.wg = name, wx, bk, wg
        self.bm, self.bn = 4 * wg // wx, 4 * wx
        assert K_ALIGN % bk == 0

    def groups(self, m, n, batches):
        return -(-m // self.bm) * -(-n // self.bn) * batches


SQUARE = Tiling("64x64", 16, 8)
THIN_N = Tiling("256x16", 4, 4)    # N <= 16 (a classifier's logits, a first conv's channels), any M
# M and N <= 16: a small net's layers, and a first conv's filter gradient (M = 3x3x1, N = 8,
# K = batch x pixels), where a 256x16 tile computed 4096 outputs to keep 72 and was 3/4 of
# the CNN's step; split-K gives the long K its workgroups
SMALL = Tiling("16x16", 4, 8, wg=16)
TILINGS = (SQUARE, THIN_N, SMALL)


class Operand:
    """A GEMM input: element (row, k) (row = m for A, n for B) at its form's offset (strided:
    row * rs + k * ks past the batch base); `kfast` whether consecutive k are adjacent in
    memory (else consecutive rows are), the order the tile loads walk it in. A convolution's
    operand whose runs of 4 along that axis are adjacent words (`runs`, channels a multiple
    of 4) computes one im2col offset per 4 loads."""

    def __init__(self, array, kfast, rs=0, ks=0, runs=False):
        self.array, self.kfast, self.rs, self.ks = array, kfast, rs, ks
        self.w = 4 if runs else 1


def matmul(backend, a, b, transpose_a, transpose_b):
    if a.dtype is dtypes.int64:
        return _matmul_int64(backend, a, b, transpose_a, transpose_b)
    ra, ca = a.shape[-2:]
    rb, cb = b.shape[-2:]
    m, k = (ca, ra) if transpose_a else (ra, ca)
    n = rb if transpose_b else cb
    batch, dims = _batch_dims(a.shape[:-2], b.shape[:-2], ra * ca, rb * cb)
    # strides per row and per k: a transpose only swaps them
    a_rs, a_ks = (1, ca) if transpose_a else (ca, 1)
    b_rs, b_ks = (cb, 1) if transpose_b else (1, cb)
    ops = (Operand(a, a_ks == 1, a_rs, a_ks), Operand(b, b_ks == 1, b_rs, b_ks))
    out = gemm(backend, ops, m, n, k, dims, a.dtype)
    return backend.reshape(out, batch + (m, n))


def _matmul_int64(backend, a, b, transpose_a, transpose_b):
    """sum over k of a[..., m, k, 1] * b[..., 1, k, n] with the int64 map and reduce kernels
    (WGSL has no 64-bit multiply-add for the tiles): exact, wrapping like TF's; k times the
    output's memory, fine for the integer matmuls people write."""
    def swap_last(x):
        rank = len(x.shape)
        return backend.transpose(x, tuple(range(rank - 2)) + (rank - 1, rank - 2))
    a = swap_last(a) if transpose_a else a            # (..., m, k)
    b = b if transpose_b else swap_last(b)            # (..., n, k)
    products = backend.binary("mul", backend.reshape(a, a.shape[:-1] + (1, a.shape[-1])),
                              backend.reshape(b, b.shape[:-2] + (1,) + b.shape[-2:]))
    return backend.reduce("sum", products, (len(products.shape) - 1,), False)


def gemm(backend, operands, m, n, k, batch_dims=(), dtype=dtypes.float32, form="matmul", conv=(0,) * 16):
    """out[batch][m][n] = sum_k A(m, k) B(n, k) as a (batches, m, n) array.

    batch_dims: merged [(size, a_stride, b_stride)]; form: the operands' address form
    (FORMS); conv: the 16 geometry fields of Params that the convolutions' forms read."""
    a, b = operands
    reject_int64(dtype, form)
    if len(batch_dims) > MAX_BATCH_DIMS:
        raise ValueError(f"WebGPU matmul supports at most {MAX_BATCH_DIMS} batch dimensions")
    batches = math.prod(size for size, _, _ in batch_dims)
    kind = wgsl_type(dtype)
    if batches * m * n == 0:
        return backend.empty((batches, m, n), dtype)
    tiling = _tiling(m, n)
    tiles_n = -(-n // tiling.bn)
    tiles = -(-m // tiling.bm) * tiles_n
    # float32 only: summed uint8 partials would need wrapping again, and integer GEMMs are rare
    splits, k_chunk = _splits(tiles * batches, k) if kind == "f32" else (1, max(k, 1))
    pipeline = gemm_pipeline(backend, dtype, form, tiling)

    out = backend.empty((batches * splits, m, n), dtype)
    limit = backend.device.max_workgroups_per_dimension
    gx = min(tiles, limit)
    gy = -(-tiles // gx)
    dims = list(batch_dims) + [(1, 0, 0)] * (MAX_BATCH_DIMS - len(batch_dims))
    total_z = batches * splits
    for z_base in range(0, total_z, limit):
        params = struct.pack("<60i", m, n, k, tiles_n, tiles, gx, splits, k_chunk,
                             z_base, len(batch_dims), a.w, b.w, a.rs, a.ks, b.rs, b.ks,
                             0, 0, int(a.kfast), int(b.kfast),
                             *(d[0] for d in dims), *(d[1] for d in dims), *(d[2] for d in dims),
                             *conv)
        backend.device.dispatch(pipeline, [a.array.handle, b.array.handle, out.handle], params,
                                (gx, gy, min(limit, total_z - z_base)))
    return _sum_splits(backend, out, batches, splits, m, n)


def gemm_pipeline(backend, dtype, form="matmul", tiling=SQUARE):
    """The GEMM pipeline for `dtype` (float32, int32 or uint8), an operand address form
    (FORMS) and a tiling, compiled on first use."""
    kind = wgsl_type(dtype)
    finish = "v & vec4<u32>(255u)" if dtype is dtypes.uint8 else "v"
    return backend.pipelines.get(("gemm", kind, finish, form, tiling.name),
                                 lambda: _wgsl(kind, finish, form, tiling))


def _tiling(m, n):
    """SMALL for outputs at most 16 x 16, THIN_N for outputs at most 16 wide, else SQUARE
    (split-K fills the GPU when that gives too few workgroups; a few rows by many columns
    is small work either way)."""
    if n <= 16:
        return SMALL if m <= 16 else THIN_N
    return SQUARE


def _splits(groups, k):
    """(splits, K per split): split K while there are too few workgroups to fill the GPU."""
    want = min(-(-TARGET_GROUPS // groups), k // MIN_K_CHUNK, MAX_SPLITS)
    if want < 2:
        return 1, max(k, 1)
    splits = next(s for s in range(want, MAX_SPLITS + 1) if _fan_ins(s))
    k_chunk = -(-k // splits) + K_ALIGN - 1
    return splits, k_chunk - k_chunk % K_ALIGN   # whole tile steps; trailing splits may be empty


def _fan_ins(splits):
    """Factors <= 7 whose product is `splits` (one summation pass each), or None."""
    fans = []
    for f in (7, 6, 5, 4, 3, 2):
        while splits % f == 0 and splits > 1:
            fans.append(f)
            splits //= f
    return fans if splits == 1 and len(fans) <= 2 else None


def _sum_splits(backend, parts, batches, splits, m, n):
    """Add the split-K partial outputs (batches, splits, m, n) with the map kernel."""
    if splits == 1:
        return parts
    mn = m * n
    for fan in _fan_ins(splits):
        groups = splits // fan
        # a + b + c + ... over `fan` partials mn apart, as one loop (elementwise.HELPERS["sum_run"],
        # same order of additions): one pipeline whatever the fan-in
        view = (parts, (0, (splits * mn, fan * mn, n, 1)))
        parts = run_map(backend, "sum_run(a, o0)", [view], (batches, groups, m, n), parts.dtype,
                        helpers=("sum_run",), consts=(fan, mn, 0, 0))
        splits = groups
    return backend.reshape(parts, (batches, m, n))


def _batch_dims(a_batch, b_batch, a_matrix, b_matrix):
    """(broadcast batch shape, [(size, a_stride, b_stride)]): size-1 dims dropped and
    neighbours merged where both operands step through them evenly."""
    rank = max(len(a_batch), len(b_batch))
    a_batch = (1,) * (rank - len(a_batch)) + tuple(a_batch)
    b_batch = (1,) * (rank - len(b_batch)) + tuple(b_batch)
    shape = tuple(0 if 0 in (x, y) else max(x, y) for x, y in zip(a_batch, b_batch))
    a_str = [s * a_matrix if d != 1 else 0 for s, d in zip(contiguous_strides(a_batch), a_batch)]
    b_str = [s * b_matrix if d != 1 else 0 for s, d in zip(contiguous_strides(b_batch), b_batch)]
    dims = []
    for size, sa, sb in zip(shape, a_str, b_str):
        if size == 1:
            continue
        if dims and dims[-1][1] == sa * size and dims[-1][2] == sb * size:
            dims[-1] = (dims[-1][0] * size, sa, sb)
        else:
            dims.append((size, sa, sb))
    return shape, dims


# ------------------------------------------------------------------ WGSL generation

def _wgsl(kind, finish, form, tiling):
    a_index, b_index = FORMS[form]
    conv = form != "matmul"
    return fill(template("matmul"), T=kind, WG=tiling.wg, WX=tiling.wx, BM=tiling.bm, BN=tiling.bn, BK=tiling.bk,
                FINISH=finish, CONV=template("conv2d") if conv else "",
                FILL_A=_fill_code("a", "m", a_index, "BM", "0", conv, kind),
                FILL_B=_fill_code("b", "n", b_index, "BN", "B_AT", conv, kind))


def _fill_code(x, row, index, rows, at, runs, kind):
    """fill_a / fill_b: with `runs` (the convolutions' forms), p.{x}_w words per offset."""
    if not runs:
        return f"""fn fill_{x}(r0: i32, k0: i32, k_end: i32, t: i32) {{
    let kfast = p.{x}_kfast != 0;
    for (var e = t; e < BK * {rows}; e = e + WG) {{
        let kk = select(e / {rows}, e % BK, kfast);
        let r = select(e % {rows}, e / BK, kfast);
        let {row} = r0 + r;
        let k = k0 + kk;
        var v = {kind}(0);
        if ({row} < p.{row} && k < k_end) {{
            let i = {index};
            if (i >= 0) {{ v = {x}_src[i]; }}
        }}
        sub[{at} + (kk * {rows} + r) / 4][r % 4] = v;
    }}
}}"""
    return f"""fn fill_{x}(r0: i32, k0: i32, k_end: i32, t: i32) {{
    let kfast = p.{x}_kfast != 0;
    let w = p.{x}_w;
    for (var e = t; e < select(BK * {rows}, BK * {rows} / 4, w == 4); e = e + WG) {{
        let s = e * w;   // the run's first word, in walk order
        let kk = select(s / {rows}, s % BK, kfast);
        let r = select(s % {rows}, s / BK, kfast);
        let {row} = r0 + r;
        let k = k0 + kk;
        let i = {index};
        for (var c = 0; c < 4; c = c + 1) {{
            if (c < w) {{
                let kc = kk + select(0, c, kfast);
                let rc = r + select(c, 0, kfast);
                var v = {kind}(0);
                if (r0 + rc < p.{row} && k0 + kc < k_end && i >= 0) {{ v = {x}_src[i + c]; }}
                sub[{at} + (kc * {rows} + rc) / 4][rc % 4] = v;
            }}
        }}
    }}
}}"""
