"""pykernel: TensorFlow 2 / Keras in pure Python, on NumPy or WebGPU.

    import pykernel as tf
    from pykernel import keras
"""
from . import config, dtypes, errors, linalg, math, nest, nn, random  # noqa: F401
from .autodiff import GradientTape  # noqa: F401
from .dtypes import DType, as_dtype, bool_ as bool, float32, float64, int32, int64, uint8  # noqa: F401,A001
from .graph import TensorSpec, function, init_scope  # noqa: F401
from .graph.control_flow import TensorArray, cond, while_loop  # noqa: F401
from .module import Module, name_scope  # noqa: F401
from .ops import *  # noqa: F401,F403
from .ops import abs, pow, print, range, round, slice  # noqa: F401,A001
from .tensor import Tensor, TensorShape, convert_to_tensor  # noqa: F401
from .variables import Variable  # noqa: F401


def device(device_name):
    """`with tf.device("/GPU:0"):` (or "webgpu", "cpu", "/CPU:0"): tensors created inside
    live on that device, and `tf.identity(x)` inside copies `x` there. Ops run on the
    device of their inputs."""
    from .backends import scope
    return scope(device_name)
from .linalg import norm  # noqa: F401

__version__ = "0.1.0"
newaxis = None


def executing_eagerly():
    """False while a tf.function is being traced (or in TF 1 graph mode), True otherwise."""
    from .graph.trace import current
    from .graph.compat_v1 import executing_eagerly as _not_building_a_graph
    return current() is None and _not_building_a_graph()


def is_tensor(x):
    return isinstance(x, (Tensor, Variable))


# TF 1 graph mode: wraps the ops above so that they record while a graph is built
from .graph import compat_v1 as _compat_v1  # noqa: E402
_compat_v1.install(globals())
from .graph.compat_v1 import control_dependencies, group, no_op  # noqa: E402,F401
from .graph.compat_v1_session import Session  # noqa: E402,F401  (tf.compat.v1.Session, for TF 1 programs)
from . import compat  # noqa: E402,F401


def __getattr__(name):
    # keras is heavier; load it on first use (`pykernel.keras` or `from pykernel import keras`)
    if name == "keras":
        import importlib
        return importlib.import_module(".keras", __name__)
    raise AttributeError(f"module 'pykernel' has no attribute {name!r}")
