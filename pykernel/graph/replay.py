"""Replay: a traced graph compiled to a flat list of backend calls, run without the op layers.

`Program(graph, backend, outputs)` keeps only the nodes the outputs or a state change
(an assign, a check, a print) depend on, gives every value a slot, and turns each node
into one step: a backend primitive call with its static arguments already in place, a
variable read or write, a random draw from the node's stream. A slot is released right
after its last use, so buffers go back to the device's pool during the step, not at its
end; constants stay in the program.
"""
from ..tensor import Tensor
from . import fuse as fusion
from . import ir

_fusion = {"enabled": True}
_prepared = {"enabled": True}


def set_fusion(enabled):
    """Whether programs built from now on fuse elementwise groups (graph/fuse.py); on by
    default. tf.config.optimizer.set_experimental_options({"remapping": False}) turns it off."""
    _fusion["enabled"] = bool(enabled)


def fusion_enabled():
    return _fusion["enabled"]


def set_prepared_programs(enabled):
    """Whether programs built from now on run as a backend's prepared program where it has
    them (WebGPU: recorded once, replayed by the device in one call); on by default."""
    _prepared["enabled"] = bool(enabled)


class Program:
    def __init__(self, graph, backend, outputs, fuse=None):
        self.backend = backend
        self.graph = graph
        live = _live_nodes(graph, outputs)
        nodes = [n for n in graph.nodes if id(n) in live and n.kind != ir.PLACEHOLDER]
        if (fusion_enabled() and getattr(backend, "fuses_elementwise", False)) if fuse is None else fuse:
            read = backend.to_list if getattr(backend, "folds_literals", False) else None
            nodes = fusion.fuse(nodes, {id(v) for v in outputs if v is not None}, read)
        self.nodes = nodes   # what runs: the graph's live nodes, elementwise groups fused
        slot_of = {}

        def slot(value):
            if id(value) not in slot_of:
                slot_of[id(value)] = len(slot_of)
            return slot_of[id(value)]

        self.input_slots = [slot(v) for v in graph.inputs]
        constants = []
        steps = []
        for node in nodes:
            if node.kind == ir.CONSTANT:
                constants.append((slot(node.outputs[0]), node.payload))
                continue
            steps.append((node, [slot(v) for v in node.inputs], [slot(v) for v in node.outputs]))
        self.output_slots = [None if v is None else slot(v) for v in outputs]
        self.size = len(slot_of)
        self.constants = constants
        keep = set(self.output_slots) | {s for s, _ in constants} | set(self.input_slots)
        last_use = {}
        for index, (_, ins, _) in enumerate(steps):
            for s in ins:
                last_use[s] = index
        frees = [[] for _ in steps]
        for s, index in last_use.items():
            if s not in keep:
                frees[index].append(s)
        self.step_nodes = steps
        self.steps = [_compile(node, ins, outs, tuple(free), backend)
                      for (node, ins, outs), free in zip(steps, frees)]
        self.dispatch_count = len(self.steps)
        prepare = getattr(backend, "prepare_program", None) if _prepared["enabled"] else None
        self.prepared = prepare(self) if prepare is not None else None   # recorded by its first run

    def run(self, input_buffers):
        prepared = self.prepared
        if prepared is not None:
            if prepared.runs:
                return prepared.run(input_buffers)
            try:
                return prepared.record(input_buffers)
            except BaseException:
                self.prepared = None   # the run failed (its error follows): no program was made
                raise
        env = [None] * self.size
        for s, buf in self.constants:
            env[s] = buf
        for s, buf in zip(self.input_slots, input_buffers):
            env[s] = buf
        for step in self.steps:
            step(env)
        return [None if s is None else env[s] for s in self.output_slots]


def _live_nodes(graph, outputs):
    """Nodes that an output or a state change depends on."""
    live = set()
    pending = [v.node for v in outputs if v is not None]
    pending += [n for n in graph.nodes if n.kind in ir.STATEFUL_KINDS]
    while pending:
        node = pending.pop()
        if id(node) in live:
            continue
        live.add(id(node))
        pending.extend(v.node for v in node.inputs)
    return live


def _compile(node, ins, outs, free, backend):
    kind = node.kind
    if kind == ir.READ_VARIABLE:
        variable, (out,) = node.payload, outs

        def read(env):
            env[out] = variable._value._buf
        return read
    if kind == ir.ASSIGN_VARIABLE:
        variable, (source,) = node.payload, ins
        shape, dtype = node.inputs[0].shape, node.inputs[0].dtype

        def assign(env):
            variable._value = Tensor(env[source], backend, shape, dtype)
            for s in free:
                env[s] = None
        return assign
    if kind == ir.RANDOM_UNIFORM:
        stream, shape, (out,) = node.payload, node.attrs["shape"], outs

        def draw(env):
            key, offset = stream.next()
            env[out] = backend.random_uniform(shape, key, offset)
        return draw
    if kind == ir.CHECK_VALUES:
        (failure, error), (source,) = node.payload, ins

        def check(env):
            backend.check_values(env[source], failure, error)
            for s in free:
                env[s] = None
        return check
    if kind == ir.PRINT:
        render = node.payload
        specs = [(v.shape, v.dtype) for v in node.inputs]

        def show(env):
            render([Tensor(env[s], backend, shape, dtype) for s, (shape, dtype) in zip(ins, specs)])
            for s in free:
                env[s] = None
        return show
    if kind == ir.IF:
        return _if_step(node, ins, outs, free, backend)
    if kind == ir.WHILE:
        return _while_step(node, ins, outs, free, backend)
    return _primitive_step(node, ins, outs, free, getattr(backend, kind))


def _if_step(node, ins, outs, free, backend):
    true_graph, true_out, false_graph, false_out = node.payload
    branches = (Program(false_graph, backend, false_out), Program(true_graph, backend, true_out))
    pred, captured = ins[0], ins[1:]

    def run_if(env):
        taken = branches[bool(backend.to_list(env[pred])[0])]   # reads the predicate: a sync point
        for s, buf in zip(outs, taken.run([env[c] for c in captured])):
            env[s] = buf
        for s in free:
            env[s] = None
    return run_if


def _while_step(node, ins, outs, free, backend):
    cond_graph, cond_out, body_graph, body_out, count = node.payload
    limit = node.attrs["maximum_iterations"]
    test, body = Program(cond_graph, backend, [cond_out]), Program(body_graph, backend, body_out)
    loop_slots, captured = ins[:count], ins[count:]

    def run_while(env):
        values = [env[s] for s in loop_slots]
        captured_values = [env[s] for s in captured]
        iterations = 0
        while limit is None or iterations < limit:
            (keep,) = test.run(values + captured_values)
            if not backend.to_list(keep)[0]:   # one sync per iteration
                break
            values = body.run(values + captured_values)
            iterations += 1
        for s, buf in zip(outs, values):
            env[s] = buf
        for s in free:
            env[s] = None
    return run_while


def _primitive_step(node, ins, outs, free, call):
    kinds, static, layout, structured = node.payload
    plan = []   # per argument: ("a", value) | ("b", slot) | ("l", slots) | ("d", (keys, slots))
    position = 0
    for kind, value, shape in zip(kinds, static, layout):
        if kind == "a":
            plan.append((0, value))
        elif kind == "b":
            plan.append((1, ins[position]))
            position += 1
        elif kind == "l":
            plan.append((2, tuple(ins[position:position + shape])))
            position += shape
        else:
            plan.append((3, (shape, tuple(ins[position:position + len(shape)]))))
            position += len(shape)
    plan = tuple(plan)
    if not structured:
        (out,) = outs

        def step(env):
            env[out] = call(*[v if k == 0 else env[v] if k == 1 else [env[s] for s in v] if k == 2
                              else dict(zip(v[0], [env[s] for s in v[1]])) for k, v in plan])
            for s in free:
                env[s] = None
        return step
    first, rest = outs[0], outs[1:]

    def multi_step(env):
        result, named = call(*[v if k == 0 else env[v] if k == 1 else [env[s] for s in v] if k == 2
                               else dict(zip(v[0], [env[s] for s in v[1]])) for k, v in plan])
        env[first] = result
        for s, buf in zip(rest, named.values()):
            env[s] = buf
        for s in free:
            env[s] = None
    return multi_step


def inline(graph, outputs, tracing, inputs):
    """Record `graph` into the active trace `tracing`, its placeholders bound to `inputs`
    (buffers or Values there): a tf.function called while another one traces becomes part of
    the caller's graph, as TF inlines a function call. Returns the buffers of `outputs`."""
    backend = tracing.backend
    env = {id(v): buf for v, buf in zip(graph.inputs, inputs)}
    live = _live_nodes(graph, outputs)
    for node in graph.nodes:
        kind = node.kind
        if id(node) not in live or kind == ir.PLACEHOLDER:
            continue
        ins = [env.get(id(v), v) for v in node.inputs]   # a Value not in env: captured from the caller
        if kind == ir.CONSTANT:
            results = [node.payload]
        elif kind == ir.READ_VARIABLE:
            results = [tracing.read_variable(node.payload)]
        elif kind == ir.ASSIGN_VARIABLE:
            tracing.assign_variable(node.payload, ins[0])
            results = []
        elif kind == ir.RANDOM_UNIFORM:
            results = [backend.random_uniform_from(node.attrs["shape"], node.payload)]
        elif kind == ir.CHECK_VALUES:
            backend.check_values(ins[0], *node.payload)
            results = []
        elif kind == ir.PRINT:
            tracing.print_values(ins, node.payload)
            results = []
        elif kind in (ir.IF, ir.WHILE):
            copy = tracing.graph.add(kind, [tracing.value_of(b) for b in ins], dict(node.attrs),
                                     [(v.shape, v.dtype) for v in node.outputs], payload=node.payload)
            tracing.forget_assigned(*[g for g in node.payload if isinstance(g, ir.Graph)])
            results = list(copy.outputs)
        else:
            results = _call_primitive(getattr(backend, kind), node.payload, ins)
        for value, buf in zip(node.outputs, results):
            env[id(value)] = buf
    return [None if v is None else env.get(id(v), v) for v in outputs]


def _call_primitive(call, payload, ins):
    """A recorded primitive called again on `ins`: its outputs as a list."""
    kinds, static, layout, structured = payload
    args, position = [], 0
    for kind, value, shape in zip(kinds, static, layout):
        if kind == "a":
            args.append(value)
        elif kind == "b":
            args.append(ins[position])
            position += 1
        elif kind == "l":
            args.append(list(ins[position:position + shape]))
            position += shape
        else:
            args.append(dict(zip(shape, ins[position:position + len(shape)])))
            position += len(shape)
    result = call(*args)
    return [result[0], *result[1].values()] if structured else [result]
