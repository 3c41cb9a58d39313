"""The fused optimizer step (Backend.optimizer_update): shaders/optimizer_update.wgsl.

One dispatch per variable and step (two for three-slot variants: AMSGrad, centered RMSprop
with momentum), instead of a dozen elementwise kernels and their temporaries. The WGSL
body is generated per (kind, slots present, nesterov) from the formulas below, written in
the composed Keras formula's order of operations (base.optimizer_step is the reference).
"""
import re
import struct

from ..base import optimizer_constants
from .elementwise import grid
from .kernels import fill, template

# the names the formulas give base.optimizer_constants(kind, ...), in order (Params.c.xyzw)
_CONSTANTS = {"sgd": ("mu",), "adam": ("one_minus_b1", "one_minus_b2", "eps"), "adagrad": ("eps",),
              "rmsprop": ("rho", "one_minus_rho", "mu", "eps")}
_plans = {}  # (kind, slots, nesterov, storage limit) -> [(wgsl, buffer names)], one per dispatch
_MAX_STORAGE = 8  # WebGPU's guaranteed storage buffers per stage (Chrome's default limit)


def optimizer_update(backend, kind, variable, gradient, slots, rate, hyper):
    names = tuple(slots)
    outputs = {"value_out": backend.empty(variable.shape, variable.dtype)}
    outputs.update({f"{name}_out": backend.empty(variable.shape, variable.dtype) for name in names})
    new_slots = {name: outputs[f"{name}_out"] for name in names}
    if not variable.size:
        return outputs["value_out"], new_slots
    arrays = {"grad": gradient, "rate": rate, "value_in": variable, **outputs}
    arrays.update({f"{name}_in": slots[name] for name in names})
    arrays.update({f"new_{name}_in": new_slots[name] for name in names})  # the variable pass reads them
    limit = min(_MAX_STORAGE, backend.device.max_storage_buffers_per_stage)
    key = (kind, names, bool(hyper.get("nesterov")), limit)
    if key not in _plans:
        _plans[key] = _plan(kind, names, bool(hyper.get("nesterov")), limit)
    groups, pitch = grid(backend.device, variable.size)
    constants = list(optimizer_constants(kind, hyper)) + [0.0] * (4 - len(_CONSTANTS[kind]))
    params = struct.pack("<4I4f", variable.size, pitch, 0, 0, *constants)
    for index, (wgsl, buffers) in enumerate(_plans[key]):
        pipeline = backend.pipelines.get(("optimizer_update", index) + key, lambda: wgsl)
        backend.device.dispatch(pipeline, [arrays[b].handle for b in buffers], params, groups)
    return outputs["value_out"], new_slots


# ---------------------------------------------------------------- the kinds' formulas

def _formulas(kind, names, nesterov):
    """(statements, variable expression) in WGSL. The statements define new_<slot> from g,
    lr, the old slot values <slot> and the constants; the expression is the new variable
    from `value`, g, lr and the new_<slot> values."""
    if kind == "sgd":
        if "momentum" not in names:
            return [], "value - g * lr"
        step = ["let new_momentum = momentum * mu - g * lr;"]
        return step, "value + (new_momentum * mu - g * lr)" if nesterov else "value + new_momentum"
    if kind == "adam":
        steps = ["let new_momentum = momentum + (g - momentum) * one_minus_b1;",
                 "let new_velocity = velocity + (g * g - velocity) * one_minus_b2;"]
        denominator = "new_velocity"
        if "velocity_hat" in names:
            steps.append("let new_velocity_hat = maximum(velocity_hat, new_velocity);")
            denominator = "new_velocity_hat"
        return steps, f"value - (new_momentum * lr) / (sqrt({denominator}) + eps)"
    if kind == "adagrad":
        return ["let new_accumulator = accumulator + g * g;"], "value - (lr * g) / sqrt(new_accumulator + eps)"
    if kind == "rmsprop":
        steps = ["let new_velocity = rho * velocity + one_minus_rho * (g * g);"]
        denominator = "new_velocity + eps"
        if "average_gradient" in names:
            steps.append("let new_average_gradient = rho * average_gradient + one_minus_rho * g;")
            denominator = "(new_velocity - new_average_gradient * new_average_gradient) + eps"
        increment = f"(lr * g) / sqrt({denominator})"
        if "momentum" in names:
            steps.append(f"let new_momentum = mu * momentum + {increment};")
            return steps, "value - new_momentum"
        return steps, f"value - {increment}"
    raise ValueError(f"unknown optimizer kind {kind!r}")


def _plan(kind, names, nesterov, limit):
    """The dispatches: one pass when its storage buffers fit in `limit`, else slots first
    (writing new_<slot>), then the variable (reading them back)."""
    statements, variable = _formulas(kind, names, nesterov)
    old = [(name, f"{name}_in") for name in names]
    stores = [(f"{name}_out", f"new_{name}") for name in names]
    single = _shader(kind, old, statements, [("value_out", variable)] + stores)
    if len(single[1]) <= limit:
        return [single]
    passes = [_shader(kind, old, statements, stores),
              _shader(kind, [(f"new_{name}", f"new_{name}_in") for name in names], [], [("value_out", variable)])]
    if any(len(buffers) > limit for _, buffers in passes):
        raise RuntimeError(f"optimizer_update {kind} {names}: more storage buffers than the device's {limit}")
    return passes


def _shader(kind, slot_inputs, statements, stores):
    """(WGSL, buffer names in binding order) for one pass: binds and loads only the inputs
    its code mentions (auto layouts drop unused bindings), then the outputs."""
    code = "\n".join(statements + [f"{buffer}[i] = {expr};" for buffer, expr in stores])
    inputs = [("g", "grad", "i"), ("lr", "rate", "0u"), ("value", "value_in", "i")]
    inputs += [(let, buffer, "i") for let, buffer in slot_inputs]
    used = [(let, buffer, index) for let, buffer, index in inputs if _mentions(code, let)]
    buffers = [buffer for _, buffer, _ in used] + [buffer for buffer, _ in stores]
    bindings = [f"@group(0) @binding({k + 1}) var<storage, {'read' if k < len(used) else 'read_write'}> "
                f"{buffer}: array<f32>;" for k, buffer in enumerate(buffers)]
    lines = [f"let {let} = {buffer}[{index}];" for let, buffer, index in used]
    lines += [f"let {name} = p.c.{'xyzw'[k]};" for k, name in enumerate(_CONSTANTS[kind]) if _mentions(code, name)]
    body = "\n".join("    " + line for line in lines + code.split("\n"))
    return fill(template("optimizer_update"), BINDINGS="\n".join(bindings), BODY=body), buffers


def _mentions(code, name):
    return re.search(rf"\b{name}\b", code) is not None
