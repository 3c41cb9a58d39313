"""keras.activations: elementwise activation functions, and `get` to look one up by name."""
from .. import ops
from ..ops import nn as nn_ops
from ..tensor import convert_to_tensor


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), optionally leaky below `threshold` and capped at `max_value` (Keras relu)."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn_ops.relu(x)
    x = convert_to_tensor(x)
    out = ops.where(ops.greater(x, threshold), x, (x - threshold) * negative_slope)
    return out if max_value is None else ops.minimum(out, float(max_value))


def leaky_relu(x, negative_slope=0.2):
    return nn_ops.leaky_relu(x, alpha=negative_slope)


def relu6(x):
    return nn_ops.relu6(x)


def elu(x, alpha=1.0):
    out = nn_ops.elu(x)
    return out if alpha == 1.0 else ops.where(ops.greater(x, 0.0), out, out * alpha)


def selu(x):
    return nn_ops.selu(x)


def gelu(x, approximate=False):
    return nn_ops.gelu(x, approximate=approximate)


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    return nn_ops.relu6(x + 3.0) * (1.0 / 6.0)


def tanh(x):
    return ops.tanh(x)


def softplus(x):
    return nn_ops.softplus(x)


def softsign(x):
    return nn_ops.softsign(x)


def silu(x):
    return nn_ops.silu(x)


swish = silu


def mish(x):
    return x * ops.tanh(nn_ops.softplus(x))


def exponential(x):
    return ops.exp(x)


def softmax(x, axis=-1):
    return nn_ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return nn_ops.log_softmax(x, axis=axis)


_BY_NAME = {
    "linear": linear, "relu": relu, "leaky_relu": leaky_relu, "relu6": relu6, "elu": elu,
    "selu": selu, "gelu": gelu, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "tanh": tanh,
    "softplus": softplus, "softsign": softsign, "silu": silu, "swish": swish, "mish": mish,
    "exponential": exponential, "softmax": softmax, "log_softmax": log_softmax,
}


def get(identifier):
    """The activation function for a name ('relu'), a callable (returned as is) or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"Unknown activation function: {identifier!r}. Valid names are: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return fn
    if isinstance(identifier, dict):  # a serialized activation: {"class_name": ..., "config": ...}
        return get(identifier.get("config", {}).get("name", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}; "
                     "expected a name, a callable or None")


def serialize(activation):
    """The name of a built-in activation, or the callable's __name__."""
    for name, fn in _BY_NAME.items():
        if fn is activation and name != "swish":
            return name
    return getattr(activation, "__name__", repr(activation))
