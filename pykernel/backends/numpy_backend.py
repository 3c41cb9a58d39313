"""The reference backend: every primitive in a few lines of NumPy (imported lazily).

Buffers are NumPy arrays that are never written after creation, so views are safe.
"""
import math

from .base import Backend, optimizer_constants
from .. import dtypes

np = None


def _numpy():
    global np
    if np is None:
        import numpy
        np = numpy
    return np


_PHILOX_M0, _PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
_PHILOX_W0, _PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
_U32 = 0xFFFFFFFF


def philox4x32(counters, key):
    """Philox-4x32-10 on a (4, n) uint64 array of 32-bit counters; returns (4, n) words."""
    c0, c1, c2, c3 = (counters[i].copy() for i in range(4))
    k0, k1 = np.uint64(key[0] & _U32), np.uint64(key[1] & _U32)
    m0, m1, mask = np.uint64(_PHILOX_M0), np.uint64(_PHILOX_M1), np.uint64(_U32)
    for round_index in range(10):
        p0 = m0 * c0
        p1 = m1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & mask
        hi1, lo1 = p1 >> np.uint64(32), p1 & mask
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        if round_index < 9:
            k0 = (k0 + np.uint64(_PHILOX_W0)) & mask
            k1 = (k1 + np.uint64(_PHILOX_W1)) & mask
    return np.stack([c0, c1, c2, c3])


def _erf(x):
    try:
        from scipy.special import erf  # optional, faster
        return erf(x).astype(x.dtype)
    except ImportError:
        pass
    # Abramowitz-Stegun 7.1.26 is too coarse for gradient checks; use math.erf per element.
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _select(cond, a, b):
    """np.where(cond, a, b), same bits. np.where branches per element, so on a condition
    without pattern (ReLU's mask in a gradient) it runs ~6x slower than a branchless select
    on the bits: (a & mask) | (b & ~mask) with mask all ones where cond holds."""
    cond, a, b = np.asarray(cond), np.asarray(a), np.asarray(b)
    if cond.dtype != np.bool_ or a.dtype != b.dtype or a.dtype.itemsize not in (1, 2, 4, 8) \
            or max(cond.size, a.size, b.size) < 4096:
        return np.where(cond, a, b)
    bits = np.dtype(f"u{a.dtype.itemsize}")
    mask = cond.view(np.uint8).astype(bits)
    np.negative(mask, out=mask)                       # True -> all ones, False -> 0
    out, other = np.bitwise_and(a.view(bits), mask), np.bitwise_and(b.view(bits), ~mask)
    if other.shape == out.shape:
        out |= other
    else:
        out = out | other                                 # b broadcasts wider than a and cond
    return out.view(a.dtype)


class NumpyBackend(Backend):
    name = "cpu"
    device_name = "CPU:0"
    fuses_elementwise = True   # fused_elementwise below: one errstate, no per-op dispatch

    def __init__(self):
        _numpy()
        self._unary = {
            "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
            "rsqrt": lambda x: 1 / np.sqrt(x), "abs": np.abs, "sign": np.sign,
            "tanh": np.tanh, "sigmoid": self._sigmoid, "erf": _erf, "sin": np.sin,
            "cos": np.cos, "floor": np.floor, "ceil": np.ceil, "round": np.round,
            "reciprocal": lambda x: 1 / x, "logical_not": np.logical_not,
            "isnan": np.isnan, "isfinite": np.isfinite,
        }
        self._binary = {
            "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": self._divide,
            "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
            "floordiv": np.floor_divide, "mod": np.mod, "equal": np.equal,
            "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
            "greater": np.greater, "greater_equal": np.greater_equal,
            "logical_and": np.logical_and, "logical_or": np.logical_or,
        }

    @staticmethod
    def _sigmoid(x):
        # exp of a non-positive number only: no overflow warnings for large |x|
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)

    @staticmethod
    def _divide(a, b):
        if a.dtype.kind in "iu":  # integer division truncates toward zero, like C and TF
            return np.trunc(np.true_divide(a, b)).astype(a.dtype)
        return np.true_divide(a, b)

    # -- transfer --
    def from_list(self, flat, shape, dtype):
        return np.array(flat, dtype=dtype.as_numpy_dtype).reshape(shape)

    def from_bytes(self, data, shape, dtype):
        return np.frombuffer(data, dtype=dtype.as_numpy_dtype).reshape(shape).copy()

    def from_numpy(self, array, dtype):
        # np.array, not np.ascontiguousarray: the latter turns a 0-d array into shape (1,)
        return np.array(array, dtype=dtype.as_numpy_dtype, order="C", copy=True)

    def to_list(self, x):
        return x.reshape(-1).tolist()

    host_values = to_list   # the values are on the host already: not a device read

    def to_numpy(self, x):
        return x.copy()

    def shape(self, x):
        return x.shape

    def dtype(self, x):
        return dtypes.as_dtype(x.dtype.name)

    # -- creation --
    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype=dtype.as_numpy_dtype)

    def arange(self, start, delta, count, dtype):
        return (start + delta * np.arange(count, dtype=np.float64)).astype(dtype.as_numpy_dtype) \
            if dtype.is_floating else (start + delta * np.arange(count, dtype=np.int64)).astype(dtype.as_numpy_dtype)

    def random_uniform(self, shape, key, offset):
        n = math.prod(shape)
        blocks = (n + 3) // 4
        counters = np.zeros((4, blocks), dtype=np.uint64)
        counters[0] = np.arange(blocks, dtype=np.uint64)
        counters[1] = offset & _U32
        counters[2] = (offset >> 32) & _U32
        words = philox4x32(counters, key).T.reshape(-1)[:n]
        return ((words >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)).reshape(shape)

    # -- elementwise --
    def unary(self, op, x):
        with np.errstate(all="ignore"):
            out = self._unary[op](x)
        return out if op in ("logical_not", "isnan", "isfinite") else out.astype(x.dtype, copy=False)

    def binary(self, op, a, b):
        with np.errstate(all="ignore"):
            out = self._binary[op](a, b)
        if out.dtype != np.bool_ and out.dtype != a.dtype:
            out = out.astype(a.dtype)
        return out

    def where(self, cond, a, b):
        return _select(cond, a, b)

    def fused_elementwise(self, program, inputs, shape, dtype):
        """The group's ops as one NumPy expression: `unary`/`binary` above, inlined (one
        errstate for all of them), so results are the same bits."""
        values = list(inputs)
        unary, binary = self._unary, self._binary
        with np.errstate(all="ignore"):
            for kind, attr, args in program:
                if kind == "binary":
                    a = values[args[0]]
                    out = binary[attr](a, values[args[1]])
                    if out.dtype != np.bool_ and out.dtype != a.dtype:
                        out = out.astype(a.dtype)
                elif kind == "unary":
                    x = values[args[0]]
                    out = unary[attr](x)
                    if attr not in ("logical_not", "isnan", "isfinite"):
                        out = out.astype(x.dtype, copy=False)
                elif kind == "where":
                    out = _select(values[args[0]], values[args[1]], values[args[2]])
                elif kind == "cast":
                    out = self.cast(values[args[0]], attr)
                elif kind == "broadcast_to":
                    out = values[args[0]]
                else:
                    out = np.asarray(attr[0], dtype=attr[1].as_numpy_dtype)
                values.append(out)
        result = values[-1]
        return result if np.shape(result) == tuple(shape) else np.broadcast_to(result, shape)

    def cast(self, x, dtype):
        target = dtype.as_numpy_dtype
        if dtype.is_integer and x.dtype.kind == "f":
            with np.errstate(all="ignore"):
                x = np.trunc(x)
        return x.astype(target)

    # -- reductions --
    def reduce(self, op, x, axes, keepdims):
        axes = tuple(axes)
        if op == "sum" and x.dtype in (np.float32, np.float64) and x.size >= 4096 and x.flags.c_contiguous \
                and 0 < len(axes) < x.ndim and axes == tuple(range(len(axes))):
            # a sum over the leading axes (a bias gradient: over batch and pixels) has narrow
            # rows, which np.sum walks ~20x slower than a GEMV with a row of ones
            rows = math.prod(x.shape[:len(axes)])
            out = (np.ones((1, rows), dtype=x.dtype) @ x.reshape(rows, -1)).reshape(x.shape[len(axes):])
            return out.reshape((1,) * len(axes) + out.shape) if keepdims else out
        fn = {"sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod,
              "any": np.any, "all": np.all}[op]
        out = fn(x, axis=tuple(axes), keepdims=keepdims)
        out = np.asarray(out)
        return out if op in ("any", "all") else out.astype(x.dtype, copy=False)

    def arg_reduce(self, op, x, axis, dtype):
        fn = np.argmax if op == "argmax" else np.argmin
        return fn(x, axis=axis).astype(dtype.as_numpy_dtype)

    # -- movement --
    def reshape(self, x, shape):
        return x.reshape(shape)

    def transpose(self, x, perm):
        return np.ascontiguousarray(np.transpose(x, perm))

    def broadcast_to(self, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def _slices(begin, strides, sizes):
        out = []
        for b, s, n in zip(begin, strides, sizes):
            end = b + n * s
            out.append(slice(b, None if end < 0 else end, s))
        return tuple(out)

    def strided_slice(self, x, begin, strides, out_shape):
        return x[self._slices(begin, strides, out_shape)].copy()

    def strided_slice_grad(self, dy, in_shape, begin, strides):
        out = np.zeros(in_shape, dtype=dy.dtype)
        out[self._slices(begin, strides, dy.shape)] = dy
        return out

    def pad(self, x, pads, value):
        return np.pad(x, pads, mode="constant", constant_values=value)

    def concat(self, xs, axis):
        return np.concatenate(xs, axis=axis)

    def gather(self, x, indices, axis):
        return np.take(x, indices, axis=axis)

    def scatter_add(self, updates, indices, axis, shape):
        out = np.zeros(shape, dtype=updates.dtype)
        # move the gathered axis to the front so np.add.at can index it directly
        out_front = np.moveaxis(out, axis, 0)
        idx_rank = indices.ndim
        upd = np.moveaxis(updates.reshape(updates.shape[:axis] + (-1,) + updates.shape[axis + idx_rank:]), axis, 0)
        np.add.at(out_front, indices.reshape(-1), upd)
        return out

    # -- linear algebra --
    def matmul(self, a, b, transpose_a, transpose_b):
        if transpose_a:
            a = np.swapaxes(a, -1, -2)
        if transpose_b:
            b = np.swapaxes(b, -1, -2)
        return np.matmul(a, b)

    # -- convolution: im2col over a sliding-window view, then one GEMM --
    @staticmethod
    def _windows(xp, kh, kw, strides, dilations, out_hw):
        """(N, OH, OW, KH, KW, C) view of the padded input's receptive fields."""
        sh, sw = strides
        dh, dw = dilations
        oh, ow = out_hw
        n, _, _, c = xp.shape
        s = xp.strides
        return np.lib.stride_tricks.as_strided(
            xp, shape=(n, oh, ow, kh, kw, c),
            strides=(s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)

    @staticmethod
    def _out_hw(h, w, kh, kw, strides, pads, dilations):
        oh = (h + pads[0][0] + pads[0][1] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
        ow = (w + pads[1][0] + pads[1][1] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
        return oh, ow

    def _padded(self, x, pads, value=0):
        if not any(pads[0]) and not any(pads[1]):
            return x                     # VALID: np.pad would copy the whole input
        return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)

    def conv2d(self, x, w, strides, pads, dilations):
        kh, kw, c, o = w.shape
        oh, ow = self._out_hw(x.shape[1], x.shape[2], kh, kw, strides, pads, dilations)
        cols = self._windows(self._padded(x, pads), kh, kw, strides, dilations, (oh, ow))
        out = cols.reshape(-1, kh * kw * c) @ w.reshape(kh * kw * c, o)
        return out.reshape(x.shape[0], oh, ow, o)

    def conv2d_grad_filter(self, x, dy, w_shape, strides, pads, dilations):
        # one (KH*KW*C, N*OH*OW) @ (N*OH*OW, O) GEMM over an im2col copy costs that copy;
        # per filter cell, a GEMM over the input slice the cell reads is ~2.5x cheaper
        kh, kw, c, o = w_shape
        xp, dy2 = self._padded(x, pads), dy.reshape(-1, o)
        out = np.empty(w_shape, dtype=np.result_type(x, dy))
        for i, j, cell in self._filter_cells(xp, (kh, kw), strides, dilations, dy.shape[1:3]):
            out[i, j] = cell.reshape(-1, c).T @ dy2
        return out

    @staticmethod
    def _filter_cells(xp, ksize, strides, dilations, out_hw):
        """Each filter (or window) cell (i, j), row-major, with the (N, OH, OW, C) slice of the
        padded input it reads."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = ksize, strides, dilations, out_hw
        for i in range(kh):
            for j in range(kw):
                yield i, j, xp[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :]

    def _scatter_windows(self, x_shape, pads, window_values, strides, dilations):
        """Adjoint of `_windows`: add (N, OH, OW, KH, KW, C) values back into the input."""
        n, h, w, c = x_shape
        _, oh, ow, kh, kw, _ = window_values.shape
        (pt, pb), (pl, pr) = pads
        sh, sw = strides
        dh, dw = dilations
        out = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=window_values.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                    j * dw: j * dw + (ow - 1) * sw + 1: sw, :] += window_values[:, :, :, i, j, :]
        return out[:, pt: pt + h, pl: pl + w, :]

    def conv2d_grad_input(self, dy, w, x_shape, strides, pads, dilations):
        kh, kw, c, o = w.shape
        n, oh, ow, _ = dy.shape
        if c < 4:   # narrow: one GEMM then a scatter beats KH*KW GEMMs with C columns
            cols = (dy.reshape(-1, o) @ w.reshape(-1, o).T).reshape(n, oh, ow, kh, kw, c)
            return self._scatter_windows(x_shape, pads, cols, strides, dilations)
        # per filter cell: dy @ w[i, j]^T lands, contiguous, on the input slice the cell read
        (pt, pb), (pl, pr) = pads
        grad = np.zeros((n, x_shape[1] + pt + pb, x_shape[2] + pl + pr, c), dtype=np.result_type(dy, w))
        dy2, wt = dy.reshape(-1, o), w.transpose(0, 1, 3, 2)
        for i, j, cell in self._filter_cells(grad, (kh, kw), strides, dilations, (oh, ow)):
            cell += (dy2 @ wt[i, j]).reshape(n, oh, ow, c)
        return grad[:, pt: pt + x_shape[1], pl: pl + x_shape[2], :]

    def _pool_windows(self, x, ksize, strides, pads, fill):
        kh, kw = ksize
        oh, ow = self._out_hw(x.shape[1], x.shape[2], kh, kw, strides, pads, (1, 1))
        return self._windows(self._padded(x, pads, fill), kh, kw, strides, (1, 1), (oh, ow))

    def _max_pool(self, x, ksize, strides, pads):
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = self._padded(x, pads, lowest)
        out_hw = self._out_hw(x.shape[1], x.shape[2], *ksize, strides, pads, (1, 1))
        out = None
        for _, _, cell in self._filter_cells(xp, ksize, strides, (1, 1), out_hw):
            out = cell.copy() if out is None else np.maximum(out, cell)   # NaN propagates, as max does
        return xp, out

    def _avg_counts(self, x_shape, ksize, strides, pads, dtype):
        ones = np.ones((1, x_shape[1], x_shape[2], 1), dtype=dtype)
        return self._pool_windows(ones, ksize, strides, pads, 0).sum(axis=(3, 4))

    def pool2d(self, op, x, ksize, strides, pads):
        if op == "max":
            return self._max_pool(x, ksize, strides, pads)[1]
        sums = self._pool_windows(x, ksize, strides, pads, 0).sum(axis=(3, 4))
        return (sums / self._avg_counts(x.shape, ksize, strides, pads, x.dtype)).astype(x.dtype)

    def pool2d_grad(self, op, x, dy, ksize, strides, pads):
        kh, kw = ksize
        if op == "avg":
            share = dy / self._avg_counts(x.shape, ksize, strides, pads, dy.dtype)
            spread = np.broadcast_to(share[:, :, :, None, None, :], share.shape[:3] + (kh, kw) + share.shape[3:])
            return self._scatter_windows(x.shape, pads, spread.astype(dy.dtype), strides, (1, 1))
        # dy goes to each window's first maximal cell (row-major; a NaN counts as the maximum,
        # as argmax has it): walk the cells in order, routing to those that match and are first.
        xp, pooled = self._max_pool(x, ksize, strides, pads)
        out_hw = pooled.shape[1:3]
        pooled_nan = np.isnan(pooled) if pooled.dtype.kind == "f" else None
        if pooled_nan is not None and not pooled_nan.any():
            pooled_nan = None
        finite_dy = dy.dtype.kind != "f" or bool(np.isfinite(dy).all())
        grad = np.zeros(xp.shape, dtype=dy.dtype)
        unrouted = np.ones(pooled.shape, dtype=bool)
        cells = zip(self._filter_cells(xp, ksize, strides, (1, 1), out_hw),
                    self._filter_cells(grad, ksize, strides, (1, 1), out_hw))
        for (_, _, cell), (_, _, target) in cells:
            hit = np.equal(cell, pooled)
            if pooled_nan is not None:
                hit = np.where(pooled_nan, np.isnan(cell), hit)
            np.logical_and(hit, unrouted, out=hit)
            np.logical_xor(unrouted, hit, out=unrouted)    # hit implies unrouted: this clears them
            # dy * hit is where(hit, dy, 0) at a fraction of its cost, unless dy holds NaN or inf
            target += dy * hit if finite_dy else np.where(hit, dy, dy.dtype.type(0))
        (pt, _), (pl, _) = pads
        return grad[:, pt: pt + x.shape[1], pl: pl + x.shape[2], :]

    # -- fused primitives: base.py's scalar references, vectorised in the same order --
    def optimizer_update(self, kind, variable, gradient, slots, rate, hyper):
        dt = variable.dtype.type
        constants = [dt(c) for c in optimizer_constants(kind, hyper)]
        with np.errstate(all="ignore"):
            return _OPTIMIZER_STEPS[kind](variable, gradient, dict(slots), rate.astype(variable.dtype)[()],
                                          constants, hyper)

    def affine_warp(self, images, transforms, interpolation, fill_mode, fill_value):
        n, h, w, _ = images.shape
        dt = images.dtype.type
        with np.errstate(all="ignore"):
            sx, sy, fill = _warp_sources(transforms.astype(images.dtype), n, h, w, fill_mode, dt)
            sx, sy = np.where(fill, dt(0), sx), np.where(fill, dt(0), sy)  # safe indices; filled below
            read = _pixel_reader(images, dt(fill_value))
            if interpolation == "nearest":
                out = read(_round_half_away(sy), _round_half_away(sx))
            else:
                x0, y0 = np.floor(sx), np.floor(sy)
                wx0, wx1 = ((x0 + dt(1)) - sx)[..., None], (sx - x0)[..., None]
                xi, yi = x0.astype(np.int64), y0.astype(np.int64)
                top = wx0 * read(yi, xi) + wx1 * read(yi, xi + 1)
                bottom = wx0 * read(yi + 1, xi) + wx1 * read(yi + 1, xi + 1)
                out = ((y0 + dt(1)) - sy)[..., None] * top + (sy - y0)[..., None] * bottom
            return np.where(fill[..., None], dt(fill_value), out).astype(images.dtype, copy=False)


# ---------------------------------------------------------------- optimizer steps (base.optimizer_step)

def _sgd_step(v, g, slots, lr, constants, hyper):
    (mu,) = constants
    step = g * lr
    if "momentum" not in slots:
        return v - step, {}
    m = slots["momentum"] * mu - step
    return (v + (m * mu - step) if hyper.get("nesterov") else v + m), {"momentum": m}


def _adam_step(v, g, slots, lr, constants, hyper):
    one_minus_b1, one_minus_b2, eps = constants
    m = slots["momentum"] + (g - slots["momentum"]) * one_minus_b1
    u = slots["velocity"] + (g * g - slots["velocity"]) * one_minus_b2
    new = {"momentum": m, "velocity": u}
    denominator = u
    if "velocity_hat" in slots:
        denominator = new["velocity_hat"] = np.maximum(slots["velocity_hat"], u)
    return v - (m * lr) / (np.sqrt(denominator) + eps), new


def _adagrad_step(v, g, slots, lr, constants, hyper):
    (eps,) = constants
    a = slots["accumulator"] + g * g
    return v - (lr * g) / np.sqrt(a + eps), {"accumulator": a}


def _rmsprop_step(v, g, slots, lr, constants, hyper):
    rho, one_minus_rho, mu, eps = constants
    u = rho * slots["velocity"] + one_minus_rho * (g * g)
    new = {"velocity": u}
    if "average_gradient" in slots:
        avg = new["average_gradient"] = rho * slots["average_gradient"] + one_minus_rho * g
        denominator = (u - avg * avg) + eps
    else:
        denominator = u + eps
    increment = (lr * g) / np.sqrt(denominator)
    if "momentum" in slots:
        buf = new["momentum"] = mu * slots["momentum"] + increment
        return v - buf, new
    return v - increment, new


_OPTIMIZER_STEPS = {"sgd": _sgd_step, "adam": _adam_step, "adagrad": _adagrad_step, "rmsprop": _rmsprop_step}


# ---------------------------------------------------------------- warp (base.warp_source / warp_interpolate)

def _warp_sources(transforms, n, h, w, fill_mode, dt):
    """(sx, sy, fill): the (n, h, w) input points every output pixel reads, after the fill
    mode, and where it takes fill_value instead."""
    x = np.arange(w, dtype=dt)[None, None, :]
    y = np.arange(h, dtype=dt)[None, :, None]
    t = [transforms[:, j].reshape(-1, 1, 1) for j in range(transforms.shape[1])]
    sx = t[0] * x + t[1] * y + t[2]
    sy = t[3] * x + t[4] * y + t[5]
    fill = np.zeros((1, 1, 1), dtype=bool)
    if len(t) == 8:
        k = t[6] * x + t[7] * y + dt(1)
        fill = k == 0
        sx, sy = sx / k, sy / k
    sx = _map_coordinates(np.broadcast_to(sx, (n, h, w)), w, fill_mode, dt)
    sy = _map_coordinates(np.broadcast_to(sy, (n, h, w)), h, fill_mode, dt)
    fill = fill | np.isnan(sx) | np.isnan(sy)
    if fill_mode == "constant":
        fill = fill | (sx < 0) | (sx > dt(w - 1)) | (sy < 0) | (sy > dt(h - 1))
    return sx, sy, np.broadcast_to(fill, (n, h, w))


def _map_coordinates(c, size, fill_mode, dt):
    """base.map_coordinate on an array."""
    last = dt(size - 1)
    if fill_mode == "constant":
        return c
    if fill_mode != "nearest":
        c = np.where(np.isfinite(c), c, dt(np.nan))
        if size <= 1:
            return np.where(np.isnan(c), c, dt(0))
        if fill_mode == "reflect":
            sz2 = dt(2 * size)
            below = sz2 * np.trunc(-c / sz2) + c
            below = np.where(below < -size, below + sz2, -below - dt(1))
            above = c - sz2 * np.trunc(c / sz2)
            above = np.where(above >= size, (sz2 - above) - dt(1), above)
        else:  # wrap
            size_f, sz = dt(size), dt(size - 1)
            below = c + size_f * (np.trunc(-c / sz) + dt(1))
            above = c - size_f * np.trunc(c / sz)
        c = np.where(c < 0, below, np.where(c > last, above, c))
    return np.clip(c, dt(0), last)


def _round_half_away(c):
    """std::round for c >= 0, as integers."""
    f = np.floor(c)
    return (f + (c - f >= 0.5)).astype(np.int64)


def _pixel_reader(images, fill):
    """read(iy, ix) -> (n, h, w, c): the pixels at integer (n, h, w) coordinates, fill outside."""
    n, h, w, _ = images.shape
    batch = np.arange(n)[:, None, None]

    def read(iy, ix):
        inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        pixels = images[batch, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        return np.where(inside[..., None], pixels, fill)
    return read
