"""Fusion: chains of elementwise nodes become one `fused_elementwise` primitive call.

A traced step is mostly small elementwise ops between the matmuls and reductions (a loss and
its gradient, activations and theirs, Adam's bias corrections): on WebGPU each is a dispatch,
an output buffer and a round of memory traffic. Here a group of elementwise nodes whose
intermediate values nobody else reads is replaced by ONE node computing the group's result
from its external inputs, each read through a broadcasting view of the result's shape
(elementwise ops commute with broadcasting, so f(broadcast x) is broadcast f(x)). The WebGPU
backend generates one map kernel per group (webgpu/elementwise.run_fused); the others run the
group's ops in sequence (Backend.fused_elementwise), which is the reference the tests check the
kernels against.

The fused program is a tuple of instructions `(kind, attr, args)`; kind is unary / binary /
where / cast / broadcast_to (attr: the op name or target dtype, args: the recorded argument order) or
literal (attr: (python value, dtype), no args); an arg `k` is external input k when
k < number of inputs, else the result of instruction k - inputs. The last instruction is the
result. Scalar constants become literals in the program (on backends that fold them into
kernel code), so they are neither inputs nor uploads.
"""
from .. import dtypes
from . import ir

# broadcast_to is the identity on each element: its input is read through a broadcasting view
ELEMENTWISE_KINDS = frozenset(("unary", "binary", "where", "cast", "broadcast_to"))
MAX_INPUTS = 7          # a kernel binds its inputs and one output: 8 storage buffers in every browser
MAX_INSTRUCTIONS = 48   # beyond that a kernel compiles slowly for little gain
FUSED = "fused_elementwise"
_FUSED_KINDS = ("a", "l", "a", "a")   # fused_elementwise(program, inputs, shape, dtype)


def _fusable(node):
    return (node.kind in ELEMENTWISE_KINDS
            and node.outputs[0].dtype is not dtypes.int64
            and all(v.dtype is not dtypes.int64 for v in node.inputs))


def _literals(nodes, read):
    """{id(Value): (python value, dtype)} for the one-element constants elementwise nodes read."""
    if read is None:
        return {}
    found = {}
    for node in nodes:
        if not _fusable(node):
            continue
        for v in node.inputs:
            if (v.node.kind == ir.CONSTANT and id(v) not in found and v.shape.num_elements() == 1
                    and v.dtype in (dtypes.float32, dtypes.int32, dtypes.bool_)):
                found[id(v)] = (read(v.node.payload)[0], v.dtype)
    return found


def fuse(nodes, keep, read_literal=None):
    """`nodes` (program order, dead ones already dropped) with elementwise groups fused.

    `keep`: ids of the Values the program returns (they stay materialised; a state node's
    inputs stay because the state node reads them). `read_literal(buffer) -> [value]` reads a
    constant's host value; None keeps constants as inputs. Returns the new node list; the graph
    is not changed: fused nodes are new Node objects producing their root's output Value.

    Every elementwise node roots a group: itself plus the producers it can absorb, found
    walking up its inputs. A producer joins when every reader of its value is in the group
    (the value then never needs a buffer), or when all its readers are elementwise (it is
    recomputed in each group that reads it, which is cheaper than a dispatch and a round trip
    through memory). Then only the groups whose results something reads are kept."""
    literals = _literals(nodes, read_literal)
    consumers = {}
    for node in nodes:
        for v in node.inputs:
            consumers.setdefault(id(v), []).append(node)
    position = {id(n): i for i, n in enumerate(nodes)}
    groups = {}   # id(root) -> members in program order
    for root in nodes:
        if _fusable(root):
            groups[id(root)] = _group(root, consumers, literals, position)
    emitted, needed = [], set(keep)
    for node in reversed(nodes):   # keep what a kept node reads, from the end backwards
        if id(node) in groups:
            if id(node.outputs[0]) not in needed:
                continue
            members = groups[id(node)]
            fused = node if len(members) == 1 else _fused_node(members, literals)
        else:
            fused = node
        needed.update(id(v) for v in fused.inputs)
        emitted.append(fused)
    return emitted[::-1]


def _group(root, consumers, literals, position):
    members = {id(root): root}
    frontier = [root]
    while frontier:
        node = frontier.pop()
        for v in node.inputs:
            producer = v.node
            if (id(producer) in members or id(producer) not in position   # captured from an outer graph
                    or not _fusable(producer) or len(members) >= MAX_INSTRUCTIONS):
                continue
            readers = consumers.get(id(v), ())
            if not all(id(c) in members or _fusable(c) for c in readers):
                continue   # a reduction or matmul reads it too: it is materialised anyway
            trial = dict(members)
            trial[id(producer)] = producer
            if len(_external_inputs(trial, literals)) <= MAX_INPUTS:
                members = trial
                frontier.append(producer)
    return sorted(members.values(), key=lambda n: position[id(n)])


def _external_inputs(members, literals):
    """Values the group reads from outside, first use first (literals excluded)."""
    seen, inputs = set(), []
    for node in members.values():
        for v in node.inputs:
            if id(v.node) in members or id(v) in seen or id(v) in literals:
                continue
            seen.add(id(v))
            inputs.append(v)
    return inputs


def _fused_node(members, literals):
    root = members[-1]
    member_ids = {id(n) for n in members}
    inputs, ref = [], {}
    for node in members:
        for v in node.inputs:
            if id(v.node) not in member_ids and id(v) not in ref and id(v) not in literals:
                ref[id(v)] = len(inputs)
                inputs.append(v)
    program = []
    for node in members:
        args = []
        for v in node.inputs:
            if id(v) not in ref:   # a literal: its own instruction
                ref[id(v)] = len(inputs) + len(program)
                program.append(("literal", literals[id(v)], ()))
            args.append(ref[id(v)])
        attr = node.attrs["dtype"] if node.kind == "cast" else node.attrs.get("op")
        program.append((node.kind, attr, tuple(args)))
        ref[id(node.outputs[0])] = len(inputs) + len(program) - 1
    out = root.outputs[0]
    program = tuple(program)
    fused = ir.Node(root.graph, root.name, FUSED, inputs,
                    {"ops": tuple(f"{k}/{a}" if k != "literal" else "literal" for k, a, _ in program)},
                    payload=(_FUSED_KINDS, (program, None, tuple(out.shape), out.dtype),
                             (None, len(inputs), None, None), False))
    fused.outputs = (out,)
    return fused
