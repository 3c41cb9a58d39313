"""tf.cond, tf.while_loop and tf.TensorArray: eager, and as graph nodes inside tf.function.

Eagerly (and in a trace when the predicate is a Python value or a constant) these are plain
Python: one branch runs, the loop loops. With a symbolic predicate:

- `cond` traces both branches. When neither changes state (no variable assign, print or
  value check), the result is `where(pred, true_result, false_result)`: no host sync, and
  a GradientTape differentiates it. Otherwise it becomes an `If` node holding the two
  branches as sub-graphs; replay reads the predicate and runs one of them (a sync point).
- `while_loop` becomes a `While` node with the condition and the body as sub-graphs over
  the loop variables (static shapes: the body must keep them); replay reads the condition
  at every iteration. Gradients through a traced while loop are not supported.

A sub-graph reads the outer graph's values it uses as its inputs ("captures").
"""
from .. import autodiff, nest
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from . import ir, trace


def _known_bool(pred):
    """pred as a Python bool when it is known now (eager, Python, constant), else None."""
    if isinstance(pred, (bool, int)) or pred is None:
        return bool(pred)
    if hasattr(pred, "read_value") and not isinstance(pred, Tensor):
        pred = pred.read_value()
    pred = convert_to_tensor(pred)
    if tuple(pred.shape) not in ((), (1,)):
        raise InvalidArgumentError(f"tf.cond: the predicate must be a scalar, got shape {tuple(pred.shape)}")
    if not pred.dtype.is_bool:
        raise InvalidArgumentError(f"tf.cond: the predicate must be a bool tensor, got {pred.dtype.name}")
    if isinstance(pred._buf, ir.Value):
        return None
    return bool(pred.backend.to_list(pred._buf)[0])


def cond(pred, true_fn=None, false_fn=None, name=None):
    """true_fn() if pred else false_fn(); inside tf.function with a symbolic pred, a graph op."""
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("tf.cond: true_fn and false_fn must be callables taking no arguments")
    known = _known_bool(pred)
    if known is not None:
        return true_fn() if known else false_fn()
    tracing = trace.current()
    pred = convert_to_tensor(pred)
    mark = tracing.mark()
    results = (true_fn(), false_fn())
    if not tracing.changed_state_since(mark):
        return select(pred, *results)
    tracing.rollback(mark)   # state changes: branch sub-graphs, one of which runs
    return if_node(tracing, pred, true_fn, false_fn)


def if_node(tracing, pred, true_fn, false_fn):
    """An If node: the branches as sub-graphs, one of which runs at replay."""
    if autodiff.is_recording():
        raise NotImplementedError(
            "tf.cond inside tf.function whose branches change state (assign, print, checks) cannot be "
            "differentiated by a GradientTape yet; move the side effects out of the branches")
    true_graph, true_out = tracing.subgraph("cond_true", true_fn)
    false_graph, false_out = tracing.subgraph("cond_false", false_fn)
    _check_same_structure("tf.cond", true_out, false_out, "true_fn", "false_fn")
    flat_true, flat_false = _output_values(tracing, true_graph, true_out), \
        _output_values(tracing, false_graph, false_out)
    for t, f in zip(flat_true, flat_false):
        if tuple(t.shape) != tuple(f.shape) or t.dtype is not f.dtype:
            raise ValueError(f"tf.cond: true_fn and false_fn must return tensors of one shape and dtype; got "
                             f"{t.dtype.name}{list(t.shape)} and {f.dtype.name}{list(f.shape)}")
    captures = _merge(trace.captures(true_graph, flat_true), trace.captures(false_graph, flat_false))
    true_graph.inputs = false_graph.inputs = captures
    specs = [(v.shape, v.dtype) for v in flat_true]
    node = tracing.graph.add(ir.IF, [tracing.value_of(pred._buf)] + captures, {}, specs,
                             payload=(true_graph, flat_true, false_graph, flat_false))
    tracing.forget_assigned(true_graph, false_graph)
    return _pack(tracing, true_out, node.outputs)


def select(pred, true_result, false_result):
    """where(pred, ...) leaf by leaf: both branches' results were computed."""
    from ..ops import where
    _check_same_structure("tf.cond", true_result, false_result, "true_fn", "false_fn")
    flat = []
    for t, f in zip(nest.flatten(true_result), nest.flatten(false_result)):
        if t is None and f is None:
            flat.append(None)
            continue
        t, f = convert_to_tensor(t), convert_to_tensor(f)
        if tuple(t.shape) != tuple(f.shape) or t.dtype is not f.dtype:
            raise ValueError(f"tf.cond: true_fn and false_fn must return tensors of one shape and dtype; got "
                             f"{t.dtype.name}{list(t.shape)} and {f.dtype.name}{list(f.shape)}")
        flat.append(where(pred, t, f))
    return nest.pack_sequence_as(true_result, flat)


def _check_same_structure(op, a, b, name_a, name_b):
    if _skeleton(a) != _skeleton(b):
        raise ValueError(f"{op}: {name_a} and {name_b} must return the same nested structure; got "
                         f"{_skeleton(a)} and {_skeleton(b)}")


def _skeleton(x):
    if isinstance(x, dict):
        return {k: _skeleton(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_skeleton(v) for v in x)
    return "None" if x is None else "*"


def _merge(*value_lists):
    seen, out = set(), []
    for values in value_lists:
        for value in values:
            if id(value) not in seen:
                seen.add(id(value))
                out.append(value)
    return out


def _output_values(tracing, graph, result):
    """The sub-graph Values of a branch's or body's results (constants become its Const nodes)."""
    values = []
    with tracing.inside(graph):
        for leaf in nest.flatten(result):
            if leaf is None:
                raise ValueError("tf.cond / tf.while_loop inside tf.function: branches and bodies must "
                                 "return tensors, not None")
            if hasattr(leaf, "read_value") and not isinstance(leaf, Tensor):
                leaf = leaf.read_value()
            values.append(tracing.value_of(convert_to_tensor(leaf)._buf))
    return values


def _pack(tracing, structure, values):
    tensors = [Tensor(v, tracing.backend, v.shape, v.dtype) for v in values]
    return nest.pack_sequence_as(structure, tensors)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`; returns the final loop_vars
    (with the structure given). Inside tf.function, a While graph op (see the module doc)."""
    if not callable(cond) or not callable(body):
        raise TypeError("tf.while_loop: cond and body must be callables")
    single = not isinstance(loop_vars, (list, tuple))
    return _python_loop(cond, body, loop_vars, single, maximum_iterations)


def _graph_loop(cond, body, loop_vars, single, maximum_iterations):
    """The While node, from the loop variables' current values (see the module doc)."""
    as_args = [loop_vars] if single else list(loop_vars)
    tracing = trace.current()
    if autodiff.is_recording():
        raise NotImplementedError("tf.while_loop inside tf.function cannot be differentiated by a GradientTape "
                                  "yet; use a Python loop over a fixed range (it unrolls)")
    flat_vars = [convert_to_tensor(x) for x in nest.flatten(as_args)]
    specs = [(tuple(t.shape), t.dtype) for t in flat_vars]

    def with_placeholders(graph):
        holders = [Tensor(graph.placeholder(shape, dtype, name="loop_var"), tracing.backend, shape, dtype)
                   for shape, dtype in specs]
        return nest.pack_sequence_as(as_args, holders)

    cond_graph, cond_out = tracing.subgraph("while_cond", lambda g: cond(*with_placeholders(g)), pass_graph=True)
    body_graph, body_out = tracing.subgraph("while_body", lambda g: _as_list(body(*with_placeholders(g)), single),
                                            pass_graph=True)
    _check_same_structure("tf.while_loop", as_args, body_out, "loop_vars", "body's result")
    cond_values = _output_values(tracing, cond_graph, [cond_out])
    (cond_value,) = cond_values
    if tuple(cond_value.shape) not in ((), (1,)) or not cond_value.dtype.is_bool:
        raise InvalidArgumentError(f"tf.while_loop: cond must return a scalar bool, got "
                                   f"{cond_value.dtype.name}{list(cond_value.shape)}")
    body_values = _output_values(tracing, body_graph, body_out)
    for (shape, dtype), value in zip(specs, body_values):
        if tuple(value.shape) != shape or value.dtype is not dtype:
            raise ValueError(f"tf.while_loop: the body changes a loop variable from {dtype.name}{list(shape)} to "
                             f"{value.dtype.name}{list(value.shape)}; pykernel graphs have static shapes")
    loop_count = len(specs)
    captures = _merge(trace.captures(cond_graph, cond_values), trace.captures(body_graph, body_values))
    cond_graph.inputs = cond_graph.inputs[:loop_count] + captures
    body_graph.inputs = body_graph.inputs[:loop_count] + captures
    inputs = [tracing.value_of(t._buf) for t in flat_vars] + captures
    node = tracing.graph.add(ir.WHILE, inputs, {"maximum_iterations": maximum_iterations}, specs,
                             payload=(cond_graph, cond_value, body_graph, body_values, loop_count))
    tracing.forget_assigned(cond_graph, body_graph)
    out = _pack(tracing, as_args, node.outputs)
    return out[0] if single else type(loop_vars)(out) if isinstance(loop_vars, tuple) else out


def _as_list(result, single):
    return [result] if single else list(result) if isinstance(result, (list, tuple)) else [result]


def _python_loop(cond, body, loop_vars, single, maximum_iterations):
    """Loop in Python while the condition's value is known (eagerly: always); in a trace, the
    first symbolic condition turns the rest of the loop into a While node."""
    values = loop_vars
    count = 0
    tracing = trace.current()
    while maximum_iterations is None or count < maximum_iterations:
        mark = tracing.mark() if tracing is not None else None
        keep = cond(values) if single else cond(*values)
        known = _known_bool(keep)
        if known is None:
            tracing.rollback(mark)
            left = None if maximum_iterations is None else maximum_iterations - count
            return _graph_loop(cond, body, values, single, left)
        if not known:
            break
        values = body(values) if single else body(*values)
        if not single and not isinstance(values, (list, tuple)):
            values = [values]
        count += 1
    return values


class TensorArray:
    """A list of same-shaped tensors (tf.TensorArray): write/read by index, stack, unstack.

    Indices are Python ints or constant tensors, which covers Python loops (eager or unrolled
    in a trace). Writes return the array, as in TF (`ta = ta.write(i, x)`)."""

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        from .. import dtypes
        self.dtype = dtypes.as_dtype(dtype)
        self._size = None if size is None else _index(size, "size")
        self._dynamic = bool(dynamic_size) or size is None
        self._items = [None] * (self._size or 0)
        self._element_shape = None if element_shape is None else tuple(element_shape)

    def size(self, name=None):
        from ..ops import constant
        return constant(len(self._items), dtype="int32")

    @property
    def element_shape(self):
        from ..tensor import TensorShape
        return None if self._element_shape is None else TensorShape(self._element_shape)

    def write(self, index, value, name=None):
        i = _index(index, "write")
        value = convert_to_tensor(value, dtype=self.dtype)
        if self._element_shape is not None and tuple(value.shape) != self._element_shape:
            raise InvalidArgumentError(f"TensorArray.write: value of shape {tuple(value.shape)} does not match the "
                                       f"element shape {self._element_shape}")
        if i >= len(self._items):
            if not self._dynamic:
                raise InvalidArgumentError(f"TensorArray.write: index {i} is out of bounds for a TensorArray of size "
                                           f"{len(self._items)} (dynamic_size=False)")
            self._items.extend([None] * (i + 1 - len(self._items)))
        self._element_shape = tuple(value.shape)
        self._items[i] = value
        return self

    def read(self, index, name=None):
        i = _index(index, "read")
        if not 0 <= i < len(self._items) or self._items[i] is None:
            raise InvalidArgumentError(f"TensorArray.read: index {i} has not been written "
                                       f"(size {len(self._items)})")
        return self._items[i]

    def stack(self, name=None):
        from ..ops import stack, zeros
        if not self._items:
            return zeros((0,) + (self._element_shape or ()), dtype=self.dtype)
        return stack([self._filled(i) for i in range(len(self._items))])

    def gather(self, indices, name=None):
        from ..ops import stack
        return stack([self.read(_index(i, "gather")) for i in _index_list(indices)])

    def concat(self, name=None):
        from ..ops import concat
        return concat([self._filled(i) for i in range(len(self._items))], axis=0)

    def unstack(self, value, name=None):
        from ..ops import unstack
        for i, item in enumerate(unstack(convert_to_tensor(value, dtype=self.dtype))):
            self.write(i, item)
        return self

    def scatter(self, indices, value, name=None):
        from ..ops import unstack
        for i, item in zip(_index_list(indices), unstack(convert_to_tensor(value, dtype=self.dtype))):
            self.write(i, item)
        return self

    def _filled(self, i):
        from ..ops import zeros
        item = self._items[i]
        if item is None:   # TF reads unwritten elements as zeros when the element shape is known
            if self._element_shape is None:
                raise InvalidArgumentError(f"TensorArray: element {i} was never written and the element shape "
                                           "is unknown")
            return zeros(self._element_shape, dtype=self.dtype)
        return item


def _index(value, what):
    if isinstance(value, Tensor) or hasattr(value, "read_value"):
        tensor = value.read_value() if not isinstance(value, Tensor) else value
        if isinstance(tensor._buf, ir.Value):
            raise NotImplementedError(
                f"TensorArray.{what} with an index computed inside tf.function (a tensor, e.g. from tf.range "
                "over a tensor or a tf.while_loop counter): pykernel's TensorArray takes Python ints; loop with "
                "Python's range(n) (it unrolls)")
        return int(tensor.item())
    return int(value)


def _index_list(indices):
    if isinstance(indices, Tensor):
        return [int(i) for i in indices.tolist()]
    return [int(i) for i in indices]
