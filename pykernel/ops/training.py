"""A whole optimizer step of one variable as one backend primitive (TF's ResourceApply* ops).

Used by keras.optimizers where it applies; not differentiable (an update is never
differentiated), so nothing is recorded on a tape.
"""
from ..backends.base import OPTIMIZER_REQUIRED_SLOTS, OPTIMIZER_SLOTS
from ..errors import InvalidArgumentError
from .dispatch import wrap


def optimizer_update(kind, variable, gradient, slots, rate, hyper):
    """(new value, {slot name: new value}) of one `kind` step: Backend.optimizer_update on
    tensors. `variable` (its value), `gradient` and the `slots` values share one shape,
    float dtype and device; `rate` is a 0-d tensor of that dtype."""
    _check(kind, variable, gradient, slots, rate)
    backend = variable.backend
    new_value, new_slots = backend.optimizer_update(
        kind, variable._buf, gradient._buf, {name: s._buf for name, s in slots.items()}, rate._buf, dict(hyper))
    shape, dtype = variable.shape, variable.dtype
    return (wrap(new_value, backend, shape, dtype),
            {name: wrap(buf, backend, shape, dtype) for name, buf in new_slots.items()})


def _check(kind, variable, gradient, slots, rate):
    if kind not in OPTIMIZER_SLOTS:
        raise InvalidArgumentError(f"optimizer_update: unknown kind {kind!r}; expected one of {tuple(OPTIMIZER_SLOTS)}")
    unknown = set(slots) - set(OPTIMIZER_SLOTS[kind])
    missing = set(OPTIMIZER_REQUIRED_SLOTS[kind]) - set(slots)
    if unknown or missing:
        raise InvalidArgumentError(f"optimizer_update: {kind} takes slots {OPTIMIZER_SLOTS[kind]} (required: "
                                   f"{OPTIMIZER_REQUIRED_SLOTS[kind]}), got {tuple(slots)}")
    if not variable.dtype.is_floating:
        raise InvalidArgumentError(f"optimizer_update: expected a floating-point variable, got {variable.dtype.name}")
    for name, t in [("gradient", gradient)] + list(slots.items()):
        if (t.dtype is not variable.dtype or tuple(t.shape) != tuple(variable.shape)
                or t.backend is not variable.backend):
            raise InvalidArgumentError(
                f"optimizer_update: {name} is {t.dtype.name} {tuple(t.shape)} on {t.device}, the variable "
                f"{variable.dtype.name} {tuple(variable.shape)} on {variable.device}")
    if rate.dtype is not variable.dtype or tuple(rate.shape) != () or rate.backend is not variable.backend:
        raise InvalidArgumentError(f"optimizer_update: rate must be a scalar {variable.dtype.name} on "
                                   f"{variable.device}, got {rate.dtype.name} {tuple(rate.shape)} on {rate.device}")
