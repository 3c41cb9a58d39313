"""keras.backend: global Keras settings (float type, fuzz factor) and session reset."""
from . import naming

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
get_uid = naming.get_uid


def floatx():
    """The default float type for weights and inputs: 'float32'."""
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected 'float32' or 'float64'")
    _FLOATX = value


def epsilon():
    """The fuzz factor Keras uses to keep logs and divisions finite: 1e-7."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    return _IMAGE_DATA_FORMAT


def clear_session():
    """Reset the default-name counters, so names start again at 'dense', 'conv2d', ..."""
    naming.reset()


def to_host(value):
    """A NumPy array of a Tensor or Variable where NumPy exists; the tensor itself otherwise
    (e.g. in Pyodide without NumPy). What get_weights and predict hand back."""
    try:
        import numpy  # noqa: F401  (only probing whether it is importable)
    except ImportError:
        return value.read_value() if hasattr(value, "read_value") else value
    return value.numpy()


def is_keras_tensor(x):
    from .layers.keras_tensor import KerasTensor
    return isinstance(x, KerasTensor)
