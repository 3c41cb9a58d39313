"""TF 1 graph mode (`tf.compat.v1`): the mode, and how public ops are recorded into a graph.

While a graph is being built (eager execution disabled, or inside `with tf.Graph().as_default():`)
the public ops of the `pykernel` namespace (and tf.math, tf.nn, tf.linalg, tf.random) do not
compute: each call records an `Operation` (the op function, its arguments) and returns
`GraphTensor`s of its results. pykernel's primitive graphs have static shapes and TF 1
placeholders have None dimensions, so the record is kept at the level of public op calls;
`Session.run` (compat_v1_session.py) evaluates the ops the fetches need with the fed values,
inside an internal `tf.function`, so that runs with the same feed shapes replay one traced
primitive program.

A node's static shape comes from running its op on symbolic stand-ins (a throwaway trace
that computes nothing), twice: with None dims as two different large primes (and a tensor of
unknown rank as a scalar, then as a (prime, 1) matrix). Dims that differ between the two
runs depend on a None dim and are None; a rank that differs is unknown.

Outside graph building the op wrappers cost one global flag check (`_active`) and the call.

compat_v1_graph.py has Graph, Operation and GraphTensor; compat_v1_variables.py graph
variables, initializers and assign ops; compat_v1_session.py the Session; compat_v1_train.py
the TF 1 optimizers. This module re-exports their public names.
"""
import contextlib
import functools
import threading
import types

from .. import autodiff, backends, dtypes, ops as _ops
from ..ops import random as _random_ops
from ..errors import FailedPreconditionError, OperatorNotAllowedInGraphError  # noqa: F401  (re-exported)
from ..tensor import Tensor
from ..variables import Variable
from . import ir, trace

_SENTINELS = (1_000_003, 1_000_033)   # stand-ins for None dims (primes, far from real sizes)

_lock = threading.Lock()
_local = threading.local()    # per thread: graphs entered, evaluation depth, control deps
_eager = True                 # disable_eager_execution() sets False (process-wide, like TF)
_contexts = 0                 # `Graph.as_default()` blocks open, in any thread
_active = False               # graph building may be on somewhere: the one check op wrappers make


# ---------------------------------------------------------------- mode state

def _update_active():
    global _active
    _active = (not _eager) or _contexts > 0


def disable_eager_execution():
    """Build graphs instead of computing: ops return graph tensors that a Session runs."""
    global _eager
    with _lock:
        _eager = False
        _update_active()


def enable_eager_execution(config=None, device_policy=None, execution_mode=None):
    global _eager
    with _lock:
        _eager = True
        _update_active()


def eager_enabled():
    """Whether eager execution is on process-wide (tf.compat.v1.executing_eagerly_outside_functions)."""
    return _eager


def building():
    """Whether ops called in this thread now are recorded into a graph."""
    if getattr(_local, "evaluating", 0) or trace.current() is not None:
        return False
    return not _eager or bool(getattr(_local, "graphs", None))


def executing_eagerly():
    return not (_active and building())


@contextlib.contextmanager
def evaluating():
    """Inside: ops compute (or trace) normally in this thread, even while a graph is built."""
    _local.evaluating = getattr(_local, "evaluating", 0) + 1
    try:
        yield
    finally:
        _local.evaluating -= 1



def graph_context(delta):
    """A `Graph.as_default()` block opens (+1) or closes (-1)."""
    global _contexts
    with _lock:
        _contexts += delta
        _update_active()


# ---------------------------------------------------------------- static shape inference

_BIG = 4096


class _World:
    """A throwaway trace where each graph tensor has a symbolic stand-in, None dims = `sentinel`.
    Kept per graph, so that constants and static shapes (tf.shape) flow to later ops."""

    def __init__(self, sentinel):
        self.sentinel = sentinel
        self.graph = ir.Graph("shape_inference")
        self.trace = trace.Trace(backends.default(), self.graph)
        tracer = self.trace.backend
        tracer.full = lambda shape, value, dtype: self._symbolic("Fill", shape, dtype)
        tracer.arange = lambda start, delta, count, dtype: self._symbolic("Range", (count,), dtype)
        inner = tracer.inner
        # large constants are not uploaded just to learn their shape (an op that reads their
        # values while building then takes the one-off path, which uploads them once)
        tracer.from_list = lambda flat, shape, dtype: (self._symbolic("Const", shape, dtype) if len(flat) > _BIG
                                                       else inner.from_list(flat, shape, dtype))
        tracer.from_numpy = lambda array, dtype: (self._symbolic("Const", array.shape, dtype) if array.size > _BIG
                                                  else inner.from_numpy(array, dtype))
        self.values = {}   # id(GraphTensor) -> stand-in Tensor

    def _symbolic(self, kind, shape, dtype):
        return self.graph.add(kind, (), {}, [(tuple(shape), dtype)]).outputs[0]

    @contextlib.contextmanager
    def active(self):
        stack = trace._local.__dict__.setdefault("stack", [])
        stack.append(self.trace)
        backends.tracing += 1
        try:
            with backends.using(self.trace.backend), autodiff.paused():
                yield
        finally:
            backends.tracing -= 1
            stack.pop()

    def stand_in(self, tensor):
        value = self.values.get(id(tensor))
        if value is None:
            dims = _dims(tensor.shape)
            if dims is None:   # unknown rank: a scalar in one world, (sentinel, 1) in the other
                shape = () if self.sentinel == _SENTINELS[0] else (self.sentinel, 1)
            else:
                shape = tuple(self.sentinel if d is None else d for d in dims)
            value = Tensor(self.graph.placeholder(shape, tensor.dtype), self.trace.backend, shape, tensor.dtype)
            self.values[id(tensor)] = value
        return value


def _run_op(fn, args, kwargs, lookup):
    a, k = substitute((args, kwargs), lookup)
    return fn(*a, **k)


def _infer(op):
    """(result structure, [(dims, dtype)] per tensor leaf, [world leaves]) of a deferred op."""
    seed_counter = _random_ops._op_counter   # inference must not advance random op seeds
    try:
        with evaluating():
            try:
                results = []
                for world in op.graph._inference_worlds():
                    with world.active():
                        results.append(_run_op(op._fn, op._args, op._kwargs, world.stand_in))
            except OperatorNotAllowedInGraphError as error:
                if any(_dims(t.shape) is None for t in op._inputs):
                    return _infer_unknown_rank(op)
                return _infer_fallback(op, error, ones=False)
            except Exception as error:
                if any(_dims(t.shape) is None for t in op._inputs):
                    return _infer_unknown_rank(op)
                if not any(None in (_dims(t.shape) or ()) for t in op._inputs):
                    raise
                return _infer_fallback(op, error)
    finally:
        _random_ops._op_counter = seed_counter
    flats = [flatten_result(r) for r in results]
    specs = []
    for leaves in zip(*flats):
        if isinstance(leaves[0], Tensor):
            a, b = tuple(leaves[0].shape), tuple(leaves[1].shape)
            dims = None if len(a) != len(b) else tuple(x if x == y else None for x, y in zip(a, b))
            specs.append((dims, leaves[0].dtype))
    return results[0], specs, flats


def _one_off(op, lookup_shape):
    """Run the op once in a fresh throwaway trace, stand-ins shaped by lookup_shape(tensor)."""
    backend = backends.default()
    with trace.tracing(backend, ir.Graph("shape_inference")) as tracing, autodiff.paused():
        def lookup(t):
            shape = lookup_shape(t)
            return Tensor(tracing.graph.placeholder(shape, t.dtype), tracing.backend, shape, t.dtype)
        return _run_op(op._fn, op._args, op._kwargs, lookup)


def _infer_fallback(op, error, ones=True):
    """The sentinel run failed. A None dim met a fixed one (None + 5 broadcasts in TF), or the
    op read a value the worlds keep symbolic: run once with None dims as 1 (when `ones`;
    result dims of 1 may come from them, so they are None) or as the first sentinel."""
    fill = 1 if ones else _SENTINELS[0]
    try:
        result = _one_off(op, lambda t: tuple(fill if d is None else d for d in _dims(t.shape)))
    except Exception:
        raise error from None
    specs = [(tuple(None if d == fill else d for d in leaf.shape), leaf.dtype)
             for leaf in flatten_result(result) if isinstance(leaf, Tensor)]
    return result, specs, None


def _infer_unknown_rank(op):
    """An input of unknown rank: try ranks 0..4 for the dtypes; the results' shapes are unknown."""
    for rank in range(5):
        try:
            result = _one_off(op, lambda t: (tuple(1 if d is None else d for d in _dims(t.shape))
                                             if _dims(t.shape) is not None else (1,) * rank))
            break
        except Exception:
            continue
    else:
        return None, [(None, op._inputs[0].dtype)], None
    specs = [(None, leaf.dtype) for leaf in flatten_result(result) if isinstance(leaf, Tensor)]
    return result, specs, None


# ---------------------------------------------------------------- deferral

_TYPE_NAMES = {
    "add": "AddV2", "subtract": "Sub", "multiply": "Mul", "truediv": "RealDiv", "divide": "RealDiv",
    "negative": "Neg", "getitem": "StridedSlice", "constant": "Const", "print_": "PrintV2", "zeros": "Fill",
    "ones": "Fill", "normal": "RandomStandardNormal", "uniform": "RandomUniform", "concat": "ConcatV2",
    "truncated_normal": "TruncatedNormal", "reduce_mean": "Mean", "reduce_sum": "Sum", "reduce_max": "Max",
    "reduce_min": "Min", "reduce_prod": "Prod", "reduce_all": "All", "reduce_any": "Any", "argmax": "ArgMax",
    "argmin": "ArgMin", "matmul": "MatMul", "where": "SelectV2", "range": "Range", "stack": "Pack",
    "unstack": "Unpack", "one_hot": "OneHot", "transpose": "Transpose", "gather": "GatherV2",
}
_NAMES = {
    "add": "Add", "subtract": "Sub", "multiply": "Mul", "truediv": "truediv", "divide": "truediv",
    "getitem": "strided_slice", "print_": "PrintV2",
    "zeros": "zeros", "ones": "ones", "normal": "random_normal", "uniform": "random_uniform",
    "truncated_normal": "truncated_normal", "concat": "concat", "stack": "stack", "unstack": "unstack",
    "one_hot": "one_hot", "transpose": "transpose", "range": "range", "zeros_like": "zeros_like",
    "ones_like": "ones_like", "softmax_cross_entropy_with_logits": "softmax_cross_entropy_with_logits",
}


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.strip("_").split("_"))


def defer(fn, args, kwargs, name=None):
    """Record `fn(*args, **kwargs)` into the default graph; graph tensors for its tensor results
    (the Operation itself when it has none)."""
    graph = get_default_graph()
    if fn is _ops.nn.dropout and isinstance(kwargs.get("rate", args[1] if len(args) > 1 else None), GraphTensor):
        fn = dropout_tensor_rate
    fn_name = getattr(fn, "__name__", "op")
    given = kwargs.get("name")
    base = given if isinstance(given, str) and given else \
        name or _NAMES.get(fn_name) or _TYPE_NAMES.get(fn_name) or _camel(fn_name)
    type_name = _TYPE_NAMES.get(fn_name) or _camel(fn_name)
    op = Operation(graph, "op", type_name, base, fn=fn, args=args, kwargs=kwargs)
    try:
        result, specs, worlds = _infer(op)
    except OperatorNotAllowedInGraphError:
        graph._ops.remove(op)
        graph._by_name.pop(op.name, None)
        raise TypeError(f"{fn_name}() needs the value of a graph tensor argument while the graph is built "
                        f"(inputs: {', '.join(t.name for t in op._inputs) or 'none'}); pass a Python value there: "
                        "graph tensors have values only when a Session runs them") from None
    outputs = op._set_outputs(specs)
    if worlds is not None:
        for world, leaves in zip(graph._inference_worlds(), worlds):
            tensor_leaves = [leaf for leaf in leaves if isinstance(leaf, Tensor)]
            for out, leaf in zip(outputs, tensor_leaves):
                world.values[id(out)] = leaf
    if result is None and not outputs:
        return op
    if isinstance(result, Tensor) or result is None:
        op._structure = 0
        return outputs[0]
    counter = iter(outputs)
    structure = substitute_leaves(result, lambda leaf: next(counter) if isinstance(leaf, Tensor) else leaf)
    op._structure = structure
    if not outputs:
        return op
    return structure


def substitute_leaves(structure, fn):
    if isinstance(structure, list):
        return [substitute_leaves(x, fn) for x in structure]
    if isinstance(structure, tuple):
        items = [substitute_leaves(x, fn) for x in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        return type(structure)((k, substitute_leaves(v, fn)) for k, v in structure.items())
    return fn(structure)


def dropout_tensor_rate(x, rate, noise_shape=None, seed=None, name=None):
    """tf.nn.dropout whose rate is a tensor (TF 1's keep_prob placeholder), composed from ops
    the way ops.nn.dropout computes it for a Python rate."""
    from ..tensor import convert_to_tensor
    x = convert_to_tensor(x)
    rate = _ops.cast(rate, x.dtype)
    keep = _ops.cast(_ops.greater(_random_ops.uniform(noise_shape or x.shape, seed=seed), rate), x.dtype)
    return x * keep * (1.0 / (1.0 - rate))


dropout_tensor_rate.__name__ = "dropout"


_wrappers = {}   # id(original function) -> its wrapper (one per function, in every namespace)
_NOT_OPS = {"set_seed", "get_global_seed"}


def wrap(fn):
    """`fn` made graph-aware: recorded while a graph is built, called directly otherwise."""
    wrapper = _wrappers.get(id(fn))
    if wrapper is not None:
        return wrapper[1]

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _active and building():
            return defer(fn, args, kwargs)
        return fn(*args, **kwargs)

    op._graph_original = fn
    _wrappers[id(fn)] = (fn, op)
    return op


def _is_op(name, value):
    return (isinstance(value, types.FunctionType) and not name.startswith("_") and name not in _NOT_OPS
            and getattr(value, "_graph_original", None) is None
            and (value.__module__.startswith("pykernel.ops") or value.__module__ == "pykernel.linalg"))


def install(namespace):
    """Wrap (in place) the public ops of the pykernel namespace `namespace` (a module dict) and
    of its tf.math, tf.nn, tf.linalg, tf.random and pykernel.ops; make `tf.Variable(...)` a graph variable
    while a graph is built."""
    # pykernel.ops too: Tensor's and Variable's operators call the ops through it, so that
    # `eager_tensor + graph_tensor` and `variable * graph_tensor` are recorded as well
    modules = ("math", "nn", "linalg", "random", "ops")
    for module in (namespace, *(vars(namespace[m]) for m in modules)):
        for name, value in list(module.items()):
            if _is_op(name, value):
                module[name] = wrap(value)
    if "__new__" not in Variable.__dict__:
        Variable.__new__ = staticmethod(_variable_new)


def _variable_new(cls, *args, **kwargs):
    if cls is Variable and _active and building():
        cls = GraphVariable
    return object.__new__(cls)


# ---------------------------------------------------------------- placeholders

def placeholder(dtype, shape=None, name=None):
    """A graph input that Session.run must feed (None dims: any size; shape None: any shape)."""
    if not building():
        raise RuntimeError("tf.placeholder() is not compatible with eager execution.")
    dtype = dtypes.as_dtype(dtype)
    op = Operation(get_default_graph(), "placeholder", "Placeholder", name or "Placeholder")
    op._set_outputs([(shape, dtype)])
    return op.outputs[0]


def placeholder_with_default(input, shape, name=None):  # noqa: A002
    """A placeholder that evaluates to `input` when not fed."""
    if not building():
        raise RuntimeError("tf.placeholder_with_default() is not compatible with eager execution.")
    from ..tensor import convert_to_tensor
    default = input
    if not isinstance(default, GraphTensor):
        with evaluating():
            default = convert_to_tensor(default)
    shape = as_shape(shape)
    if not shape.is_compatible_with(default.shape):
        raise ValueError(f"placeholder_with_default: shape {shape} is not compatible with the default's "
                         f"shape {default.shape}")
    op = Operation(get_default_graph(), "placeholder", "PlaceholderWithDefault", name or "PlaceholderWithDefault",
                   payload=default, extra_inputs=[default] if isinstance(default, GraphTensor) else ())
    op._set_outputs([(shape, default.dtype)])
    return op.outputs[0]


def missing_feed_message(op):
    tensor = op.outputs[0]
    dtype = _TF_DTYPE_NAMES.get(tensor.dtype.name, tensor.dtype.name)
    dims = _dims(tensor.shape)
    shape = "" if dims is None else f" and shape {_dims_text(dims)}"
    return f"You must feed a value for placeholder tensor '{op.name}' with dtype {dtype}{shape}"



from .compat_v1_graph import (  # noqa: E402,F401  (the graph objects; they use this module's state)
    Graph, GraphTensor, Operation, _dims, _dims_text, _TF_DTYPE_NAMES, _UnknownShape, as_shape, flatten_result,
    get_default_graph, global_graph, reset_default_graph, substitute,
)
from .compat_v1_variables import (  # noqa: E402,F401
    GraphVariable, assign, assign_add, assign_sub, control_dependencies, global_variables,
    global_variables_initializer, group, name_scope, no_op, trainable_variables, variables_initializer,
)
