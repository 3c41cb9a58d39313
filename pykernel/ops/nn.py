"""Neural-network ops (tf.nn): convolution, pooling, activations, softmax, losses."""
import math

from .. import dtypes
from ..errors import InvalidArgumentError
from .checks import check_in_range
from .dispatch import check_float, is_recording, record, tensor, tensors, wrap
from .elementwise import exp, expm1, erf, log, maximum, minimum, sigmoid, tanh, abs as abs_, greater
from .math_ops import cast, stop_gradient, where
from .reduction import reduce_max, reduce_mean, reduce_sum


# ------------------------------------------------------------------ conv / pool geometry

def _pair(value, name, op, rank4=True):
    """An (h, w) pair from an int, [h, w] or NHWC-style [1, h, w, 1]."""
    if isinstance(value, int):
        return (value, value)
    value = [int(v) for v in value]
    if len(value) == 1:
        return (value[0], value[0])
    if len(value) == 2:
        return tuple(value)
    if len(value) == 4 and rank4:
        if value[0] != 1 or value[3] != 1:
            raise InvalidArgumentError(f"{op}: {name} {value} must be 1 on the batch and channel axes")
        return (value[1], value[2])
    raise InvalidArgumentError(f"{op}: {name} must be an int or a list of 1, 2 or 4 ints, got {value}")


def _padding(padding, in_hw, k_hw, strides, dilations, op):
    """((top, bottom), (left, right)) for 'SAME', 'VALID' or explicit NHWC paddings."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0))
        if mode == "SAME":
            pads = []
            for size, k, s, d in zip(in_hw, k_hw, strides, dilations):
                out = -(-size // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise InvalidArgumentError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")
    pads = [tuple(int(v) for v in p) for p in padding]
    if len(pads) != 4 or pads[0] != (0, 0) or pads[3] != (0, 0) or min(min(p) for p in pads) < 0:
        raise InvalidArgumentError(f"{op}: explicit padding must be [[0,0],[top,bottom],[left,right],[0,0]], "
                                   f"got {padding}")
    return (pads[1], pads[2])


def _out_size(size, k, s, d, pad):
    return (size + pad[0] + pad[1] - (k - 1) * d - 1) // s + 1


def _check_nhwc(op, x, data_format):
    if data_format not in ("NHWC", "channels_last", None):
        raise InvalidArgumentError(f"{op}: only data_format='NHWC' is supported, got {data_format!r}")
    if x.ndim != 4:
        raise InvalidArgumentError(f"{op}: input must be rank 4 (batch, height, width, channels), "
                                   f"got shape {tuple(x.shape)}")
    check_float(op, x)


# ------------------------------------------------------------------ convolution

def conv2d(input, filters, strides=1, padding="VALID", data_format="NHWC", dilations=None, name=None):  # noqa: A002
    x, w = tensors("conv2d", input, filters)
    _check_nhwc("conv2d", x, data_format)
    if w.ndim != 4:
        raise InvalidArgumentError(f"conv2d: filters must be rank 4 (height, width, in_channels, "
                                   f"out_channels), got shape {tuple(w.shape)}")
    if x.shape[3] != w.shape[2]:
        raise InvalidArgumentError(
            f"conv2d: input has shape {tuple(x.shape)} with {x.shape[3]} channels but filters have shape "
            f"{tuple(w.shape)} expecting {w.shape[2]} input channels")
    strides = _pair(strides, "strides", "conv2d")
    dilations = _pair(1 if dilations is None else dilations, "dilations", "conv2d")
    if min(strides) < 1 or min(dilations) < 1:
        raise InvalidArgumentError(f"conv2d: strides {strides} and dilations {dilations} must be >= 1")
    pads = _padding(padding, x.shape[1:3], w.shape[0:2], strides, dilations, "conv2d")
    oh, ow = (_out_size(x.shape[1 + i], w.shape[i], strides[i], dilations[i], pads[i]) for i in (0, 1))
    if oh <= 0 or ow <= 0:
        raise InvalidArgumentError(f"conv2d: filters of shape {tuple(w.shape)} do not fit input {tuple(x.shape)} "
                                   f"with padding {padding!r}")
    return _conv2d(x, w, strides, pads, dilations, (x.shape[0], oh, ow, w.shape[3]))


def _conv2d(x, w, strides, pads, dilations, out_shape):
    out = wrap(x.backend.conv2d(x._buf, w._buf, strides, pads, dilations), x.backend, out_shape, x.dtype)
    if is_recording():
        record((x, w), out, lambda g: (
            _conv2d_backprop_input(g, w, x.shape, strides, pads, dilations),
            _conv2d_backprop_filter(x, g, w.shape, strides, pads, dilations)))
    return out


def _conv2d_backprop_input(dy, w, x_shape, strides, pads, dilations):
    """The adjoint of conv2d in its input; itself differentiable (for higher-order grads)."""
    out = wrap(dy.backend.conv2d_grad_input(dy._buf, w._buf, tuple(x_shape), strides, pads, dilations),
               dy.backend, tuple(x_shape), dy.dtype)
    if is_recording():
        record((dy, w), out, lambda g: (
            _conv2d(g, w, strides, pads, dilations, dy.shape),
            _conv2d_backprop_filter(g, dy, w.shape, strides, pads, dilations)))
    return out


def _conv2d_backprop_filter(x, dy, w_shape, strides, pads, dilations):
    out = wrap(x.backend.conv2d_grad_filter(x._buf, dy._buf, tuple(w_shape), strides, pads, dilations),
               x.backend, tuple(w_shape), x.dtype)
    if is_recording():
        record((x, dy), out, lambda g: (
            _conv2d_backprop_input(dy, g, x.shape, strides, pads, dilations),
            _conv2d(x, g, strides, pads, dilations, dy.shape)))
    return out


def convolution(input, filters, strides=None, padding="VALID", data_format=None, dilations=None, name=None):  # noqa: A002
    return conv2d(input, filters, 1 if strides is None else strides, padding, data_format or "NHWC", dilations)


# ------------------------------------------------------------------ pooling

def _pool(op, name, input, ksize, strides, padding, data_format):  # noqa: A002
    x = tensor(input)
    _check_nhwc(name, x, data_format)
    ksize = _pair(ksize, "ksize", name)
    strides = _pair(strides, "strides", name)
    if min(ksize) < 1 or min(strides) < 1:
        raise InvalidArgumentError(f"{name}: ksize {ksize} and strides {strides} must be >= 1")
    pads = _padding(padding, x.shape[1:3], ksize, strides, (1, 1), name)
    oh, ow = (_out_size(x.shape[1 + i], ksize[i], strides[i], 1, pads[i]) for i in (0, 1))
    if oh <= 0 or ow <= 0:
        raise InvalidArgumentError(f"{name}: window {ksize} does not fit input {tuple(x.shape)} with "
                                   f"padding {padding!r}")
    return _pool2d(op, x, ksize, strides, pads, (x.shape[0], oh, ow, x.shape[3]))


def _pool2d(op, x, ksize, strides, pads, out_shape):
    out = wrap(x.backend.pool2d(op, x._buf, ksize, strides, pads), x.backend, out_shape, x.dtype)
    if is_recording():
        record((x,), out, lambda g: (_pool2d_backprop(op, x, out, g, ksize, strides, pads),))
    return out


def _pool2d_backprop(op, x, y, dy, ksize, strides, pads):
    """The pooling gradient; itself differentiable in dy (for higher-order gradients).

    It is piecewise constant in x, so its gradient w.r.t. x is None (zero)."""
    out = wrap(x.backend.pool2d_grad(op, x._buf, dy._buf, ksize, strides, pads), x.backend, x.shape, x.dtype)
    if is_recording():
        if op == "avg":  # linear in dy: its adjoint is average pooling again
            record((dy,), out, lambda g: (_pool2d("avg", g, ksize, strides, pads, dy.shape),))
        else:
            record((dy,), out, lambda g: (_max_pool_grad_grad(x, y, g, ksize, strides, pads),))
    return out


def _max_pool_grad_grad(x, y, g, ksize, strides, pads):
    """Adjoint of max-pool backprop: each window reads g at its first maximal cell
    (the cell the gradient was routed to), one strided slice per window offset."""
    from .elementwise import equal, logical_and, logical_not, logical_or
    from .shape import pad, strided_slice_primitive
    paddings = [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
    xp = pad(stop_gradient(x), paddings, constant_values=-math.inf)
    gp = pad(g, paddings)
    y = stop_gradient(y)
    out, found = None, None
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            begin, step = [0, i, j, 0], [1, strides[0], strides[1], 1]
            hit = equal(strided_slice_primitive(xp, begin, step, y.shape), y)
            if found is not None:
                hit = logical_and(hit, logical_not(found))
            cell = strided_slice_primitive(gp, begin, step, y.shape)
            out = where(hit, cell, 0.0) if out is None else where(hit, cell, out)
            found = hit if found is None else logical_or(found, hit)
    return out


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    return _pool("max", "max_pool2d", input, ksize, strides, padding, data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    return _pool("avg", "avg_pool2d", input, ksize, strides, padding, data_format)


max_pool = max_pool2d
avg_pool = avg_pool2d


# ------------------------------------------------------------------ activations

def relu(features, name=None):
    x = tensor(features)
    out = maximum(stop_gradient(x), 0.0) if x.dtype.is_floating else maximum(x, 0)
    if x.dtype.is_floating and is_recording():
        record((x,), out, lambda g: (where(greater(out, 0.0), g, 0.0),))
    return out


def relu6(features, name=None):
    x = tensor(features)
    if not x.dtype.is_floating:
        return minimum(maximum(x, 0), 6)
    out = minimum(maximum(stop_gradient(x), 0.0), 6.0)
    if is_recording():  # TF: the gradient passes only where 0 < x < 6
        from .elementwise import less, logical_and
        record((x,), out, lambda g: (where(logical_and(greater(x, 0.0), less(x, 6.0)), g, 0.0),))
    return out


def leaky_relu(features, alpha=0.2, name=None):
    x = tensor(features)
    return where(greater(x, 0.0), x, x * alpha)


def elu(features, name=None):
    x = tensor(features)
    return where(greater(x, 0.0), x, expm1(minimum(x, 0.0)))


def selu(features, name=None):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    x = tensor(features)
    return scale * where(greater(x, 0.0), x, alpha * (expm1(minimum(x, 0.0))))


def gelu(features, approximate=False, name=None):
    x = tensor(features)
    if approximate:
        return 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def softplus(features, name=None):
    """log(1 + exp(x)), written to neither overflow nor lose precision; gradient sigmoid(x)."""
    from .elementwise import log1p
    x = tensor(features)
    check_float("softplus", x)
    xs = stop_gradient(x)
    out = maximum(xs, 0.0) + log1p(exp(-abs_(xs)))
    if is_recording():
        record((x,), out, lambda g: (g * sigmoid(x),))
    return out


def softsign(features, name=None):
    x = tensor(features)
    return x / (1.0 + abs_(x))


def silu(features, beta=1.0, name=None):
    x = tensor(features)
    return x * sigmoid(beta * x)


swish = silu


def softmax(logits, axis=-1, name=None):
    x = tensor(logits)
    check_float("softmax", x)
    e = exp(x - stop_gradient(reduce_max(x, axis, keepdims=True)))
    return e / reduce_sum(e, axis, keepdims=True)


def log_softmax(logits, axis=-1, name=None):
    x = tensor(logits)
    check_float("log_softmax", x)
    shifted = x - stop_gradient(reduce_max(x, axis, keepdims=True))
    return shifted - log(reduce_sum(exp(shifted), axis, keepdims=True))


# ------------------------------------------------------------------ losses and normalization

def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    z, x = tensors("sigmoid_cross_entropy_with_logits", labels, logits)
    if tuple(z.shape) != tuple(x.shape):
        raise InvalidArgumentError(f"sigmoid_cross_entropy_with_logits: labels shape {tuple(z.shape)} "
                                   f"and logits shape {tuple(x.shape)} must match")
    from .elementwise import log1p
    return maximum(x, 0.0) - x * z + log1p(exp(-abs_(x)))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    z, x = tensors("softmax_cross_entropy_with_logits", labels, logits)
    if tuple(z.shape) != tuple(x.shape):
        raise InvalidArgumentError(f"softmax_cross_entropy_with_logits: labels shape {tuple(z.shape)} "
                                   f"and logits shape {tuple(x.shape)} must match")
    return -reduce_sum(z * log_softmax(x, axis), axis)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    from .shape import one_hot
    x = tensor(logits)
    y = tensor(labels) if hasattr(labels, "dtype") else tensor(labels, dtypes.int32)
    if not y.dtype.is_integer:
        raise InvalidArgumentError(f"sparse_softmax_cross_entropy_with_logits: labels must be integers, "
                                   f"got {y.dtype.name}")
    if tuple(y.shape) != tuple(x.shape[:-1]):
        raise InvalidArgumentError(f"sparse_softmax_cross_entropy_with_logits: labels shape {tuple(y.shape)} "
                                   f"must equal logits shape {tuple(x.shape)} without its last axis")
    classes = x.shape[-1]
    check_in_range(y, 0, classes, lambda label: f"Received a label value of {label} which is outside the valid "
                   f"range of [0, {classes}) (sparse softmax cross-entropy: labels must be class indices "
                   f"for {classes} classes)")
    return -reduce_sum(one_hot(y, x.shape[-1], dtype=x.dtype) * log_softmax(x), -1)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    from .random import uniform
    x = tensor(x)
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise InvalidArgumentError(f"dropout: rate must be in [0, 1), got {rate}")
    if rate == 0.0:
        return x
    keep = cast(greater(uniform(noise_shape or x.shape, seed=seed), rate), x.dtype)
    return x * keep * (1.0 / (1.0 - rate))


def bias_add(value, bias, data_format=None, name=None):
    v, b = tensors("bias_add", value, bias)
    if b.ndim != 1 or v.ndim < 1 or v.shape[-1] != b.shape[0]:
        raise InvalidArgumentError(f"bias_add: bias of shape {tuple(b.shape)} must be 1-D and match the "
                                   f"last axis of value with shape {tuple(v.shape)}")
    return v + b


def moments(x, axes, shift=None, keepdims=False, name=None):
    x = tensor(x)
    mean = reduce_mean(x, axes, keepdims=True)
    variance = reduce_mean((x - mean) * (x - mean), axes, keepdims=True)
    if not keepdims:
        from .shape import squeeze
        axes_list = [axes] if isinstance(axes, int) else list(axes)
        mean, variance = squeeze(mean, axes_list), squeeze(variance, axes_list)
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    from .elementwise import rsqrt
    inv = rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    y = x * inv + ((offset if offset is not None else 0.0) - mean * inv)
    return y


def l2_loss(t, name=None):
    t = tensor(t)
    return reduce_sum(t * t) * 0.5


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    from .elementwise import rsqrt
    x = tensor(x)
    return x * rsqrt(maximum(reduce_sum(x * x, axis, keepdims=True), epsilon))
