"""Tracing: run Python once on symbolic tensors and record every backend primitive it calls.

While a function is traced, a `TracingBackend` wrapping the real one is the default device.
Ops run their ordinary Python (shape checks, gradient rules, Keras layers) and call its
primitives, which compute nothing: they append a node to the graph and return a `Value`
of the node's output shape and dtype. A traced Tensor holds that Value as its buffer.

Constants are folded: a primitive whose inputs are all real buffers (literals, captured
eager tensors, `tf.zeros`) runs at once on the real backend, so its result is a real
buffer, readable during tracing and uploaded once rather than at every replay.

State is captured by reference: a Variable read is a node that reads the variable when the
graph runs, an assign a node that writes it; a random draw is a node that takes the next
numbers of its stream at every run. Reading a symbolic value to the host (`.numpy()`,
`float(t)`, `if t:`) raises OperatorNotAllowedInGraphError naming the line.
"""
import contextlib
import inspect
import os
import threading

from .. import autodiff, backends
from ..backends.base import Backend
from ..errors import OperatorNotAllowedInGraphError
from . import ir
from .primitives import PRIMITIVES, Spec

_local = threading.local()   # the stack of active traces, per thread


def current():
    """The innermost active Trace, or None when running eagerly."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


class Trace:
    """What one trace records into: its graph, its backend, the variables it touched."""

    def __init__(self, inner, graph, may_create_variables=True):
        self.graph = graph
        self.may_create_variables = may_create_variables
        self.created_variables = 0
        self.backend = TracingBackend(inner, self)
        self.variables = {}    # id(variable) -> (variable, current Value or real buffer)
        self.constants = {}    # (id(graph), id(real buffer)) -> (buffer, its Const Value)

    # -- values --
    def value_of(self, buf):
        """The graph Value for a primitive input: itself if symbolic, a Const node if real."""
        if isinstance(buf, ir.Value):
            return buf
        key = (id(self.graph), id(buf))
        entry = self.constants.get(key)
        if entry is None:
            inner = self.backend.inner
            node = self.graph.add(ir.CONSTANT, (), {}, [(inner.shape(buf), inner.dtype(buf))], payload=buf)
            entry = self.constants[key] = (buf, node.outputs[0])  # the buffer is kept alive here
        return entry[1]

    # -- sub-graphs (control flow) and speculative tracing --
    def mark(self):
        """A point to return to: what has been recorded so far, here and on the tapes."""
        return (self.graph, len(self.graph.nodes), dict(self.variables), dict(self.constants),
                [(tape, len(tape._nodes)) for tape in autodiff._active_tapes])

    def changed_state_since(self, mark):
        return any(n.kind in ir.STATEFUL_KINDS for n in mark[0].nodes[mark[1]:])

    def rollback(self, mark):
        graph, count, variables, constants, tapes = mark
        del graph.nodes[count:]
        self.variables, self.constants = variables, constants
        for tape, length in tapes:
            del tape._nodes[length:]

    @contextlib.contextmanager
    def inside(self, graph):
        """Record into `graph` (a sub-graph) inside; variables first read there stay there."""
        saved_graph, saved_variables = self.graph, self.variables
        self.graph, self.variables = graph, dict(saved_variables)
        try:
            yield
        finally:
            self.graph, self.variables = saved_graph, saved_variables

    def subgraph(self, name, fn, pass_graph=False):
        """(graph, fn's result): fn traced into a new sub-graph, tapes paused."""
        graph = ir.Graph(name)
        with self.inside(graph), autodiff.paused():
            result = fn(graph) if pass_graph else fn()
        return graph, result

    def forget_assigned(self, *graphs):
        """After a control-flow node, a variable one of its sub-graphs assigns must be read anew."""
        for graph in graphs:
            for node in _all_nodes(graph):
                if node.kind == ir.ASSIGN_VARIABLE:
                    self.variables.pop(id(node.payload), None)

    # -- variables, captured by reference --
    def read_variable(self, variable):
        """The variable's value at this point of the program: the last value this trace
        assigned to it, else a read node (which replay runs before any assign of it)."""
        entry = self.variables.get(id(variable))
        if entry is not None:
            return entry[1]
        if variable._value._backend is not self.backend.inner:
            raise ValueError(
                f"tf.function traced for device {self.backend.device_name!r} reads variable "
                f"{variable.name!r}, which lives on {variable.device!r}; create it (or call the function) "
                "on one device")
        node = self.graph.add(ir.READ_VARIABLE, (), {"variable": variable.name},
                              [(variable.shape, variable.dtype)], payload=variable, name="ReadVariableOp")
        self.variables[id(variable)] = (variable, node.outputs[0])
        return node.outputs[0]

    def assign_variable(self, variable, buf):
        value = self.value_of(buf)
        self.graph.add(ir.ASSIGN_VARIABLE, (value,), {"variable": variable.name}, [], payload=variable,
                       name="AssignVariableOp")
        self.variables[id(variable)] = (variable, value)

    # -- host callbacks --
    def print_values(self, bufs, render):
        """tf.print: `render(values)` formats the host values of `bufs` at every run."""
        self.graph.add(ir.PRINT, [self.value_of(b) for b in bufs], {}, [], payload=render)


def _all_nodes(graph):
    for node in graph.nodes:
        yield node
        if node.kind in (ir.IF, ir.WHILE):
            for sub in node.payload:
                if isinstance(sub, ir.Graph):
                    yield from _all_nodes(sub)


def captures(graph, outputs=()):
    """The outer graphs' Values that `graph`'s nodes (or its `outputs`) use, in first-use order."""
    seen, out = set(), []
    used = [v for node in graph.nodes for v in node.inputs] + list(outputs)
    for value in used:
        if value.node.graph is not graph and id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out


def _arg_names(primitive):
    return list(inspect.signature(getattr(Backend, primitive)).parameters)[1:]


_ARG_NAMES = {name: _arg_names(name) for name in PRIMITIVES}


def _symbolic_read(buf, what):
    where = _user_line()
    raise OperatorNotAllowedInGraphError(
        f"{what} of a symbolic tensor (shape {tuple(buf.shape)}, {buf.dtype.name}, from op "
        f"{buf.node.name!r}) inside tf.function{where}: while a function is traced, tensors have no "
        "values yet. Use TensorFlow ops instead of Python on tensor values (tf.cond for `if tensor:`, "
        "tf.print for print, tensor shapes for sizes), or debug with tf.config.run_functions_eagerly(True).")


def _user_line():
    """', at file:line (code)' for the innermost frame outside pykernel, for error messages."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for frame in inspect.stack()[2:]:
        if not os.path.abspath(frame.filename).startswith(package + os.sep):
            code = (frame.code_context or [""])[0].strip()
            return f", at {frame.filename}:{frame.lineno}" + (f" (`{code}`)" if code else "")
    return ""


class TracingBackend(Backend):
    """A backend whose primitives record graph nodes instead of computing (see module doc)."""

    def __init__(self, inner, trace):
        self.inner = inner
        self.trace = trace
        self.name = inner.name
        self.device_name = inner.device_name

    # -- metadata and reads --
    def shape(self, x):
        return x.shape if isinstance(x, ir.Value) else self.inner.shape(x)

    def dtype(self, x):
        return x.dtype if isinstance(x, ir.Value) else self.inner.dtype(x)

    def to_list(self, x):
        if isinstance(x, ir.Value):
            _symbolic_read(x, "Reading the value")
        return self.inner.to_list(x)

    def host_values(self, x):
        if isinstance(x, ir.Value):
            _symbolic_read(x, "Reading the value")
        return self.inner.host_values(x)

    def to_numpy(self, x):
        if isinstance(x, ir.Value):
            _symbolic_read(x, "Converting to NumPy (.numpy())")
        return self.inner.to_numpy(x)

    # -- creation: constants, computed now on the real device --
    def from_list(self, flat, shape, dtype):
        return self.inner.from_list(flat, shape, dtype)

    def from_bytes(self, data, shape, dtype):
        return self.inner.from_bytes(data, shape, dtype)

    def from_numpy(self, array, dtype):
        return self.inner.from_numpy(array, dtype)

    def full(self, shape, value, dtype):
        return self.inner.full(shape, value, dtype)

    def arange(self, start, delta, count, dtype):
        return self.inner.arange(start, delta, count, dtype)

    # -- state --
    def random_uniform(self, shape, key, offset):
        raise RuntimeError("internal error: traced random ops draw from a stream (random_uniform_from)")

    def random_uniform_from(self, shape, stream):
        from .. import dtypes
        node = self.trace.graph.add(ir.RANDOM_UNIFORM, (), {"shape": tuple(shape), "seed": stream.seed},
                                    [(shape, dtypes.float32)], payload=stream)
        return node.outputs[0]

    def check_values(self, values, failure, error=None):
        if not isinstance(values, ir.Value):
            return self.inner.check_values(values, failure, error)
        self.trace.graph.add(ir.CHECK_VALUES, (values,), {}, [], payload=(failure, error))

    def memory_stats(self):
        return self.inner.memory_stats()


def _recorder(primitive):
    kinds, infer = PRIMITIVES[primitive]
    names = _ARG_NAMES[primitive]

    def record(self, *args):
        buffers = []
        for kind, arg in zip(kinds, args):
            if kind == "b":
                buffers.append(arg)
            elif kind == "l":
                buffers.extend(arg)
            elif kind == "d":
                buffers.extend(arg.values())
        if not any(isinstance(b, ir.Value) for b in buffers):
            return getattr(self.inner, primitive)(*args)   # all constant: fold it now
        trace = self.trace
        values = [trace.value_of(b) for b in buffers]
        specs = iter(values)
        spec_args = []
        for kind, arg in zip(kinds, args):
            if kind == "b":
                spec_args.append(next(specs))
            elif kind == "l":
                spec_args.append([next(specs) for _ in arg])
            elif kind == "d":
                spec_args.append({k: next(specs) for k in arg})
            else:
                spec_args.append(arg)
        out = infer(*spec_args)
        flat = [out] if isinstance(out, Spec) else [out[0], *out[1].values()]
        static = tuple(None if kind != "a" else arg for kind, arg in zip(kinds, args))
        layout = tuple(len(arg) if kind == "l" else tuple(arg) if kind == "d" else None
                       for kind, arg in zip(kinds, args))
        attrs = {name: arg for name, kind, arg in zip(names, kinds, args) if kind == "a"}
        node = trace.graph.add(primitive, values, attrs, [(s.shape, s.dtype) for s in flat],
                               payload=(kinds, static, layout, not isinstance(out, Spec)))
        if isinstance(out, Spec):
            return node.outputs[0]
        return node.outputs[0], dict(zip(out[1], node.outputs[1:]))

    record.__name__ = primitive
    return record


for _name in PRIMITIVES:
    setattr(TracingBackend, _name, _recorder(_name))


@contextlib.contextmanager
def tracing(inner, graph, may_create_variables=True):
    """Trace into `graph` for the real backend `inner`: its tracer is the default device inside."""
    trace = Trace(inner, graph, may_create_variables)
    stack = _local.__dict__.setdefault("stack", [])
    creating = _local.__dict__.setdefault("creating", [])   # init_scope leaves this one alone
    stack.append(trace)
    creating.append(trace)
    backends.tracing += 1
    try:
        with backends.using(trace.backend):
            yield trace
    finally:
        backends.tracing -= 1
        stack.pop()
        creating.pop()


def variable_created():
    """tf.Variable() calls this: each active trace counts it, and one that may not create
    variables (any trace but a function's first) raises TF's error."""
    creating = getattr(_local, "creating", None)
    if not creating:
        return
    if not all(trace.may_create_variables for trace in creating):
        raise ValueError(
            "tf.function only supports singleton tf.Variables created on the first call. Make sure the "
            f"tf.Variable is only created once or created outside tf.function{_user_line()}. See "
            "https://www.tensorflow.org/guide/function#creating_tfvariables for more information.")
    for trace in creating:
        trace.created_variables += 1


@contextlib.contextmanager
def init_scope():
    """TF's tf.init_scope: run eagerly inside a trace (creating variables, their initial values)."""
    stack = getattr(_local, "stack", None)
    if not stack:
        yield
        return
    saved, _local.stack = stack, []
    try:
        with backends.without(TracingBackend):
            yield
    finally:
        _local.stack = saved
