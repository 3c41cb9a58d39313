"""TF 1 graph mode, state: graph variables (`tf.Variable` while a graph is built), their
initializers and assign ops, and `tf.group` / `tf.no_op` / `tf.control_dependencies`."""
import contextlib

from .. import dtypes, ops as _ops
from ..variables import Variable
from . import compat_v1 as mode
from .compat_v1_graph import GraphTensor, Operation, _dims, _session_for, as_shape, get_default_graph


# ---------------------------------------------------------------- variables

class GraphVariable(Variable):
    """`tf.Variable` created while a graph is built: it keeps its initial value (set by
    `initializer` / `global_variables_initializer()` when run); reads and assigns are
    graph ops. Inside a Session run it is an ordinary Variable (captured by the trace)."""

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None, shape=None, **_ignored):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        graph = get_default_graph()
        if callable(initial_value):
            initial_value = initial_value()
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
        if isinstance(initial_value, GraphTensor) and dtype is not None and initial_value.dtype is not dtype:
            initial_value = mode.defer(_ops.cast, (initial_value, dtype), {})
        base = graph.unique_name(name or "Variable")
        with mode.evaluating():
            if isinstance(initial_value, GraphTensor):
                dims = _dims(initial_value.shape)
                if dims is None or None in dims:
                    raise ValueError(f"initial_value of variable {base!r} must have a fully defined shape, got "
                                     f"{initial_value.shape}")
                start = _ops.zeros(dims, dtype=initial_value.dtype)
            else:
                start = initial_value
            super().__init__(start, trainable=trainable, name=base, dtype=dtype)
        self._graph = graph
        self._initial = initial_value if isinstance(initial_value, GraphTensor) else self._value
        self._initialized = False
        graph._variables.append(self)
        self._op = Operation(graph, "read", "VarHandleOp", base, payload=self, reads=[self], exact_name=True)
        self._op._set_outputs([(tuple(self.shape), self.dtype)])
        graph_initial = [self._initial] if isinstance(self._initial, GraphTensor) else []
        self._initializer = Operation(graph, "init", "AssignVariableOp", f"{base}/Assign",
                                      payload=[(self, self._initial)], writes=[self], extra_inputs=graph_initial)

    @property
    def graph(self):
        return self._graph

    @property
    def op(self):
        return self._op

    @property
    def initializer(self):
        return self._initializer

    @property
    def initial_value(self):
        return self._initial

    def eval(self, session=None):
        return _session_for(session, "variable", self).run(self)

    def _building(self):
        return mode._active and mode.building()

    def read_value(self):
        if self._building():
            op = Operation(self._graph, "read", "ReadVariableOp", f"{self._name}/Read/ReadVariableOp", payload=self,
                           reads=[self])
            return op._set_outputs([(tuple(self.shape), self.dtype)])[0]
        return super().read_value()

    def value(self):
        return self.read_value()

    def _assign_op(self, method, value, name, read_value):
        if isinstance(value, GraphTensor):
            if not as_shape(self.shape).is_compatible_with(value.shape):
                raise ValueError(f"Shapes {as_shape(self.shape)} and {value.shape} are incompatible "
                                 f"(assign to variable {self._name!r})")
        op = Operation(self._graph, "assign", {"assign": "AssignVariableOp", "assign_add": "AssignAddVariableOp",
                                               "assign_sub": "AssignSubVariableOp"}[method],
                       name or f"{method.title().replace('_', '')}", args=(value,), payload=(method, self),
                       reads=[] if method == "assign" else [self], writes=[self])
        out = op._set_outputs([(tuple(self.shape), self.dtype)])[0]
        return out if read_value else op

    def assign(self, value, use_locking=None, name=None, read_value=True):
        if self._building():
            return self._assign_op("assign", value, name, read_value)
        return super().assign(value, use_locking, name, read_value)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        if self._building():
            return self._assign_op("assign_add", delta, name, read_value)
        return super().assign_add(delta, use_locking, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        if self._building():
            return self._assign_op("assign_sub", delta, name, read_value)
        return super().assign_sub(delta, use_locking, name, read_value)

    def _no_value(self):
        raise NotImplementedError(f"Variable {self.name} of a graph has a value only in a Session: "
                                  "use sess.run(v) or v.eval()")

    def numpy(self):
        if self._building():
            self._no_value()
        return super().numpy()

    def __array__(self, dtype=None, copy=None):
        if self._building():
            self._no_value()
        return super().__array__(dtype)

    def __bool__(self):
        if self._building():
            return self.read_value().__bool__()
        return super().__bool__()

    def __iter__(self):
        if self._building():
            return self.read_value().__iter__()
        return super().__iter__()

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={as_shape(self.shape)} dtype={self.dtype.name}>"


def global_variables(graph=None, scope=None):
    graph = graph or get_default_graph()
    return list(graph._variables) + [v for v, _ in graph._state]


def trainable_variables(graph=None, scope=None):
    graph = graph or get_default_graph()
    return [v for v in graph._variables if v.trainable]


def variables_initializer(var_list, name="init"):
    """An op that assigns each variable its initial value when run."""
    if not mode.building():
        return None
    graph = get_default_graph()
    state = {id(v): init for v, init in graph._state}
    inits = []
    for v in var_list:
        if isinstance(v, GraphVariable):
            inits.append(v.initializer)
        elif id(v) in state:
            inits.append(state[id(v)])
    with graph.control_dependencies(inits):
        return no_op(name=name)


def global_variables_initializer():
    return variables_initializer(global_variables())


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    return ref.assign(value, name=name)


def assign_add(ref, value, use_locking=None, name=None):
    return ref.assign_add(value, name=name)


def assign_sub(ref, value, use_locking=None, name=None):
    return ref.assign_sub(value, name=name)


# ---------------------------------------------------------------- grouping

def no_op(name=None):
    """An op that does nothing (its control inputs run first); None in eager mode."""
    if not (mode._active and mode.building()):
        return None
    return Operation(get_default_graph(), "noop", "NoOp", name or "NoOp")


def group(*inputs, name=None):
    """An op that runs all `inputs` (ops or tensors); None in eager mode."""
    if not (mode._active and mode.building()):
        return None
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, tuple)) else [x])
    graph = get_default_graph()
    with graph.control_dependencies([x for x in flat if x is not None]):
        return no_op(name=name or "group_deps")


def control_dependencies(control_inputs):
    """`with tf.control_dependencies([ops]):` ops created inside run after them (graph mode)."""
    if not (mode._active and mode.building()):
        return contextlib.nullcontext()
    return get_default_graph().control_dependencies(control_inputs)


def name_scope(name, default_name=None, values=None):
    if not (mode._active and mode.building()):
        return contextlib.nullcontext(name)
    return get_default_graph().name_scope(name or default_name)
