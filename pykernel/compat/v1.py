"""tf.compat.v1: the TF 1 API (graph mode, Session, placeholders, tf.compat.v1.train) on top of
every name of the `pykernel` namespace (tf.add, tf.matmul, tf.nn, ...), so TF 1 programs run
with `import pykernel as tf` + `tf.compat.v1.*`, or `import pykernel.compat.v1 as tf`.
See pykernel/graph/compat_v1.py for how graph mode works."""
import types as _types

import pykernel as _tf
from pykernel.graph import compat_v1_train as _train
from pykernel.graph.compat_v1 import (  # noqa: F401
    FailedPreconditionError, Graph, GraphTensor, Operation, assign, assign_add, assign_sub, control_dependencies,
    disable_eager_execution, enable_eager_execution, get_default_graph, global_variables,
    global_variables_initializer, group, name_scope, no_op, placeholder, placeholder_with_default,
    reset_default_graph, trainable_variables, variables_initializer,
)
from pykernel.graph.compat_v1_session import InteractiveSession, Session, get_default_session  # noqa: F401
from pykernel.graph.compat_v1_train import gradients  # noqa: F401

Variable = _tf.Variable
Tensor = _tf.Tensor
executing_eagerly = _tf.executing_eagerly
disable_v2_behavior = disable_eager_execution
enable_v2_behavior = enable_eager_execution
initialize_all_variables = global_variables_initializer
initialize_variables = variables_initializer


def executing_eagerly_outside_functions():
    from pykernel.graph.compat_v1 import eager_enabled
    return eager_enabled()


def local_variables_initializer():
    return no_op(name="init_1")


def tables_initializer(name="init_all_tables"):
    return no_op(name=name)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


class GraphKeys:
    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"


set_random_seed = _tf.random.set_seed
random_normal = _tf.random.normal
random_uniform = _tf.random.uniform
truncated_normal = _tf.random.truncated_normal
log = _tf.math.log
div = _tf.math.truediv
errors = _tf.errors


def to_float(x, name="ToFloat"):
    return _tf.cast(x, _tf.float32, name=name)


def to_int32(x, name="ToInt32"):
    return _tf.cast(x, _tf.int32, name=name)


def to_int64(x, name="ToInt64"):
    return _tf.cast(x, _tf.int64, name=name)


def _reduction(fn):
    def reduce(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        axis = reduction_indices if axis is None else axis
        keepdims = bool(keep_dims if keepdims is None else keepdims)
        return fn(input_tensor, axis, keepdims, name=name)
    reduce.__name__ = reduce.__qualname__ = fn.__name__
    reduce.__doc__ = f"tf.compat.v1.{fn.__name__}: also takes TF 1's `reduction_indices` and `keep_dims`."
    return reduce


for _name in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_all", "reduce_any",
              "reduce_logsumexp"):
    globals()[_name] = _reduction(getattr(_tf, _name))


def argmax(input, axis=None, name=None, dimension=None, output_type=_tf.int64):  # noqa: A002
    return _tf.argmax(input, dimension if axis is None else axis, output_type=output_type, name=name)


def argmin(input, axis=None, name=None, dimension=None, output_type=_tf.int64):  # noqa: A002
    return _tf.argmin(input, dimension if axis is None else axis, output_type=output_type, name=name)


def _dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """tf.compat.v1.nn.dropout: `keep_prob` (TF 1) or `rate`; either may be a tensor (a placeholder)."""
    if keep_prob is not None:
        rate = 1.0 - keep_prob
    if isinstance(rate, (int, float)) or not isinstance(rate, _tf.Tensor) or isinstance(rate, GraphTensor):
        return _tf.nn.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed, name=name)
    from pykernel.graph.compat_v1 import dropout_tensor_rate
    return dropout_tensor_rate(x, rate, noise_shape, seed)


nn = _types.ModuleType("pykernel.compat.v1.nn", "tf.compat.v1.nn: tf.nn plus TF 1's spellings.")
nn.dropout = _dropout
nn.softmax_cross_entropy_with_logits_v2 = _tf.nn.softmax_cross_entropy_with_logits
nn.__getattr__ = lambda name: getattr(_tf.nn, name)

train = _types.ModuleType("pykernel.compat.v1.train", "tf.compat.v1.train: TF 1 optimizers and the global step.")
for _name in ("Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "RMSPropOptimizer",
              "AdagradOptimizer", "get_global_step", "get_or_create_global_step", "create_global_step",
              "exponential_decay"):
    setattr(train, _name, getattr(_train, _name))


def __getattr__(name):
    # everything else is the TF 2 namespace (ops, dtypes, tf.nn, tf.math, keras, ...)
    return getattr(_tf, name)


def __dir__():
    return sorted(set(globals()) | set(dir(_tf)))
