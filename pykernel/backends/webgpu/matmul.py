"""Batched matmul, and the tiled GEMM core (shaders/matmul.wgsl) that convolutions share.

`gemm` picks a tile shape for the problem, vec4 or scalar reads per operand (vec4 when the
operand's contiguous axis is a multiple of 4 long), split-K when there are too few output
tiles to fill a GPU, and generates the unrolled per-thread multiply-add block.
"""
import math
import struct

from ... import dtypes
from .elementwise import contiguous_strides, run_map
from .kernels import fill, reject_int64, template, wgsl_type

BK = 16                 # K depth of one tile step
TARGET_GROUPS = 256     # workgroups that fill a large GPU (~2 per SM); fewer -> smaller tiles, split-K
MIN_K_CHUNK = 256       # split-K never leaves a split less K than this
MAX_SPLITS = 49         # summed in two passes of <= 7 inputs (the map kernel's binding limit)
MAX_BATCH_DIMS = 8


class Tiling:
    """tm rows x tn vec4 columns per thread, wx threads across N (256 // wx across M)."""

    def __init__(self, tm, tn, wx):
        self.tm, self.tn, self.wx, self.wy = tm, tn, wx, 256 // wx
        self.bm, self.bn = self.wy * tm, wx * 4 * tn

    def groups(self, m, n, batches):
        return -(-m // self.bm) * -(-n // self.bn) * batches

    def key(self):
        return self.tm, self.tn, self.wx


SQUARE = (Tiling(8, 2, 16), Tiling(8, 1, 16), Tiling(4, 1, 16))   # biggest tile first
THIN_N = Tiling(4, 1, 4)     # 256 x 16: N <= 16 (e.g. a classifier's logits), any M
THIN_M = Tiling(4, 1, 64)    # 16 x 256: M <= 16 (a few rows, e.g. inference on one example)


class Operand:
    """A GEMM input: `index` is the WGSL element offset of (row, k) (row = m for A, n for B),
    `along_k` whether consecutive k are adjacent in memory (else consecutive rows are)."""

    def __init__(self, array, index, along_k, contiguous_len):
        self.array = array
        self.index = index
        self.along_k = along_k
        self.vec4 = contiguous_len % 4 == 0 and array.size > 0

    def key(self):
        return self.index, self.along_k, self.vec4


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
    ops = (Operand(a, "a_base + m * p.a_rs + k * p.a_ks", a_ks == 1, ca),
           Operand(b, "b_base + n * p.b_rs + k * p.b_ks", b_ks == 1, cb))
    out = gemm(backend, ops, m, n, k, dims, (a_rs, a_ks, b_rs, b_ks), a.dtype)
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


def gemm(backend, operands, m, n, k, batch_dims=(), strides=(0, 0, 0, 0), dtype=dtypes.float32,
         family=("matmul",), fields="", field_values=(), helpers=""):
    """out[batch][m][n] = sum_k A(m, k) B(n, k) as a (batches, m, n) array.

    batch_dims: merged [(size, a_stride, b_stride)]; a family (conv) may add uniform
    `fields` (WGSL struct members; `field_values`, 4-byte ints, a multiple of 4 of them) and
    `helpers` (WGSL functions its operand index expressions call)."""
    a, b = operands
    reject_int64(dtype, family[0])
    if len(batch_dims) > MAX_BATCH_DIMS:
        raise ValueError(f"WebGPU matmul supports at most {MAX_BATCH_DIMS} batch dimensions")
    batches = math.prod(size for size, _, _ in batch_dims)
    kind = wgsl_type(dtype)
    if batches * m * n == 0:
        return backend.empty((batches, m, n), dtype)
    tiling = _tiling(m, n, batches)
    tiles_n = -(-n // tiling.bn)
    tiles = -(-m // tiling.bm) * tiles_n
    # float32 only: summed uint8 partials would need wrapping again, and integer GEMMs are rare
    splits, k_chunk = _splits(tiles * batches, k) if kind == "f32" else (1, max(k, 1))
    out_vec4 = n % 4 == 0
    finish = "v & vec4<u32>(255u)" if dtype is dtypes.uint8 else "v"

    key = ("gemm", kind, tiling.key(), a.key(), b.key(), out_vec4, finish, family)
    pipeline = backend.pipelines.get(key, lambda: _wgsl(kind, tiling, a, b, out_vec4, finish, fields, helpers))

    out = backend.empty((batches * splits, m, n), dtype)
    limit = backend.device.max_workgroups_per_dimension
    gx = min(tiles, limit)
    gy = -(-tiles // gx)
    dims = list(batch_dims) + [(1, 0, 0)] * (MAX_BATCH_DIMS - len(batch_dims))
    total_z = batches * splits
    for z_base in range(0, total_z, limit):
        params = struct.pack(f"<40i{len(field_values)}i", m, n, k, tiles_n, tiles, gx, splits, k_chunk,
                             z_base, len(batch_dims), 0, 0, *strides,
                             *(d[0] for d in dims), *(d[1] for d in dims), *(d[2] for d in dims),
                             *field_values)
        backend.device.dispatch(pipeline, [a.array.handle, b.array.handle, out.handle], params,
                                (gx, gy, min(limit, total_z - z_base)))
    return _sum_splits(backend, out, batches, splits, m, n)


def _tiling(m, n, batches):
    """A thin tile for thin outputs, else the biggest tile that still yields TARGET_GROUPS
    workgroups without overhanging the matrix: more outputs per thread, fewer loads each."""
    # n <= 16 whatever m: when m <= 16 too, THIN_N's 256 x 16 tile is no bigger than the
    # 64 x 64 fallback, and it is the kernel the training step's thin matmuls (a classifier
    # head, its gradients) already compiled: small evaluate/predict batches add no pipeline.
    if n <= 16:
        return THIN_N
    if m <= 16 and n > 16:
        return THIN_M
    for tiling in SQUARE:
        if tiling.bm <= max(m, 64) and tiling.bn <= max(n, 64) and \
                tiling.groups(m, n, batches) >= TARGET_GROUPS:
            return tiling
    return SQUARE[-1]


def _splits(groups, k):
    """(splits, K per split): split K while there are too few workgroups to fill the GPU."""
    want = min(-(-TARGET_GROUPS // groups), k // MIN_K_CHUNK, MAX_SPLITS)
    if want < 2:
        return 1, max(k, 1)
    splits = next(s for s in range(want, MAX_SPLITS + 1) if _fan_ins(s))
    k_chunk = -(-k // splits) + BK - 1
    return splits, k_chunk - k_chunk % BK   # whole tile steps; trailing splits may be empty


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

def _wgsl(kind, tiling, a, b, out_vec4, finish, fields, helpers):
    tm, tn, wx = tiling.tm, tiling.tn, tiling.wx
    vt = f"vec4<{kind}>"
    acc = [(r, j) for r in range(tm) for j in range(tn)]
    micro = [f"            let a{i} = a_sub[k][ty * {tm // 4} + {i}];" for i in range(tm // 4)]
    micro += [f"            let b{j} = b_sub[k][tx + {wx * j}];" for j in range(tn)]
    micro += [f"            c{r}_{j} = c{r}_{j} + a{r // 4}.{'xyzw'[r % 4]} * b{j};" for r, j in acc]
    if out_vec4:
        store = (f"    if (m < p.m && n < p.n) {{ out[((z * p.m + m) * p.n + n) / 4] = {finish}; }}")
    else:
        store = (f"    if (m >= p.m) {{ return; }}\n    let w = {finish};\n"
                 "    let i = (z * p.m + m) * p.n + n;\n"
                 "    for (var c = 0; c < 4; c = c + 1) { if (n + c < p.n) { out[i + c] = w[c]; } }")
    return fill(template("matmul"), T=kind, BM=tiling.bm, BN=tiling.bn, BK=BK, WX=wx, WY=tiling.wy,
                FIELDS=fields, HELPERS=helpers,
                A_VT=vt if a.vec4 else kind, B_VT=vt if b.vec4 else kind, OUT_VT=vt if out_vec4 else kind,
                A_WIDTH=4 if a.vec4 else 1, B_WIDTH=4 if b.vec4 else 1, A_INDEX=a.index, B_INDEX=b.index,
                FILL_A=_fill_code("a", a, tiling.bm, kind), FILL_B=_fill_code("b", b, tiling.bn, kind), STORE=store,
                ACC_DECL="\n".join(f"    var c{r}_{j} = {vt}(0);" for r, j in acc), MICRO="\n".join(micro),
                STORE_ALL="\n".join(f"    store(z, m0 + ty * {tm} + {r}, n0 + tx * 4 + {4 * wx * j}, c{r}_{j});"
                                    for r, j in acc))


def _fill_code(x, op, rows, kind):
    """Loads of one BK x rows tile, consecutive threads on consecutive addresses."""
    width = 4 if op.vec4 else 1
    step = f" * {width}" if width > 1 else ""
    if op.along_k:
        pos = f"        let kk = (e % {BK // width}){step};\n        let r = e / {BK // width};"
    else:
        pos = f"        let r = (e % {rows // width}){step};\n        let kk = e / {rows // width};"
    zero = f"vec4<{kind}>(0)" if op.vec4 else f"{kind}(0)"
    if op.vec4 and not op.along_k:
        put = f"        {x}_sub[kk][r / 4] = v;"
    elif op.vec4:   # four k rows of one column
        put = "\n".join(f"        {x}_sub[kk + {c}][r / 4][r % 4] = v.{'xyzw'[c]};" for c in range(4))
    else:
        put = f"        {x}_sub[kk][r / 4][r % 4] = v;"
    return (f"    for (var e = t; e < {BK * rows // width}; e = e + 256) {{\n{pos}\n"
            f"        var v = {zero};\n"
            f"        if (r0 + r < rows && k0 + kk < k_end) {{ v = {x}_at(r0 + r, k0 + kk); }}\n"
            f"{put}\n    }}")
