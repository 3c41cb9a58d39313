"""The backend interface: the few primitives every op in `pykernel.ops` is built from.

A backend owns opaque *buffers*. A buffer knows its shape and dtype and lives on the
backend's device (a NumPy array here, a GPU buffer for WebGPU). Primitives never read
a buffer back to Python: the only sync points are `to_list`, `to_numpy` and `item`.
Shapes are tuples of ints, dtypes are `pykernel.dtypes.DType`. Arguments are validated
by the op layer before a primitive is called, so primitives may assume they are sane.

Elementwise primitives broadcast like NumPy. Gradients are not a backend concern.
"""
import math

UNARY_OPS = (
    "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "sigmoid", "erf",
    "sin", "cos", "floor", "ceil", "round", "reciprocal", "logical_not", "isnan", "isfinite",
)
BINARY_OPS = (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "floordiv", "mod",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or",
)
COMPARISON_OPS = frozenset(
    ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
     "logical_and", "logical_or", "logical_not", "isnan", "isfinite"))
REDUCE_OPS = ("sum", "max", "min", "prod", "any", "all")
ARG_REDUCE_OPS = ("argmax", "argmin")
POOL_OPS = ("max", "avg")
# optimizer_update: each kind's slot variables (Keras's names), in update order. Which of
# them are present selects the variant (SGD momentum, AMSGrad, centered/momentum RMSprop).
OPTIMIZER_SLOTS = {
    "sgd": ("momentum",),
    "adam": ("momentum", "velocity", "velocity_hat"),
    "adagrad": ("accumulator",),
    "rmsprop": ("velocity", "average_gradient", "momentum"),
}
OPTIMIZER_REQUIRED_SLOTS = {"sgd": (), "adam": ("momentum", "velocity"), "adagrad": ("accumulator",),
                            "rmsprop": ("velocity",)}
WARP_INTERPOLATIONS = ("nearest", "bilinear")
WARP_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


class Backend:
    """Abstract backend. `name` is the device kind ('cpu', 'webgpu')."""

    name = "abstract"
    device_name = "abstract:0"

    # -- transfer (host <-> device); reading back is a sync point --
    def from_list(self, flat, shape, dtype):
        """Buffer from a flat Python list of numbers, row-major."""
        raise NotImplementedError

    def from_bytes(self, data, shape, dtype):
        """Buffer from raw little-endian bytes (bytes, memoryview, array.array)."""
        raise NotImplementedError

    def from_numpy(self, array, dtype):
        raise NotImplementedError

    def to_list(self, x):
        """Flat row-major Python list of the buffer's values."""
        raise NotImplementedError

    def to_numpy(self, x):
        raise NotImplementedError

    def shape(self, x):
        raise NotImplementedError

    def dtype(self, x):
        raise NotImplementedError

    # -- creation --
    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, delta, count, dtype):
        """[start, start + delta, ...] with `count` elements."""
        raise NotImplementedError

    def random_uniform(self, shape, key, offset):
        """float32 uniforms in [0, 1) from a counter-based generator (Philox-4x32-10).

        `key` is two uint32s, `offset` a uint64 stream position: element i is word i % 4
        of the Philox block for counter (i // 4, offset_lo, offset_hi, 0), turned into a
        float as (word >> 8) * 2**-24. Every backend gives the same stream, bit for bit.
        """
        raise NotImplementedError

    # -- elementwise --
    def unary(self, op, x):
        raise NotImplementedError

    def binary(self, op, a, b):
        """Broadcasting binary op; comparisons and logical ops give bool."""
        raise NotImplementedError

    def where(self, cond, a, b):
        raise NotImplementedError

    def cast(self, x, dtype):
        raise NotImplementedError

    # -- reductions --
    def reduce(self, op, x, axes, keepdims):
        raise NotImplementedError

    def arg_reduce(self, op, x, axis, dtype):
        raise NotImplementedError

    # -- movement (copies or views; buffers are never mutated in place) --
    def reshape(self, x, shape):
        raise NotImplementedError

    def transpose(self, x, perm):
        raise NotImplementedError

    def broadcast_to(self, x, shape):
        raise NotImplementedError

    def strided_slice(self, x, begin, strides, out_shape):
        """out[i0, i1, ...] = x[begin0 + i0*strides0, ...]; strides may be negative."""
        raise NotImplementedError

    def strided_slice_grad(self, dy, in_shape, begin, strides):
        """Zeros of `in_shape` with `dy` written where `strided_slice` read from."""
        raise NotImplementedError

    def pad(self, x, pads, value):
        """pads: ((before, after), ...) per axis, non-negative."""
        raise NotImplementedError

    def concat(self, xs, axis):
        raise NotImplementedError

    def gather(self, x, indices, axis):
        """out = x.take(indices, axis); indices is an int buffer of any rank."""
        raise NotImplementedError

    def scatter_add(self, updates, indices, axis, shape):
        """Zeros of `shape`, then out[.., indices[j], ..] += updates[.., j, ..] (gather's adjoint)."""
        raise NotImplementedError

    # -- linear algebra and convolution --
    def matmul(self, a, b, transpose_a, transpose_b):
        """Batched matmul of rank >= 2 buffers; batch dims broadcast."""
        raise NotImplementedError

    def conv2d(self, x, w, strides, pads, dilations):
        """NHWC input, HWIO filter; pads ((top, bottom), (left, right))."""
        raise NotImplementedError

    def conv2d_grad_input(self, dy, w, x_shape, strides, pads, dilations):
        raise NotImplementedError

    def conv2d_grad_filter(self, x, dy, w_shape, strides, pads, dilations):
        raise NotImplementedError

    def pool2d(self, op, x, ksize, strides, pads):
        """'max' or 'avg' pooling, NHWC; padded cells never win a max and are not
        counted in an average (TensorFlow's SAME semantics)."""
        raise NotImplementedError

    def pool2d_grad(self, op, x, dy, ksize, strides, pads):
        """Max: dy goes to the first maximal cell of each window. Avg: spread evenly."""
        raise NotImplementedError

    # -- checks on values: errors TF raises from inside an op (a label or index out of range) --
    def host_values(self, x):
        """to_list for the backend's own checks: host backends answer without a device read."""
        return self.to_list(x)

    def check_values(self, values, failure, error=None):
        """Raise `error` (InvalidArgumentError by default) with the message `failure(v)` when it
        returns one, v being the flat list of the small buffer `values` (a few reductions of an
        op's input).

        Host backends check at once: their values are already on the host. A device backend
        may defer the check to its next sync point (the next read), so that guarding an op
        costs no extra host round trip per training step."""
        message = failure(self.host_values(values))
        if message:
            from ..errors import InvalidArgumentError
            raise (error or InvalidArgumentError)(message)

    # -- fused primitives: one pass instead of a chain of elementwise ops (not differentiated) --
    def optimizer_update(self, kind, variable, gradient, slots, rate, hyper):
        """One optimizer step for one variable, in one pass: (new_variable, {slot: new value}).

        kind: 'sgd', 'adam', 'adagrad' or 'rmsprop'. `variable`, `gradient` and the values of
        `slots` (a dict; names from OPTIMIZER_SLOTS[kind], those present select the variant:
        SGD momentum, AMSGrad's velocity_hat, RMSprop's centered average_gradient / momentum)
        share one shape and one float dtype. `rate` is a 0-d buffer of that dtype: the
        learning rate, for Adam the bias-corrected step size lr * sqrt(1 - b2^t) / (1 - b1^t).
        It stays on the device, so a schedule needs no read-back and no new kernel per step.
        `hyper` holds the optimizer's fixed Python numbers (momentum and nesterov; beta_1,
        beta_2, epsilon; rho). Results are fresh buffers; the inputs are left as they are
        (buffers are immutable: a Variable's earlier snapshots keep their values).

        Reference: `optimizer_step` below, per element: exactly the composed Keras formulas
        of keras/optimizers/*.py, every operation rounded to the dtype in the same order.
        """
        raise NotImplementedError

    def fused_elementwise(self, program, inputs, shape, dtype):
        """A group of elementwise ops that graph/fuse.py found, in one call: the result of the
        `program`'s last instruction over `inputs`, broadcast to `shape` (of `dtype`).

        This reference runs the instructions one by one through this backend's own
        primitives; a backend overrides it to run the group as one kernel, and says so with
        `fuses_elementwise = True` (only then do its programs fuse by default: for the
        others a group would cost as much as its ops)."""
        values = list(inputs)
        for kind, attr, args in program:
            operands = [values[k] for k in args]
            if kind == "unary":
                values.append(self.unary(attr, *operands))
            elif kind == "binary":
                values.append(self.binary(attr, *operands))
            elif kind == "where":
                values.append(self.where(*operands))
            elif kind == "cast":
                values.append(self.cast(operands[0], attr))
            elif kind == "broadcast_to":   # broadcasting is what the next op (or the end) does
                values.append(operands[0])
            else:   # a literal: (value, its dtype)
                values.append(self.from_list([attr[0]], (), attr[1]))
        result = values[-1]
        return result if tuple(self.shape(result)) == tuple(shape) else self.broadcast_to(result, shape)

    def affine_warp(self, images, transforms, interpolation, fill_mode, fill_value):
        """Resample NHWC float `images` (n, h, w, c) through per-image projective transforms:
        TensorFlow's ImageProjectiveTransformV3 with the output size of the input.

        `transforms` (n or 1 rows, of the images' dtype) has 6 columns [a0 a1 a2 b0 b1 b2]
        or 8 (plus c0 c1): output pixel (x, y) reads input point ((a0 x + a1 y + a2) / k,
        (b0 x + b1 y + b2) / k) with k = c0 x + c1 y + 1 (1 with 6 columns); k == 0 gives
        fill_value. interpolation in WARP_INTERPOLATIONS, fill_mode in WARP_FILL_MODES.
        As in current TF, fill_mode 'constant' fills every point outside [0, w-1] x [0, h-1]
        (older TF blended the border with fill_value), and 'wrap' keeps TF's quirk of
        dividing by w - 1. Coordinates are computed in the images' dtype (TF: float32).

        Reference: `warp_source` (where a pixel reads from, after the fill mode) and
        `warp_interpolate` (the value there) below, transcribed from TF's image_ops.h.
        """
        raise NotImplementedError


# ---------------------------------------------------------------- reference formulas
# Scalar references of the fused primitives. The pure-Python backend runs them as they are;
# the NumPy and WebGPU backends vectorise them, keeping the order of operations. `rnd` rounds
# a Python float to the dtype (float32: round-to-nearest-even; float64: the identity), so
# rounding every +, -, *, / and sqrt gives the dtype's IEEE result.

def optimizer_constants(kind, hyper):
    """The kind's fixed constants as Python floats, before rounding to the dtype. 1 - beta is
    computed here in double precision, as the composed formula's Python arithmetic does."""
    if kind == "sgd":
        return (float(hyper.get("momentum", 0.0)),)
    if kind == "adam":
        return (1.0 - hyper["beta_1"], 1.0 - hyper["beta_2"], float(hyper["epsilon"]))
    if kind == "adagrad":
        return (float(hyper["epsilon"]),)
    if kind == "rmsprop":
        return (float(hyper["rho"]), 1.0 - hyper["rho"], float(hyper.get("momentum", 0.0)),
                float(hyper["epsilon"]))
    raise ValueError(f"unknown optimizer kind {kind!r}; expected one of {tuple(OPTIMIZER_SLOTS)}")


def optimizer_step(kind, hyper, constants, rnd, value, gradient, slots, rate):
    """`optimizer_update` for one element: (new value, {slot: new value}).

    `constants` is optimizer_constants(kind, hyper) rounded by `rnd`; `slots` maps the
    present slot names to this element's values. Formulas (Keras 3 / TF):
      sgd      step = g*lr;  no momentum: v - step
               m = m*mu - step;  v + m, or with nesterov v + (m*mu - step)
      adam     m = m + (g - m)*(1 - b1);  u = u + (g*g - u)*(1 - b2);  [u_hat = max(u_hat, u)]
               v - (m*alpha) / (sqrt(u or u_hat) + eps)
      adagrad  a = a + g*g;  v - (lr*g) / sqrt(a + eps)
      rmsprop  u = rho*u + (1 - rho)*(g*g);  [centered: avg = rho*avg + (1 - rho)*g]
               inc = (lr*g) / sqrt(u + eps), centered sqrt((u - avg*avg) + eps)
               [momentum: buf = mu*buf + inc; v - buf]  else v - inc
    """
    r, g, lr = rnd, gradient, rate
    if kind == "sgd":
        (mu,) = constants
        step = r(g * lr)
        if "momentum" not in slots:
            return r(value - step), {}
        m = r(r(slots["momentum"] * mu) - step)
        if hyper.get("nesterov"):
            return r(value + r(r(m * mu) - step)), {"momentum": m}
        return r(value + m), {"momentum": m}
    if kind == "adam":
        one_minus_b1, one_minus_b2, eps = constants
        m = r(slots["momentum"] + r(r(g - slots["momentum"]) * one_minus_b1))
        u = r(slots["velocity"] + r(r(r(g * g) - slots["velocity"]) * one_minus_b2))
        new = {"momentum": m, "velocity": u}
        denominator = u
        if "velocity_hat" in slots:
            denominator = new["velocity_hat"] = ieee_maximum(slots["velocity_hat"], u)
        return r(value - r(ieee_div(r(m * lr), r(r(ieee_sqrt(denominator)) + eps)))), new
    if kind == "adagrad":
        (eps,) = constants
        a = r(slots["accumulator"] + r(g * g))
        return r(value - r(ieee_div(r(lr * g), r(ieee_sqrt(r(a + eps)))))), {"accumulator": a}
    if kind == "rmsprop":
        rho, one_minus_rho, mu, eps = constants
        u = r(r(rho * slots["velocity"]) + r(one_minus_rho * r(g * g)))
        new = {"velocity": u}
        if "average_gradient" in slots:
            avg = new["average_gradient"] = r(r(rho * slots["average_gradient"]) + r(one_minus_rho * g))
            denominator = r(r(u - r(avg * avg)) + eps)
        else:
            denominator = r(u + eps)
        increment = r(ieee_div(r(lr * g), r(ieee_sqrt(denominator))))
        if "momentum" in slots:
            buf = new["momentum"] = r(r(mu * slots["momentum"]) + increment)
            return r(value - buf), new
        return r(value - increment), new
    raise ValueError(f"unknown optimizer kind {kind!r}; expected one of {tuple(OPTIMIZER_SLOTS)}")


def warp_source(transform, x, y, width, height, fill_mode, rnd):
    """The input point (sx, sy) output pixel (x, y) reads, after `fill_mode` mapped it into
    the image; None where the pixel takes fill_value: k == 0, a NaN coordinate (undefined in
    TF), an infinite one under reflect/wrap (TF converts it to an integer: undefined), or a
    point outside [0, width - 1] x [0, height - 1] with fill_mode 'constant'."""
    r, t = rnd, transform
    x, y = float(x), float(y)
    sx = r(r(r(t[0] * x) + r(t[1] * y)) + t[2])
    sy = r(r(r(t[3] * x) + r(t[4] * y)) + t[5])
    if len(t) == 8:
        k = r(r(r(t[6] * x) + r(t[7] * y)) + 1.0)
        if k == 0:
            return None
        sx, sy = r(sx / k), r(sy / k)
    sx = map_coordinate(sx, width, fill_mode, r)
    sy = map_coordinate(sy, height, fill_mode, r)
    if sx != sx or sy != sy:
        return None
    if fill_mode == "constant" and not (0.0 <= sx <= width - 1 and 0.0 <= sy <= height - 1):
        return None
    return sx, sy


def map_coordinate(c, size, fill_mode, rnd):
    """TF's MapCoordinate: a coordinate outside [0, size - 1] mapped back as fill_mode extends
    the image (reflect: dcba|abcd|dcba, wrap: abcd|abcd|abcd, nearest: clamp; constant keeps
    it). TF's wrap divides by size - 1 but shifts by size; kept, for the same pixels as TF."""
    r, last = rnd, float(size - 1)
    if fill_mode == "constant":
        return c
    if fill_mode != "nearest" and c - c != 0:
        return math.nan  # NaN or infinite: TF's integer conversion is undefined there
    if fill_mode == "reflect":
        if c < 0:
            if size <= 1:
                c = 0.0
            else:
                c = r(2 * size * math.trunc(r(-c / (2 * size))) + c)
                c = r(c + 2 * size) if c < -size else r(-c - 1.0)
        elif c > last:
            if size <= 1:
                c = 0.0
            else:
                c = r(c - 2 * size * math.trunc(r(c / (2 * size))))
                if c >= size:
                    c = r(r(2 * size - c) - 1.0)
    elif fill_mode == "wrap":
        if c < 0:
            c = 0.0 if size <= 1 else r(c + size * (math.trunc(r(-c / (size - 1))) + 1))
        elif c > last:
            c = 0.0 if size <= 1 else r(c - size * math.trunc(r(c / (size - 1))))
    return 0.0 if c < 0 else (last if c > last else c)  # a NaN stays NaN


def warp_interpolate(read, sx, sy, interpolation, rnd):
    """The value at input point (sx, sy) (as returned by warp_source: both >= 0). `read(iy,
    ix)` gives a pixel, or fill_value outside the image. 'nearest' rounds half away from
    zero (std::round); 'bilinear' weighs the four neighbours like TF, x first."""
    r = rnd
    if interpolation == "nearest":
        return read(_round_half_away(sy), _round_half_away(sx))
    x0, y0 = math.floor(sx), math.floor(sy)
    fx0, fy0 = float(x0), float(y0)
    wx0, wx1 = r((fx0 + 1.0) - sx), r(sx - fx0)
    top = r(r(wx0 * read(y0, x0)) + r(wx1 * read(y0, x0 + 1)))
    bottom = r(r(wx0 * read(y0 + 1, x0)) + r(wx1 * read(y0 + 1, x0 + 1)))
    return r(r(r((fy0 + 1.0) - sy) * top) + r(r(sy - fy0) * bottom))


def _round_half_away(c):
    """std::round for c >= 0; c - floor(c) is exact, unlike floor(c + 0.5)."""
    f = math.floor(c)
    return f + 1 if c - f >= 0.5 else f


def ieee_div(a, b):
    """a / b with IEEE results for a zero divisor (Python raises)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def ieee_sqrt(a):
    return math.sqrt(a) if a >= 0 else (a if a != a else math.nan)


def ieee_maximum(a, b):
    """NumPy's maximum: a NaN on either side wins."""
    return a if a > b or a != a else b
