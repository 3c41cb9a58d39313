"""Indexing and layout: gather, scatter_add, pad, concat, strided_slice_grad.

Every kernel here folds the arrays to the fewest dimensions it needs ((outer, dim,
inner) for gather/scatter, (rows, columns) for concat, collapsed axes for padding), so
pipelines depend on that small rank, not on the tensor's. Pure copies move raw 32-bit
words: one pipeline serves every dtype, int64 included (as pairs of int32 words: a trailing
axis of 2 the kernels never work on). scatter_add adds, so int64 takes the int64 kernels.
"""
import math
import struct

from ... import dtypes
from .buffers import as_words, from_words
from .elementwise import MAX_RANK, grid
from .kernels import fill, template, wgsl_type

# The ordered scatter kernel (deterministic, bit-exact with NumPy) scans all n_idx indices
# for every output element; the atomic one costs a zero fill plus one atomic add per
# update. Per output column that is dim * n_idx scan steps against dim fills + n_idx
# atomics; on lavapipe an atomic costs ~4-5 steps, so scanning wins while dim is about
# that small (and then updates collide often, which slows atomics further). Tiny
# problems take the ordered kernel too: one dispatch instead of two, and exact.
ORDERED_SCATTER_MAX_DIM = 4
ORDERED_SCATTER_MAX_STEPS = 1 << 16


def _fold(shape, axis):
    """(outer, dim, inner) of `shape` around `axis`."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _word(vectorize):
    """(WGSL word type, elements per word) for a raw copy. Rows whose length is a multiple
    of 4 move as vec4<u32>: a quarter of the invocations and index arithmetic, and 16-byte
    loads and stores (the buffers' byte sizes are then multiples of 16, as binding an
    array of vec4s needs)."""
    return ("vec4<u32>", 4) if vectorize else ("u32", 1)


def _index_params(numel, row_pitch, inner, n_idx, dim):
    return struct.pack("<4Ii3I", numel, row_pitch, inner, n_idx, dim, 0, 0, 0)


# ------------------------------------------------------------------ gather / scatter

def _int32_indices(backend, indices):
    """The kernels read 32-bit indices; int64 ones were range-checked (ops/checks.py), so
    their low words are the indices."""
    return backend.cast(indices, dtypes.int32) if indices.dtype is dtypes.int64 else indices


def gather(backend, x, indices, axis):
    if x.dtype is dtypes.int64 or indices.dtype is dtypes.int64:
        return from_words(_gather(backend, as_words(x), _int32_indices(backend, indices), axis), x.dtype)
    return _gather(backend, x, indices, axis)


def _gather(backend, x, indices, axis):
    _, dim, inner = _fold(x.shape, axis)
    out = backend.empty(x.shape[:axis] + indices.shape + x.shape[axis + 1:], x.dtype)
    n = out.size
    if n == 0:
        return out
    word, lanes = _word(inner % 4 == 0 and x.size > 0)
    pipeline = backend.pipelines.get(("gather", word), lambda: fill(template("gather"), WORD=word))
    groups, row_pitch = grid(backend.device, n // lanes)
    params = _index_params(n // lanes, row_pitch, inner // lanes, indices.size, dim)
    backend.device.dispatch(pipeline, [x.handle, indices.handle, out.handle], params, groups)
    return out


def scatter_add(backend, updates, indices, axis, shape):
    shape = tuple(shape)
    if updates.dtype is dtypes.int64:
        return _scatter_add_int64(backend, updates, _int32_indices(backend, indices), axis, shape)
    _, dim, inner = _fold(shape, axis)
    kind = wgsl_type(updates.dtype)
    n_idx = indices.size
    if scatter_is_ordered(updates.dtype, n_idx, shape, axis):
        return _scatter_ordered(backend, updates, indices, shape, inner, n_idx, dim)
    out = backend.full(shape, 0, updates.dtype)
    if kind == "f32":
        add = """    var old = atomicLoad(&out[slot]);
    loop {
        let swap = atomicCompareExchangeWeak(&out[slot], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (swap.exchanged) { break; }
        old = swap.old_value;
    }"""
        atomic = "u32"
    else:
        add, atomic = "    _ = atomicAdd(&out[slot], v);", "i32"
    pipeline = backend.pipelines.get(("scatter_add", kind),
                                     lambda: fill(template("scatter_add"), TYPE=kind, ATOMIC=atomic, ADD=add))
    groups, row_pitch = grid(backend.device, updates.size)
    params = _index_params(updates.size, row_pitch, inner, n_idx, dim)
    backend.device.dispatch(pipeline, [updates.handle, indices.handle, out.handle], params, groups)
    return out


def _scatter_add_int64(backend, updates, indices, axis, shape):
    """out[o, d, c] = sum_j [indices[j] == d] * updates[o, j, c] from the int64 map and reduce
    kernels: exact, n_idx times the output's memory (int64 scatters are small and rare).
    As in the kernels, an index in [-dim, 0) counts from the end; others add nothing."""
    outer, dim, inner = _fold(shape, axis)
    n_idx = indices.size
    flat = backend.reshape(indices, (n_idx, 1))
    wrapped = backend.binary("add", flat, backend.full((), dim, dtypes.int32))
    flat = backend.where(backend.binary("less", flat, backend.full((), 0, dtypes.int32)), wrapped, flat)
    hits = backend.binary("equal", flat, backend.arange(0, 1, dim, dtypes.int32))
    mask = backend.reshape(backend.cast(hits, dtypes.int64), (1, n_idx, dim, 1))
    products = backend.binary("mul", backend.reshape(updates, (outer, n_idx, 1, inner)), mask)
    return backend.reshape(backend.reduce("sum", products, (1,), False), shape)


def scatter_is_ordered(dtype, n_idx, shape, axis):
    """Whether scatter_add takes the ordered kernel (u32 storage has no atomic path:
    uint8 sums wrap at 256 and bool sums saturate, fixed up after summing)."""
    return (wgsl_type(dtype) == "u32" or shape[axis] <= ORDERED_SCATTER_MAX_DIM
            or n_idx * math.prod(shape) <= ORDERED_SCATTER_MAX_STEPS)


def _scatter_ordered(backend, updates, indices, shape, inner, n_idx, dim):
    out = backend.empty(shape, updates.dtype)
    n = out.size
    if n == 0:
        return out
    kind = wgsl_type(updates.dtype)
    # the sum of uint8s wraps at 256; the "sum" of bools is their OR (NumPy's add on bool)
    finish = {dtypes.uint8: "acc & 255u", dtypes.bool_: "select(0u, 1u, acc != 0u)"}.get(updates.dtype, "acc")
    pipeline = backend.pipelines.get(("scatter_add_ordered", kind, finish),
                                     lambda: fill(template("scatter_add_ordered"), TYPE=kind, FINISH=finish))
    groups, row_pitch = grid(backend.device, n)
    params = _index_params(n, row_pitch, inner, n_idx, dim)
    backend.device.dispatch(pipeline, [updates.handle, indices.handle, out.handle], params, groups)
    return out


# ------------------------------------------------------------------ pad / strided_slice_grad

def pad(backend, x, pads, value):
    begin = tuple(before for before, _ in pads)
    shape = tuple(d + before + after for d, (before, after) in zip(x.shape, pads))
    return _place(backend, x, shape, begin, (1,) * len(shape), value)


def strided_slice_grad(backend, dy, in_shape, begin, strides):
    return _place(backend, dy, tuple(in_shape), tuple(begin), tuple(strides), 0)


def _place(backend, x, shape, begin, strides, value):
    """out of `shape` holding x[k] at begin + k * strides, and `value` everywhere else."""
    if x.dtype is not dtypes.int64:
        return _place_words(backend, x, shape, begin, strides, value)
    value = int(value)
    if value in (0, -1):   # both 32-bit words of the fill are the same word
        return from_words(_place_words(backend, as_words(x), shape + (2,), begin + (0,), strides + (1,), value),
                          x.dtype)
    # any other fill: place x - value on zeros, then add value back (int64 wraps: exact)
    fill_value = backend.full((), value, x.dtype)
    shifted = _place(backend, backend.binary("sub", x, fill_value), shape, begin, strides, 0)
    return backend.binary("add", shifted, fill_value)


def _place_words(backend, x, shape, begin, strides, value):
    out = backend.empty(shape, x.dtype)
    n = out.size
    if n == 0:
        return out
    dims = _collapse(shape, x.shape, begin, strides)
    if len(dims) > MAX_RANK:
        raise ValueError(f"WebGPU kernels support tensors of rank <= {MAX_RANK}, got {len(dims)}")
    rank = len(dims)
    o, i, b, s = dims[-1]
    word, lanes = _word(s == 1 and o % 4 == 0 and i % 4 == 0 and b % 4 == 0 and x.size > 0)
    dims[-1] = (o // lanes, i // lanes, b // lanes, s)
    pipeline = backend.pipelines.get(("place", rank, word), lambda: fill(template("place"), RANK=rank, WORD=word))
    groups, row_pitch = grid(backend.device, n // lanes)
    fields = [v for column in zip(*dims) for v in list(column) + [0] * (MAX_RANK - rank)]
    params = struct.pack(f"<4I{4 * MAX_RANK}i", n // lanes, row_pitch, _bits(value, x.dtype), 0, *fields)
    backend.device.dispatch(pipeline, [x.handle, out.handle], params, groups)
    return out


def _collapse(out_shape, in_shape, begin, strides):
    """[(out, in, begin, stride)] per axis, with every axis that x fills completely
    (same size, begin 0, stride 1) merged into the unit-stride axis before it: fewer
    axes, fewer divisions per element. At least one axis."""
    dims = []
    for d in zip(out_shape, in_shape, begin, strides):
        full = d[0] == d[1] and d[2] == 0 and d[3] == 1
        if full and dims and dims[-1][3] == 1:
            o, i, b, s = dims[-1]
            dims[-1] = (o * d[0], i * d[0], b * d[0], 1)
        else:
            dims.append(d)
    return dims or [(1, 1, 0, 1)]


def _bits(value, dtype):
    """The 32-bit word a value of `dtype` is stored as."""
    kind = wgsl_type(dtype)
    if kind == "f32":
        return struct.unpack("<I", struct.pack("<f", float(value)))[0]
    if dtype.is_bool:
        return 1 if value else 0
    if dtype is dtypes.uint8:
        return int(value) & 0xFF
    return int(value) & 0xFFFFFFFF


# ------------------------------------------------------------------ concat

def concat(backend, xs, axis):
    if xs[0].dtype is dtypes.int64:
        return from_words(_concat(backend, [as_words(x) for x in xs], axis), dtypes.int64)
    return _concat(backend, xs, axis)


def _concat(backend, xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out = backend.empty(tuple(shape), xs[0].dtype)
    rows = math.prod(shape[:axis])
    total = math.prod(shape[axis:])
    if out.size == 0:
        return out
    per_dispatch = max(1, min(7, backend.device.max_storage_buffers_per_stage - 1))
    live = [(x, math.prod(x.shape[axis:])) for x in xs if x.size]   # empty inputs own no columns
    word, lanes = _word(all(width % 4 == 0 for _, width in live))
    col0 = 0
    for start in range(0, len(live), per_dispatch):
        group = live[start:start + per_dispatch]
        bounds = [0]
        for _, width in group:
            bounds.append(bounds[-1] + width // lanes)
        width = bounds[-1]
        k = len(group)
        pipeline = backend.pipelines.get(("concat", k, word), lambda: _concat_wgsl(k, word))
        groups, row_pitch = grid(backend.device, rows * width)
        params = struct.pack("<16I", rows * width, row_pitch, width, total // lanes, col0, 0, 0, 0,
                             *(bounds + [width] * (8 - len(bounds))))
        backend.device.dispatch(pipeline, [x.handle for x, _ in group] + [out.handle], params, groups)
        col0 += width
    return out


def _concat_wgsl(k, word):
    inputs = "\n".join(f"@group(0) @binding({j + 1}) var<storage, read> in{j}: array<{word}>;" for j in range(k))
    branches = []
    for j in range(k):
        test = f"if (c < bound({j + 1}u)) " if j < k - 1 else ""
        branches.append(f"{test}{{ v = in{j}[r * (bound({j + 1}u) - bound({j}u)) + c - bound({j}u)]; }}")
    return fill(template("concat"), INPUTS=inputs, OUT_BINDING=k + 1, WORD=word,
                SELECT="    " + " else ".join(branches))
