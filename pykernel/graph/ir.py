"""The graph IR: nodes are backend primitives with static shapes and dtypes, edges are tensors.

A `Graph` is what tracing a `tf.function` (or building a TF 1 graph) produces: an ordered
list of `Node`s, each one backend primitive call (or a state node: a variable read or
assign, a random draw, a value check, a print), whose inputs and outputs are `Value`s of
known shape and dtype. The order is program order: replaying it in sequence is correct.

It reads like TF's graph API (`graph.get_operations()`, `op.name`, `op.type`, `op.inputs`,
`op.outputs`, `tensor.shape`) and exports to JSON (the page draws it) and DOT.
"""
import json

from ..tensor import TensorShape

# Node kinds that are not backend primitive calls. Their replay is in replay.py.
PLACEHOLDER = "Placeholder"
CONSTANT = "Const"
READ_VARIABLE = "ReadVariableOp"
ASSIGN_VARIABLE = "AssignVariableOp"
RANDOM_UNIFORM = "RandomUniform"
CHECK_VALUES = "CheckValues"
PRINT = "PrintV2"
IF = "If"          # payload: (true graph, its output Values, false graph, its output Values)
WHILE = "While"    # payload: (cond graph, its output Value, body graph, its output Values, loop var count)
STATEFUL_KINDS = frozenset((ASSIGN_VARIABLE, CHECK_VALUES, PRINT, IF, WHILE))   # kept even when unread


class Value:
    """One edge: a tensor a node produces. It is also the buffer a traced Tensor holds."""

    __slots__ = ("node", "index", "shape", "dtype")

    def __init__(self, node, index, shape, dtype):
        self.node = node
        self.index = index
        self.shape = TensorShape(shape)
        self.dtype = dtype

    @property
    def op(self):
        return self.node

    @property
    def name(self):
        return f"{self.node.name}:{self.index}"

    def get_shape(self):
        return self.shape

    def __repr__(self):
        return f"<graph tensor '{self.name}' shape={tuple(self.shape)} dtype={self.dtype.name}>"


class Node:
    """One operation. `kind` is the primitive ('binary', 'matmul', ...) or a state kind above;
    `attrs` its static arguments (a primitive's op name, axes, shapes, ...)."""

    __slots__ = ("graph", "name", "kind", "inputs", "attrs", "outputs", "payload")

    def __init__(self, graph, name, kind, inputs, attrs, payload=None):
        self.graph = graph
        self.name = name
        self.kind = kind
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.outputs = ()
        self.payload = payload   # what replay needs that is not data: a variable, a buffer, a callable

    @property
    def type(self):
        """TF's op type name: the primitive and its op, e.g. 'binary/add' -> 'Add'."""
        return _type_name(self.kind, self.attrs)

    def __repr__(self):
        ins = ", ".join(v.name for v in self.inputs)
        outs = ", ".join(f"{tuple(v.shape)} {v.dtype.name}" for v in self.outputs)
        return f"<op {self.name} type={self.type} inputs=[{ins}] outputs=[{outs}]>"


_TYPE_NAMES = {"matmul": "BatchMatMulV2", "conv2d": "Conv2D", "conv2d_grad_input": "Conv2DBackpropInput",
               "conv2d_grad_filter": "Conv2DBackpropFilter", "where": "SelectV2", "concat": "ConcatV2",
               "gather": "GatherV2", "broadcast_to": "BroadcastTo", "affine_warp": "ImageProjectiveTransformV3"}


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _type_name(kind, attrs):
    """TF's op type for a node: 'Add' for binary add, 'MaxPool' for max pooling, ..."""
    if kind[:1].isupper():
        return kind
    op = attrs.get("op") if isinstance(attrs, dict) else None
    if kind in ("unary", "binary", "reduce"):
        return _camel(op)
    if kind == "arg_reduce":
        return "Arg" + _camel(op[3:])
    if kind in ("pool2d", "pool2d_grad"):
        return _camel(op) + "Pool" + ("Grad" if kind.endswith("grad") else "")
    if kind == "optimizer_update":
        return "Apply" + _camel(attrs["kind"])
    return _TYPE_NAMES.get(kind) or _camel(kind)


class Graph:
    """An ordered list of nodes; `inputs` are its placeholders, `outputs` the values it returns."""

    def __init__(self, name="graph"):
        self.name = name
        self.nodes = []
        self.inputs = []
        self.outputs = []
        self._names = {}

    def _unique(self, base):
        count = self._names.get(base, 0)
        self._names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def add(self, kind, inputs, attrs, out_specs, payload=None, name=None):
        """Append a node; `out_specs` is a list of (shape, dtype). Returns the node."""
        node = Node(self, self._unique(name or _type_name(kind, attrs)), kind, inputs, attrs, payload)
        node.outputs = tuple(Value(node, i, shape, dtype) for i, (shape, dtype) in enumerate(out_specs))
        self.nodes.append(node)
        return node

    def placeholder(self, shape, dtype, name=None):
        value = self.add(PLACEHOLDER, (), {"shape": tuple(shape), "dtype": dtype.name}, [(shape, dtype)],
                         name=name or PLACEHOLDER).outputs[0]
        self.inputs.append(value)
        return value

    # -- TF's graph API --
    def get_operations(self):
        return list(self.nodes)

    def get_operation_by_name(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"The name {name!r} refers to an Operation not in the graph")

    def get_tensor_by_name(self, name):
        op_name, _, index = name.partition(":")
        return self.get_operation_by_name(op_name).outputs[int(index or 0)]

    # -- exports --
    def as_dict(self):
        """A JSON-ready description: nodes with type, inputs, output shapes and dtypes, attrs."""
        return {
            "name": self.name,
            "nodes": [{"name": n.name, "type": n.type, "kind": n.kind,
                       "inputs": [v.name for v in n.inputs],
                       "outputs": [{"shape": list(v.shape), "dtype": v.dtype.name} for v in n.outputs],
                       "attrs": {k: _jsonable(a) for k, a in (n.attrs or {}).items()},
                       **({"subgraphs": [g.as_dict() for g in n.payload if isinstance(g, Graph)]}
                          if n.kind in (IF, WHILE) else {})}
                      for n in self.nodes],
            "inputs": [v.name for v in self.inputs],
            "outputs": [v.name for v in self.outputs],
        }

    def as_json(self, indent=None):
        return json.dumps(self.as_dict(), indent=indent)

    def to_dot(self):
        """Graphviz text: one box per node (its type and output shapes), one arrow per edge."""
        lines = [f'digraph "{self.name}" {{', "  rankdir=TB;", '  node [shape=box, fontname="monospace"];']
        for n in self.nodes:
            shapes = ", ".join(str(tuple(v.shape)) for v in n.outputs)
            lines.append(f'  "{n.name}" [label="{n.name}\\n{n.type}\\n{shapes}"];')
        for n in self.nodes:
            for v in n.inputs:
                lines.append(f'  "{v.node.name}" -> "{n.name}" [label="{tuple(v.shape)}"];')
        lines.append("}")
        return "\n".join(lines)

    def __str__(self):
        """A text dump, one op per line, in program order."""
        out = []
        for n in self.nodes:
            outs = ", ".join(f"{v.name}: {v.dtype.name}{list(v.shape)}" for v in n.outputs)
            ins = ", ".join(v.name for v in n.inputs)
            attrs = ", ".join(f"{k}={_jsonable(a)}" for k, a in (n.attrs or {}).items())
            out.append(f"{outs or '-'} = {n.type}({ins}{'; ' if ins and attrs else ''}{attrs})")
        return "\n".join(out)

    def __repr__(self):
        return f"<Graph {self.name!r}: {len(self.nodes)} ops>"


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return getattr(value, "name", None) or str(value)
