"""Shape and movement ops: reshape, transpose, slicing, concat, pad, gather and friends."""
import builtins
import math

from .. import dtypes
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .checks import check_in_range
from .dispatch import is_recording, normalize_axis, record, tensor, wrap


def _int_list(values, what, op):
    if isinstance(values, Tensor):
        values = values.tolist()
    if isinstance(values, int):
        values = [values]
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{op}: {what} must be a list of ints, got {values!r}") from None


def reshape(tensor_, shape, name=None):
    x = tensor(tensor_)
    dims = _int_list(shape, "shape", "reshape")
    size = x.shape.num_elements()
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise InvalidArgumentError(f"reshape: shape {dims} may hold at most one -1 and no other negative dim")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or size % known:
            raise InvalidArgumentError(
                f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) to {dims}")
        dims[dims.index(-1)] = size // known
    dims = tuple(dims)
    if math.prod(dims) != size:
        raise InvalidArgumentError(
            f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) "
            f"to shape {dims} ({math.prod(dims)} elements)")
    if dims == tuple(x.shape):
        return x
    out = wrap(x.backend.reshape(x._buf, dims), x.backend, dims, x.dtype)
    if is_recording():
        record((x,), out, lambda g: (reshape(g, x.shape),))
    return out


def transpose(a, perm=None, conjugate=False, name=None):
    x = tensor(a)
    perm = list(range(x.ndim))[::-1] if perm is None else _int_list(perm, "perm", "transpose")
    if sorted(p % max(x.ndim, 1) for p in perm) != list(range(x.ndim)) or len(perm) != x.ndim:
        raise InvalidArgumentError(f"transpose: perm {perm} is not a permutation of the "
                                   f"{x.ndim} axes of shape {tuple(x.shape)}")
    perm = [p % x.ndim for p in perm]
    if perm == list(range(x.ndim)):
        return x
    shape = tuple(x.shape[p] for p in perm)
    out = wrap(x.backend.transpose(x._buf, tuple(perm)), x.backend, shape, x.dtype)
    if is_recording():
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        record((x,), out, lambda g: (transpose(g, inverse),))
    return out


def expand_dims(input, axis, name=None):  # noqa: A002
    x = tensor(input)
    axis = int(axis)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise InvalidArgumentError(f"expand_dims: axis {axis} out of range for rank {x.ndim}")
    axis %= x.ndim + 1
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(input, axis=None, name=None):  # noqa: A002
    x = tensor(input)
    if axis is None:
        return reshape(x, [d for d in x.shape if d != 1])
    axes = {normalize_axis(a, x.ndim, "squeeze") for a in _int_list(axis, "axis", "squeeze")}
    for a in axes:
        if x.shape[a] != 1:
            raise InvalidArgumentError(f"squeeze: cannot squeeze axis {a} of shape {tuple(x.shape)}: "
                                       "its size is not 1")
    return reshape(x, [d for i, d in enumerate(x.shape) if i not in axes])


def broadcast_to(input, shape, name=None):  # noqa: A002
    from .dispatch import broadcast_shapes
    from .elementwise import unbroadcast
    x = tensor(input)
    shape = tuple(_int_list(shape, "shape", "broadcast_to"))
    if broadcast_shapes("broadcast_to", x.shape, shape) != shape:
        raise InvalidArgumentError(f"broadcast_to: cannot broadcast shape {tuple(x.shape)} to {shape}")
    if shape == tuple(x.shape):
        return x
    out = wrap(x.backend.broadcast_to(x._buf, shape), x.backend, shape, x.dtype)
    if is_recording():
        record((x,), out, lambda g: (unbroadcast(g, x.shape),))
    return out


# ------------------------------------------------------------------ slicing

def strided_slice_primitive(x, begin, strides, out_shape):
    """out[i] = x[begin + i * stride] on every axis (the one slicing primitive)."""
    begin, strides, out_shape = tuple(begin), tuple(strides), tuple(out_shape)
    if out_shape == tuple(x.shape) and all(b == 0 for b in begin) and all(s == 1 for s in strides):
        return x
    out = wrap(x.backend.strided_slice(x._buf, begin, strides, out_shape), x.backend, out_shape, x.dtype)
    if x.dtype.is_floating and is_recording():
        record((x,), out, lambda g: (_strided_slice_grad(g, x.shape, begin, strides),))
    return out


def _strided_slice_grad(dy, in_shape, begin, strides):
    out = wrap(dy.backend.strided_slice_grad(dy._buf, tuple(in_shape), begin, strides),
               dy.backend, tuple(in_shape), dy.dtype)
    if is_recording():
        record((dy,), out, lambda g: (strided_slice_primitive(g, begin, strides, dy.shape),))
    return out


def slice(input_, begin, size, name=None):  # noqa: A001
    x = tensor(input_)
    begin = _int_list(begin, "begin", "slice")
    size = _int_list(size, "size", "slice")
    if len(begin) != x.ndim or len(size) != x.ndim:
        raise InvalidArgumentError(f"slice: begin {begin} and size {size} need one entry per axis "
                                   f"of shape {tuple(x.shape)}")
    size = [d - b if s == -1 else s for b, s, d in zip(begin, size, x.shape)]
    for b, s, d in zip(begin, size, x.shape):
        if b < 0 or s < 0 or b + s > d:
            raise InvalidArgumentError(f"slice: begin {begin} with size {size} is out of bounds "
                                       f"for shape {tuple(x.shape)}")
    return strided_slice_primitive(x, begin, [1] * x.ndim, size)


def reverse(tensor_, axis, name=None):
    x = tensor(tensor_)
    axes = {normalize_axis(a, x.ndim, "reverse") for a in _int_list(axis, "axis", "reverse")}
    begin = [d - 1 if i in axes else 0 for i, d in enumerate(x.shape)]
    strides = [-1 if i in axes else 1 for i in range(x.ndim)]
    return strided_slice_primitive(x, begin, strides, x.shape)


def getitem(x, key):
    """NumPy-style indexing: ints, slices, ..., None and one integer-array index."""
    x = tensor(x)
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {tuple(x.shape)}: {consumed} given")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([builtins.slice(None)] * (x.ndim - consumed))
        else:
            expanded.append(k)
    expanded += [builtins.slice(None)] * (x.ndim - sum(1 for k in expanded if k is not None))

    begin, strides, sizes, final_shape = [], [], [], []
    advanced = None  # (position in final shape, index tensor)
    axis = 0
    for k in expanded:
        if k is None:
            final_shape.append(1)
            continue
        dim = x.shape[axis]
        if _is_index_array(k):
            if advanced is not None:
                raise IndexError("only one integer-array index per indexing expression is supported")
            advanced = (len(final_shape), k)
            begin.append(0), strides.append(1), sizes.append(dim)
            final_shape.append(dim)
        elif isinstance(k, (int, Tensor)) or hasattr(k, "__index__"):
            i = _as_index(k)
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {dim}")
            begin.append(i % dim), strides.append(1), sizes.append(1)
        elif isinstance(k, builtins.slice):
            start, stop, step = (None if v is None else _as_index(v) for v in (k.start, k.stop, k.step))
            if step == 0:
                raise ValueError("slice step cannot be zero")
            start, stop, step = builtins.slice(start, stop, step).indices(dim)
            n = len(range(start, stop, step))
            begin.append(start if n else 0), strides.append(step if n else 1), sizes.append(n)
            final_shape.append(n)
        else:
            raise TypeError(f"invalid index {k!r} of type {type(k).__name__}; expected an int, "
                            "slice, ..., None or an integer array")
        axis += 1
    out = strided_slice_primitive(x, begin, strides, sizes)
    out = reshape(out, final_shape)
    if advanced is not None:
        position, index = advanced
        out = _gather(out, _index_tensor(index, final_shape[position]), position)
    return out


def _is_index_array(k):
    if isinstance(k, Tensor):
        return k.ndim > 0
    if isinstance(k, (list, tuple)):
        return True
    return type(k).__module__ == "numpy" and getattr(k, "ndim", 0) > 0


def _as_index(k):
    if isinstance(k, Tensor):
        if k.ndim != 0 or not k.dtype.is_integer:
            raise TypeError(f"a tensor used as an index must be an integer scalar, got {k.dtype.name} "
                            f"with shape {tuple(k.shape)}")
        return k.item()
    try:
        return k.__index__()
    except AttributeError:
        raise TypeError(f"invalid index {k!r}: expected an integer") from None


def _index_tensor(index, dim):
    idx = index if isinstance(index, Tensor) else tensor(index, dtypes.int32) \
        if type(index).__module__ != "numpy" else tensor(index)
    if idx.dtype.is_bool:
        raise IndexError("boolean-mask indexing is not supported; use tf.boolean_mask")
    if not idx.dtype.is_integer:
        raise IndexError(f"array indices must be integers, got {idx.dtype.name}")
    from .elementwise import less
    from .math_ops import where
    idx = where(less(idx, 0), idx + dim, idx)  # negative indices count from the end
    check_in_range(idx, 0, dim, lambda i: f"index {i - dim if i < 0 else i} is out of bounds for an axis "
                   f"with size {dim}", IndexError)
    return idx


# ------------------------------------------------------------------ joining and splitting

def concat(values, axis, name=None):
    xs = [tensor(v) for v in values]
    if not xs:
        raise InvalidArgumentError("concat: needs at least one tensor")
    first = xs[0]
    axis = normalize_axis(axis, first.ndim, "concat")
    for t in xs[1:]:
        if t.dtype is not first.dtype:
            raise InvalidArgumentError(f"concat: dtype mismatch: {first.dtype.name} and {t.dtype.name}")
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise InvalidArgumentError(
                f"concat: shapes {tuple(first.shape)} and {tuple(t.shape)} differ outside axis {axis}")
    if len(xs) == 1:
        return first
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in xs)
    out = wrap(first.backend.concat([t._buf for t in xs], axis), first.backend, tuple(shape), first.dtype)
    if first.dtype.is_floating and is_recording():
        def backward(g):
            grads, start = [], 0
            for t in xs:
                begin = [0] * g.ndim
                begin[axis] = start
                grads.append(strided_slice_primitive(g, begin, [1] * g.ndim, t.shape))
                start += t.shape[axis]
            return grads
        record(tuple(xs), out, backward)
    return out


def stack(values, axis=0, name=None):
    xs = [tensor(v) for v in values]
    if not xs:
        raise InvalidArgumentError("stack: needs at least one tensor")
    for t in xs[1:]:
        if tuple(t.shape) != tuple(xs[0].shape):
            raise InvalidArgumentError(f"stack: all shapes must match, got {tuple(xs[0].shape)} "
                                       f"and {tuple(t.shape)}")
    return concat([expand_dims(t, axis) for t in xs], axis if axis >= 0 else axis + xs[0].ndim + 1)


def unstack(value, num=None, axis=0, name=None):
    x = tensor(value)
    axis = normalize_axis(axis, x.ndim, "unstack")
    return [squeeze(p, axis) for p in split(x, x.shape[axis], axis)]


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    x = tensor(value)
    axis = normalize_axis(axis, x.ndim, "split")
    dim = x.shape[axis]
    if isinstance(num_or_size_splits, Tensor) and num_or_size_splits.ndim == 0:
        num_or_size_splits = num_or_size_splits.item()
    if isinstance(num_or_size_splits, int):
        if num_or_size_splits <= 0 or dim % num_or_size_splits:
            raise InvalidArgumentError(f"split: axis {axis} of shape {tuple(x.shape)} does not divide "
                                       f"into {num_or_size_splits} equal parts")
        sizes = [dim // num_or_size_splits] * num_or_size_splits
    else:
        sizes = _int_list(num_or_size_splits, "size_splits", "split")
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
        if sum(sizes) != dim or any(s < 0 for s in sizes):
            raise InvalidArgumentError(f"split: sizes {sizes} do not add up to {dim}, the size of axis "
                                       f"{axis} of shape {tuple(x.shape)}")
    parts, start = [], 0
    for s in sizes:
        begin = [0] * x.ndim
        begin[axis] = start
        shape = list(x.shape)
        shape[axis] = s
        parts.append(strided_slice_primitive(x, begin, [1] * x.ndim, shape))
        start += s
    return parts


def tile(input, multiples, name=None):  # noqa: A002
    x = tensor(input)
    multiples = _int_list(multiples, "multiples", "tile")
    if len(multiples) != x.ndim:
        raise InvalidArgumentError(f"tile: multiples {multiples} needs one entry per axis of shape {tuple(x.shape)}")
    interleaved = [v for d in x.shape for v in (1, d)]
    wide = [v for m, d in zip(multiples, x.shape) for v in (m, d)]
    return reshape(broadcast_to(reshape(x, interleaved), wide), [m * d for m, d in zip(multiples, x.shape)])


def pad(tensor_, paddings, mode="CONSTANT", constant_values=0, name=None):
    x = tensor(tensor_)
    if isinstance(paddings, Tensor):
        paddings = paddings.tolist()
    pads = [tuple(int(v) for v in p) for p in paddings]
    if len(pads) != x.ndim or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise InvalidArgumentError(f"pad: paddings must be [[before, after]] * {x.ndim} with "
                                   f"non-negative values for shape {tuple(x.shape)}, got {paddings}")
    if mode.upper() != "CONSTANT":
        raise InvalidArgumentError(f"pad: mode {mode!r} is not supported; only 'CONSTANT'")
    shape = tuple(d + a + b for d, (a, b) in zip(x.shape, pads))
    out = wrap(x.backend.pad(x._buf, tuple(pads), constant_values), x.backend, shape, x.dtype)
    if x.dtype.is_floating and is_recording():
        record((x,), out, lambda g: (strided_slice_primitive(g, [p[0] for p in pads], [1] * x.ndim, x.shape),))
    return out


# ------------------------------------------------------------------ gather / scatter

def gather(params, indices, axis=None, batch_dims=0, name=None):
    x = tensor(params)
    idx = tensor(indices) if isinstance(indices, Tensor) or type(indices).__module__ == "numpy" \
        else tensor(indices, dtypes.int32)
    if not idx.dtype.is_integer:
        raise InvalidArgumentError(f"gather: indices must be int32 or int64, got {idx.dtype.name}")
    if batch_dims != 0:
        raise InvalidArgumentError("gather: batch_dims other than 0 is not supported")
    axis = normalize_axis(0 if axis is None else axis, x.ndim, "gather")
    size = x.shape[axis]
    check_in_range(idx, 0, size, lambda i: f"gather: an index is out of range: indices hold {i}, which is "
                   f"not in [0, {size}) (axis {axis} of params with shape {list(x.shape)}); TF raises this on "
                   "the CPU and returns zeros on the GPU")
    return _gather(x, idx, axis)


def _gather(x, idx, axis):
    """gather with indices known to be in range."""
    shape = tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:])
    out = wrap(x.backend.gather(x._buf, idx._buf, axis), x.backend, shape, x.dtype)
    if x.dtype.is_floating and is_recording():
        record((x, idx), out, lambda g: (scatter_add_primitive(g, idx, axis, x.shape), None))
    return out


def scatter_add_primitive(updates, indices, axis, shape):
    """Zeros of `shape` plus `updates` added at `indices` along `axis`: gather's adjoint."""
    out = wrap(updates.backend.scatter_add(updates._buf, indices._buf, axis, tuple(shape)),
               updates.backend, tuple(shape), updates.dtype)
    if is_recording():
        record((updates, indices), out, lambda g: (_gather(g, indices, axis), None))
    return out


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    from .creation import range as range_
    from .elementwise import equal
    from .math_ops import cast, where
    idx = tensor(indices) if isinstance(indices, Tensor) or type(indices).__module__ == "numpy" \
        else tensor(indices, dtypes.int32)
    if not idx.dtype.is_integer:
        raise InvalidArgumentError(f"one_hot: indices must be integers, got {idx.dtype.name}")
    if dtype is None:  # TF: the dtype of on_value or off_value when given, else float32
        given = [v for v in (on_value, off_value) if v is not None]
        dtype = tensor(given[0]).dtype if given else dtypes.float32
    dtype = dtypes.as_dtype(dtype)
    axis = -1 if axis is None else axis
    classes = cast(range_(int(depth)), idx.dtype)
    hits = equal(expand_dims(idx, -1), classes)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    out = where(hits, tensor(on, dtype), tensor(off, dtype))
    if axis not in (-1, idx.ndim):
        perm = list(range(idx.ndim))
        perm.insert(axis % (idx.ndim + 1), idx.ndim)
        out = transpose(out, perm)
    return out


# ------------------------------------------------------------------ shape queries

def shape(input, out_type=dtypes.int32, name=None):  # noqa: A002
    from .creation import constant
    return constant(list(tensor(input).shape), dtype=out_type)


def size(input, out_type=dtypes.int32, name=None):  # noqa: A002
    from .creation import constant
    return constant(tensor(input).shape.num_elements(), dtype=out_type)


def rank(input, name=None):  # noqa: A002
    from .creation import constant
    return constant(tensor(input).ndim, dtype=dtypes.int32)
