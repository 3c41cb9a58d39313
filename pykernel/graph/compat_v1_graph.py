"""TF 1 graph mode, the graph itself: `Graph`, `Operation`, `GraphTensor` and their static shapes
(TensorShape with None dims). See compat_v1.py for how ops are recorded."""
import contextlib
import math

from .. import ops as _ops
from ..errors import OperatorNotAllowedInGraphError
from ..tensor import Tensor, TensorShape
from ..variables import Variable
from . import compat_v1 as mode


# ---------------------------------------------------------------- shapes

class _Shape(TensorShape):
    """A TensorShape whose dims may be None (unknown size)."""

    def num_elements(self):
        return None if None in self else math.prod(self)

    def is_fully_defined(self):
        return None not in self

    def is_compatible_with(self, other):
        other = as_shape(other)
        if other.rank is None:
            return True
        return len(self) == len(other) and all(a is None or b is None or a == b for a, b in zip(self, other))

    def merge_with(self, other):
        other = as_shape(other)
        if other.rank is None:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        return _Shape(a if a is not None else b for a, b in zip(self, other))

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return _Shape(out) if isinstance(key, slice) else out

    def __str__(self):
        return "(" + ", ".join(str(d) for d in self) + ("," if len(self) == 1 else "") + ")"


class _UnknownShape(_Shape):
    """TensorShape(None): not even the rank is known."""
    rank = None
    ndims = None

    def as_list(self):
        raise ValueError("as_list() is not defined on an unknown TensorShape.")

    def num_elements(self):
        return None

    def is_fully_defined(self):
        return False

    def is_compatible_with(self, other):
        return True

    def merge_with(self, other):
        return as_shape(other)

    def __len__(self):
        raise ValueError("Cannot take the length of shape with unknown rank.")

    def __bool__(self):
        return False

    def __repr__(self):
        return "TensorShape(None)"

    def __str__(self):
        return "<unknown>"


def as_shape(shape):
    if isinstance(shape, _Shape):
        return shape
    if shape is None:
        return _UnknownShape()
    if isinstance(shape, int):
        shape = (shape,)
    return _Shape(None if d is None or (isinstance(d, int) and d < 0) else int(d) for d in shape)


def _dims(shape):
    """A shape as a tuple with None dims, or None for an unknown rank."""
    shape = as_shape(shape)
    return None if shape.rank is None else tuple(shape)


_TF_DTYPE_NAMES = {"float32": "float", "float64": "double"}


def _dims_text(dims):
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"


# ---------------------------------------------------------------- graph tensors and operations

class GraphTensor(Tensor):
    """A symbolic tensor of a TF 1 graph: the `index`-th output of `op`. It has a static
    shape (None where unknown) and a dtype, and a value only when a Session runs it."""

    __slots__ = ("_op", "_index")

    def __init__(self, op, index, shape, dtype):
        self._buf = None
        self._backend = None
        self._shape = as_shape(shape)
        self._dtype = dtype
        self._op = op
        self._index = index

    @property
    def op(self):
        return self._op

    @property
    def graph(self):
        return self._op.graph

    @property
    def name(self):
        return f"{self._op.name}:{self._index}"

    @property
    def value_index(self):
        return self._index

    @property
    def ndim(self):
        return self._shape.rank

    @property
    def device(self):
        return ""

    @property
    def backend(self):
        raise TypeError(f"{self.name} is a graph tensor: it has no device value until a Session runs it. In graph "
                        "mode the ops of tf, tf.math, tf.nn, tf.linalg and tf.random (and tensor operators) are "
                        "recorded; Keras layers, tf.function, tf.cond and tf.while_loop are not, and need eager "
                        "tensors")

    def set_shape(self, shape):
        self._shape = self._shape.merge_with(shape)

    def consumers(self):
        return [op for op in self.graph._ops if any(t is self for t in op._inputs)]

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in `session` (default: the default session)."""
        return _session_for(session, "tensor", self).run(self, feed_dict)

    # -- no values while building --
    def _no_value(self, what):
        raise NotImplementedError(f"Cannot convert a symbolic tf.Tensor ({self.name}) to {what}: graph tensors "
                                  "have values only when a Session runs them (sess.run(t) or t.eval()).")

    def numpy(self):
        self._no_value("a numpy array")

    def tolist(self):
        self._no_value("a list")

    def item(self):
        self._no_value("a Python scalar")

    def __array__(self, dtype=None, copy=None):
        self._no_value("a numpy array")

    def __bool__(self):
        raise OperatorNotAllowedInGraphError(
            "Using a `tf.Tensor` as a Python `bool` is not allowed in Graph execution. Use Eager execution or "
            "decorate this function with @tf.function (or use tf.cond).")

    def __iter__(self):
        raise OperatorNotAllowedInGraphError(
            "Iterating over a symbolic `tf.Tensor` is not allowed in Graph execution. Use Eager execution or "
            "decorate this function with @tf.function.")

    def __len__(self):
        raise TypeError(f"len is not well defined for a symbolic Tensor ({self.name}). Please call `x.shape` "
                        "rather than `len(x)` for shape information.")

    def _scalar(self, what):
        raise OperatorNotAllowedInGraphError(f"{what}() of a symbolic graph tensor ({self.name}) is not allowed "
                                             "in Graph execution: run it in a Session for its value")

    def __index__(self):
        self._scalar("index")

    def __format__(self, spec):
        return str(self)

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self):
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'

    __hash__ = object.__hash__


def _operator(fn_name, base_name, reflected):
    def method(self, *other):
        fn = getattr(_ops, fn_name)
        args = (other[0], self) if reflected else (self, *other)
        return mode.defer(fn, args, {}, name=base_name)
    return method


_OPERATORS = {
    "add": ("add", "add"), "sub": ("subtract", "sub"), "mul": ("multiply", "mul"),
    "truediv": ("truediv", "truediv"), "floordiv": ("floordiv", "floordiv"), "mod": ("floormod", "mod"),
    "pow": ("pow", "pow"), "matmul": ("matmul", "MatMul"), "and": ("logical_and", "LogicalAnd"),
    "or": ("logical_or", "LogicalOr"), "xor": ("logical_xor", "LogicalXor"),
}
for _name, (_fn, _base) in _OPERATORS.items():
    setattr(GraphTensor, f"__{_name}__", _operator(_fn, _base, False))
    setattr(GraphTensor, f"__r{_name}__", _operator(_fn, _base, True))
for _name, _fn, _base in (("lt", "less", "Less"), ("le", "less_equal", "LessEqual"), ("gt", "greater", "Greater"),
                          ("ge", "greater_equal", "GreaterEqual"), ("eq", "equal", "Equal"),
                          ("ne", "not_equal", "NotEqual"), ("neg", "negative", "Neg"), ("abs", "abs", "Abs"),
                          ("invert", "logical_not", "LogicalNot"), ("getitem", "getitem", "strided_slice")):
    setattr(GraphTensor, f"__{_name}__", _operator(_fn, _base, False))
GraphTensor.__pos__ = lambda self: self


class Operation:
    """A node of a TF 1 graph: `name`, `type`, `inputs` (graph tensors), `outputs`,
    `control_inputs`. `_kind` says how a Session evaluates it (see compat_v1_session)."""

    def __init__(self, graph, kind, type_name, name, fn=None, args=(), kwargs=None, reads=(), writes=(),
                 payload=None, extra_inputs=(), exact_name=False):
        graph._check_not_finalized()
        self.graph = graph
        self._kind = kind
        self.type = type_name
        self.name = name if exact_name else graph.unique_name(name)
        self._fn, self._args, self._kwargs = fn, args, kwargs or {}
        tensors, variables = _scan((args, self._kwargs))
        for t in list(tensors) + list(extra_inputs):
            if t.graph is not graph:
                raise ValueError(f"Tensor {t} must be from the same graph as the op {self.name!r} being created")
        self._inputs = tuple(tensors) + tuple(extra_inputs)
        self._reads = tuple(variables) + tuple(reads)
        self._writes = tuple(writes)
        self._payload = payload
        self.control_inputs = graph._control_inputs()
        self.outputs = ()
        self._structure = None
        graph._add(self)

    @property
    def inputs(self):
        return list(self._inputs)

    def values(self):
        return tuple(self.outputs)

    def run(self, feed_dict=None, session=None):
        _session_for(session, "operation", self).run(self, feed_dict)

    def _set_outputs(self, specs):
        self.outputs = tuple(GraphTensor(self, i, shape, dtype) for i, (shape, dtype) in enumerate(specs))
        return self.outputs

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"


def _session_for(session, what, obj):
    if session is None:
        from .compat_v1_session import get_default_session
        session = get_default_session()
        if session is None:
            raise ValueError(f"Cannot evaluate {what} using `eval()`/`run()`: No default session is registered. "
                             f"Use `with sess.as_default()` or pass an explicit session to `{obj.name}`'s "
                             "eval(session=sess) / run(session=sess)")
    return session


def _scan(structure):
    """(graph tensors, variables) found in a nest of lists/tuples/dicts, in order."""
    tensors, variables, seen = [], [], set()
    stack = [structure]
    while stack:
        x = stack.pop()
        if isinstance(x, GraphTensor):
            if id(x) not in seen:
                seen.add(id(x))
                tensors.append(x)
        elif isinstance(x, Variable):
            if id(x) not in seen:
                seen.add(id(x))
                variables.append(x)
        elif isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            stack.extend(reversed(list(x.values())))
    return tensors, variables


def substitute(structure, lookup):
    """The nest with each GraphTensor replaced by lookup(tensor); other leaves unchanged."""
    if isinstance(structure, GraphTensor):
        return lookup(structure)
    if isinstance(structure, list):
        return [substitute(x, lookup) for x in structure]
    if isinstance(structure, tuple):
        items = [substitute(x, lookup) for x in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        return type(structure)((k, substitute(v, lookup)) for k, v in structure.items())
    return structure


def flatten_result(result):
    """The leaves of an op's result (a tensor, or lists/tuples/dicts of them), in order."""
    if isinstance(result, (list, tuple)):
        return [leaf for x in result for leaf in flatten_result(x)]
    if isinstance(result, dict):
        return [leaf for x in result.values() for leaf in flatten_result(x)]
    return [result]


# ---------------------------------------------------------------- Graph

class Graph:
    """A TF 1 graph: the operations recorded while it is the default graph."""

    def __init__(self):
        self._ops = []
        self._by_name = {}
        self._names = {}
        self._variables = []       # GraphVariables created in this graph
        self._state = []           # (variable, its init op) for other state (optimizer slots)
        self._finalized = False
        self._global_step = None
        self._worlds = None        # shape-inference traces, made on first use
        self._collections = {}

    # -- default graph --
    @contextlib.contextmanager
    def as_default(self):
        stack = mode._local.__dict__.setdefault("graphs", [])
        stack.append(self)
        mode.graph_context(+1)
        try:
            yield self
        finally:
            stack.pop()
            mode.graph_context(-1)

    # -- names --
    def unique_name(self, name, mark_as_used=True):
        scope = getattr(mode._local, "scopes", None)
        if scope and scope[-1][0] is self and scope[-1][1]:
            name = f"{scope[-1][1]}/{name}"
        count = self._names.get(name, 0)
        if mark_as_used:
            self._names[name] = count + 1
        unique = name if count == 0 else f"{name}_{count}"
        while unique in self._by_name:
            count += 1
            self._names[name] = count + 1
            unique = f"{name}_{count}"
        return unique

    @contextlib.contextmanager
    def name_scope(self, name):
        stack = mode._local.__dict__.setdefault("scopes", [])
        outer = stack[-1][1] if stack and stack[-1][0] is self else ""
        full = (self.unique_name(name) if name else outer) if not str(name).endswith("/") else name[:-1]
        stack.append((self, full))
        try:
            yield full + "/" if full else ""
        finally:
            stack.pop()

    # -- control dependencies --
    def _control_inputs(self):
        stack = getattr(mode._local, "control", None)
        if not stack:
            return []
        out = []
        for graph, deps in stack:
            if graph is self:
                if deps is None:
                    out = []
                else:
                    out.extend(d for d in deps if all(d is not o for o in out))
        return out

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        deps = None if control_inputs is None else [_as_op(x) for x in control_inputs]
        stack = mode._local.__dict__.setdefault("control", [])
        stack.append((self, deps))
        try:
            yield
        finally:
            stack.pop()

    # -- ops --
    def _check_not_finalized(self):
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def _add(self, op):
        self._ops.append(op)
        self._by_name[op.name] = op

    def get_operations(self):
        return list(self._ops)

    def get_operation_by_name(self, name):
        op = self._by_name.get(name)
        if op is None:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
        return op

    def get_tensor_by_name(self, name):
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"The name {name!r} looks like an (invalid) Operation name, not a Tensor. Tensor names "
                             'must be of the form "<op_name>:<output_index>".')
        op_name, _, index = name.rpartition(":")
        op = self._by_name.get(op_name)
        if op is None:
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The operation, "
                           f"{op_name!r}, does not exist in the graph.")
        try:
            return op.outputs[int(index)]
        except (ValueError, IndexError):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The operation, {op_name!r}, "
                           f"exists but only has {len(op.outputs)} outputs.") from None

    def as_graph_element(self, obj):
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if isinstance(obj, mode.GraphVariable):
            return obj.op.outputs[0]
        if isinstance(obj, (GraphTensor, Operation)):
            if obj.graph is not self:
                raise ValueError(f"{obj} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    def finalize(self):
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def get_collection(self, name, scope=None):
        if name == "variables":
            return list(mode.global_variables(self))
        if name == "trainable_variables":
            return list(mode.trainable_variables(self))
        return list(self._collections.get(name, []))

    # -- state --
    def _register_state(self, variables):
        """Non-graph Variables (optimizer slots) that the global initializer resets."""
        known = {id(v) for v, _ in self._state} | {id(v) for v in self._variables}
        for v in variables:
            if id(v) not in known:
                known.add(id(v))
                with mode.evaluating():
                    snapshot = v.read_value()
                name = v.name[:-2] if v.name.endswith(":0") else v.name
                init = Operation(self, "init", "AssignVariableOp", f"{name}/Assign", payload=[(v, snapshot)],
                                 writes=[v])
                self._state.append((v, init))

    def _inference_worlds(self):
        if self._worlds is None:
            self._worlds = [mode._World(s) for s in mode._SENTINELS]
        return self._worlds

    def __repr__(self):
        return f"<pykernel.compat.v1.Graph with {len(self._ops)} ops>"


def _as_op(x):
    if isinstance(x, Operation):
        return x
    if isinstance(x, GraphTensor):
        return x.op
    if isinstance(x, mode.GraphVariable):
        return x.op
    raise TypeError(f"Can not convert a {type(x).__name__} into an Operation (control dependency)")


_global_graph = Graph()


def get_default_graph():
    stack = getattr(mode._local, "graphs", None)
    return stack[-1] if stack else _global_graph


def global_graph():
    return _global_graph


def reset_default_graph():
    global _global_graph
    if getattr(mode._local, "graphs", None):
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If you need a cleared "
                             "graph, exit the nesting and create a new graph.")
    _global_graph = Graph()
