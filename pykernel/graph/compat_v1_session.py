"""`tf.compat.v1.Session`: run the ops of a TF 1 graph (compat_v1.py) with fed values.

`run(fetches, feed_dict)` finds the ops the fetches need (stopping at fed tensors), orders
them (ops that read state before ops that change it, as TF's data dependencies make
`sess.run([loss, train])` return the loss before the update), and evaluates them inside
an internal `tf.function` keyed by the fetch/feed structure: the fed values are its tensor
arguments, so repeated runs with the same feed shapes replay one traced primitive program
(each new shape traces again). Values come back as NumPy arrays (nested lists and Python
scalars without NumPy), in the fetches' structure; an Operation fetches None.
"""
import contextlib
import threading

from .. import autodiff
from ..autodiff import GradientTape
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from ..variables import Variable
from . import compat_v1 as g
from .function import Function

_local = threading.local()     # the default-session stack, per thread
_interactive = []              # InteractiveSessions: default sessions in every thread

_STATEFUL = frozenset(("assign", "init", "apply"))


def get_default_session():
    stack = getattr(_local, "stack", None)
    if stack:
        return stack[-1]
    return _interactive[-1] if _interactive else None


class Session:
    """tf.compat.v1.Session: runs the ops of a TF 1 graph (default: the default graph).

    `tf.Session` is this class too (TF 2 keeps it only as tf.compat.v1.Session; pykernel keeps
    the TF 1 name so that TF 1 programs run as printed). In eager mode it also runs eager
    tensors (their value). See the module docstring."""

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else g.get_default_graph()
        self._closed = False
        self._plans = {}
        self._entered = []

    @property
    def graph(self):
        return self._graph

    @property
    def sess_str(self):
        return ""

    @contextlib.contextmanager
    def as_default(self):
        stack = _local.__dict__.setdefault("stack", [])
        stack.append(self)
        try:
            yield self
        finally:
            stack.remove(self)

    def __enter__(self):
        contexts = []
        # In eager mode the global graph is not made the building graph: `with tf.Session()`
        # around eager code keeps computing eagerly (and sess.run of an eager tensor is its value).
        if not (g.eager_enabled() and self._graph is g.global_graph()):
            contexts.append(self._graph.as_default())
        contexts.append(self.as_default())
        for c in contexts:
            c.__enter__()
        self._entered.append(contexts)
        return self

    def __exit__(self, *exc):
        for c in reversed(self._entered.pop()):
            c.__exit__(*exc)
        self.close()
        return False

    def close(self):
        self._closed = True
        self._plans.clear()

    def _tracing_count(self):
        """Traces made by this session's internal functions (one per fetch/feed structure and shape)."""
        return sum(plan.function.experimental_get_tracing_count() for plan in self._plans.values())

    # ------------------------------------------------------------ run

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        leaves = []
        structure = _map_fetches(fetches, lambda f: leaves.append(self._fetch_target(f)) or len(leaves) - 1)
        feeds = self._feeds(feed_dict)
        graph_leaves = [x for x in leaves if isinstance(x, (g.GraphTensor, g.Operation))]
        values = {}
        if graph_leaves:
            feeds.sort(key=lambda kv: id(kv[0]))
            key = (tuple(id(x) for x in graph_leaves), tuple(id(t) for t, _ in feeds))
            plan = self._plans.get(key)
            if plan is None:
                plan = _Plan(graph_leaves, [t for t, _ in feeds])
                self._plans[key] = plan
            plan.check_initialized()
            outputs = plan.function(*[value for _, value in feeds])
            plan.mark_initialized()
            for tensor, value in zip(plan.tensor_fetches, outputs):
                values[id(tensor)] = value
        host = []
        for x in leaves:
            if isinstance(x, g.Operation):
                host.append(None)
            elif isinstance(x, g.GraphTensor):
                host.append(_to_host(values[id(x)]))
            elif isinstance(x, Variable):
                host.append(_to_host(x.read_value()))
            else:
                host.append(_to_host(x))
        return _map_fetches(structure, lambda i: host[i])

    def _fetch_target(self, fetch):
        if fetch is None:
            raise TypeError(f"Fetch argument None has invalid type {type(None)}")
        if isinstance(fetch, str):
            return self._graph.as_graph_element(fetch)
        if isinstance(fetch, g.GraphVariable):
            fetch = fetch.op.outputs[0]
        if isinstance(fetch, (g.GraphTensor, g.Operation)):
            if fetch.graph is not self._graph:
                raise ValueError(f"Fetch argument {fetch} cannot be interpreted as a Tensor. ({fetch} is not an "
                                 "element of this graph.)")
            return fetch
        if isinstance(fetch, (Tensor, Variable)):
            return fetch
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}, must be a string or Tensor. "
                        f"(Can not convert a {type(fetch).__name__} into a Tensor or Operation.)")

    def _feeds(self, feed_dict):
        out, seen = [], set()
        for key, value in (feed_dict or {}).items():
            tensor = self._graph.as_graph_element(key) if isinstance(key, str) else key
            if isinstance(tensor, g.GraphVariable):
                tensor = tensor.op.outputs[0]
            if not isinstance(tensor, g.GraphTensor):
                raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor: it is a {type(key).__name__}")
            if tensor.graph is not self._graph:
                raise ValueError(f"Cannot feed {tensor}: it is not an element of this session's graph.")
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            out.append((tensor, _feed_value(tensor, value)))
        return out


class InteractiveSession(Session):
    """A Session that makes itself the default session on creation (t.eval(), op.run())."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        _interactive.append(self)

    def close(self):
        super().close()
        if self in _interactive:
            _interactive.remove(self)


def _map_fetches(structure, fn):
    if isinstance(structure, list):
        return [_map_fetches(x, fn) for x in structure]
    if isinstance(structure, tuple):
        items = [_map_fetches(x, fn) for x in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        return type(structure)((k, _map_fetches(v, fn)) for k, v in structure.items())
    return fn(structure)


def _feed_value(tensor, value):
    """`value` as a tensor of the fed tensor's dtype, its shape checked against the static shape."""
    if isinstance(value, (g.GraphTensor, g.Operation)):
        raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include Python "
                        "scalars, strings, lists, numpy ndarrays, or TensorHandles.")
    dtype = tensor.dtype
    try:
        if isinstance(value, Variable):
            value = value.read_value()
        if isinstance(value, Tensor) and value.dtype is not dtype:
            from .. import ops
            if dtype.is_integer and value.dtype.is_floating:
                raise TypeError(f"a {value.dtype.name} tensor")
            value = ops.cast(value, dtype)
        converted = convert_to_tensor(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        kind = getattr(getattr(value, "dtype", None), "name", None) or type(value).__name__
        raise TypeError(f"Cannot feed value of type {kind} for Tensor {tensor.name} of dtype {dtype.name}: "
                        f"{error}") from None
    if not tensor.shape.is_compatible_with(tuple(converted.shape)):
        raise ValueError(f"Cannot feed value of shape {tuple(converted.shape)} for Tensor {tensor.name}, "
                         f"which has shape {tensor.shape}")
    return converted


_numpy = []


def _to_host(value):
    if value is None:
        return None
    if isinstance(value, Variable):
        value = value.read_value()
    if not _numpy:
        try:
            import numpy
            _numpy.append(numpy)
        except ImportError:
            _numpy.append(None)
    if _numpy[0] is None:
        return value.tolist()
    array = _numpy[0].asarray(value.numpy())
    return array[()] if array.ndim == 0 else array


# ---------------------------------------------------------------- plans

class _Plan:
    """What one fetch/feed structure runs: its ops in order and the Function that replays them."""

    def __init__(self, fetches, feeds):
        self.feeds = list(feeds)
        fed = {id(t) for t in feeds}
        roots = []
        self.tensor_fetches, seen = [], set()
        for x in fetches:
            if isinstance(x, g.GraphTensor):
                if id(x) not in seen:
                    seen.add(id(x))
                    self.tensor_fetches.append(x)
                if id(x) not in fed:
                    roots.append(x.op)
            else:
                roots.append(x)
        order = _topological(roots, fed)
        for op in order:
            if op._kind == "placeholder" and op._payload is None and id(op.outputs[0]) not in fed:
                raise InvalidArgumentError(g.missing_feed_message(op))
        tainted = set()
        for op in order:
            if op._kind in _STATEFUL or any(id(d) in tainted for d in _dependencies(op, fed)):
                tainted.add(id(op))
        self.order = [op for op in order if id(op) not in tainted] + [op for op in order if id(op) in tainted]
        self.gradient_ops = [op for op in order if op._kind == "gradients"]
        self.watch_variables = [s for op in self.gradient_ops for s in op._payload[0] if isinstance(s, Variable)]
        self.watch_tensors = {id(s) for op in self.gradient_ops for s in op._payload[0]
                              if isinstance(s, g.GraphTensor)}
        self.writes = {id(v): v for op in order for v in op._writes if op._kind != "apply"}
        self.reads = {id(v): v for op in order for v in op._reads if isinstance(v, g.GraphVariable)}
        self.function = Function(self._run, autograph=False, name="session_run")

    def check_initialized(self):
        for key, v in self.reads.items():
            if not v._initialized and key not in self.writes:
                raise g.FailedPreconditionError(f"Attempting to use uninitialized value {v.name[:-2]}")

    def mark_initialized(self):
        for v in self.writes.values():
            if isinstance(v, g.GraphVariable):
                v._initialized = True

    def _run(self, *fed):
        with g.evaluating():
            run = _Run(self, fed)
            return run.execute()


def _dependencies(op, fed):
    deps = [t.op for t in op._inputs if id(t) not in fed]
    return deps + list(op.control_inputs)


def _topological(roots, fed):
    order, state = [], set()
    stack = [(op, False) for op in reversed(roots)]
    while stack:
        op, done = stack.pop()
        if done:
            order.append(op)
            continue
        if id(op) in state:
            continue
        state.add(id(op))
        stack.append((op, True))
        for dep in reversed(_dependencies(op, fed)):
            if id(dep) not in state:
                stack.append((dep, False))
    return order


class _Run:
    """One evaluation (inside the plan's Function): values of graph tensors, memoised."""

    def __init__(self, plan, fed):
        self.plan = plan
        self.values = {id(t): v for t, v in zip(plan.feeds, fed)}
        self.fed = set(self.values)
        self.tape = None

    def value(self, tensor):
        try:
            return self.values[id(tensor)]
        except KeyError:
            raise RuntimeError(f"internal error: {tensor.name} was not computed before its use") from None

    def lookup(self, x):
        return self.value(x)

    def set(self, tensor, value):
        if id(tensor) in self.fed:
            return
        self.values[id(tensor)] = value
        if self.tape is not None and id(tensor) in self.plan.watch_tensors and isinstance(value, Tensor):
            self.tape.watch(value)

    def execute(self):
        plan = self.plan
        if plan.gradient_ops:
            self.tape = GradientTape(persistent=True)
            self.tape.__enter__()
            for v in plan.watch_variables:
                self.tape.watch(v)
            for t in plan.feeds:
                if id(t) in plan.watch_tensors:
                    self.tape.watch(self.values[id(t)])
        try:
            for op in plan.order:
                EVALUATORS[op._kind](self, op)
            return [self.value(t) for t in plan.tensor_fetches]
        finally:
            if self.tape is not None:
                self.tape.__exit__(None, None, None)


def _evaluate_op(run, op):
    args, kwargs = g.substitute((op._args, op._kwargs), run.lookup)
    result = op._fn(*args, **kwargs)
    leaves = [leaf for leaf in g.flatten_result(result) if isinstance(leaf, Tensor)]
    for out, leaf in zip(op.outputs, leaves):
        run.set(out, leaf)


def _evaluate_placeholder(run, op):
    out = op.outputs[0]
    if id(out) in run.fed:
        return
    default = op._payload
    if default is None:
        raise InvalidArgumentError(g.missing_feed_message(op))
    run.set(out, run.value(default) if isinstance(default, g.GraphTensor) else default)


def _evaluate_read(run, op):
    run.set(op.outputs[0], op._payload.read_value())


def _evaluate_assign(run, op):
    method, variable = op._payload
    value = g.substitute(op._args[0], run.lookup)
    with autodiff.paused():
        getattr(variable, method)(value)
    run.set(op.outputs[0], variable.read_value())


def _evaluate_init(run, op):
    with autodiff.paused():
        for variable, initial in op._payload:
            variable.assign(run.value(initial) if isinstance(initial, g.GraphTensor) else initial)


def _evaluate_noop(run, op):
    pass


EVALUATORS = {"op": _evaluate_op, "placeholder": _evaluate_placeholder, "read": _evaluate_read,
              "assign": _evaluate_assign, "init": _evaluate_init, "noop": _evaluate_noop}
