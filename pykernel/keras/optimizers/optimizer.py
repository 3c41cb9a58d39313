"""Optimizer: the base of SGD, Adam, Adagrad and RMSprop (Keras 3 semantics).

`apply_gradients(zip(grads, vars))` clips the gradients, applies decoupled weight decay,
runs each optimizer's `update_step` and then counts the step in `iterations`. Per-variable
state ("slots": momentum, velocity, ...) is created lazily on a variable's first update.
"""
import warnings

from ... import dtypes, ops
from ...autodiff import GradientTape
from ...backends.base import Backend
from ...ops import training as training_ops
from ...tensor import Tensor
from ...variables import Variable
from ..naming import to_snake_case
from . import schedules

# Run each variable's update as one backend primitive where it applies (see _fused_step).
# False forces the composed formulas everywhere: for comparisons and measurements.
FUSED_UPDATES = True


class Optimizer:
    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        learning_rate = kwargs.pop("lr", learning_rate)  # tf.keras 2 spelling
        decay = kwargs.pop("decay", None)
        kwargs.pop("jit_compile", None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if use_ema or gradient_accumulation_steps or loss_scale_factor:
            raise NotImplementedError("use_ema, gradient_accumulation_steps and loss_scale_factor are not "
                                      "supported in pykernel")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.name = name or to_snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = Variable(0, trainable=False, dtype=dtypes.int64, name=f"{self.name}/iteration")
        self._schedule = None
        self._learning_rate = None
        if decay:  # legacy tf.keras `decay`: lr / (1 + decay * step) is an inverse-time schedule
            learning_rate = schedules.InverseTimeDecay(learning_rate, 1, decay)
        self.learning_rate = learning_rate
        self._slots = {}  # id(variable) -> (variable, {slot name: Variable})

    # ------------------------------------------------------------ learning rate

    @property
    def learning_rate(self):
        """The current rate: a Variable for a fixed rate, the schedule's value at this step otherwise."""
        if self._schedule is not None:
            return self._schedule(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule) or (callable(value) and not _is_number(value)):
            self._schedule = value if isinstance(value, schedules.LearningRateSchedule) else _NoArgSchedule(value)
            return
        if self._schedule is not None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable.")
        value = float(value.read_value() if hasattr(value, "read_value") else value)
        if self._learning_rate is None:
            self._learning_rate = Variable(value, trainable=False, dtype=dtypes.float32,
                                           name=f"{self.name}/learning_rate")
        else:
            self._learning_rate.assign(ops.fill((), value, dtype=dtypes.float32))

    lr = learning_rate  # tf.keras 2 alias

    def _current_learning_rate(self):
        rate = self.learning_rate
        return rate.read_value() if hasattr(rate, "read_value") else rate

    # ------------------------------------------------------------ state

    def _get_slot(self, variable, name, initial_value=0.0):
        """The optimizer's `name` state for `variable`, created on first use."""
        entry = self._slots.get(id(variable))
        if entry is None:
            entry = self._slots[id(variable)] = (variable, {})  # keep `variable` alive: ids stay unique
        slots = entry[1]
        if name not in slots:
            value = ops.fill(tuple(variable.shape), float(initial_value), dtype=variable.dtype)
            slots[name] = Variable(value, trainable=False, name=f"{self.name}/{_short(variable)}_{name}")
        return slots[name]

    def add_variable_from_reference(self, reference_variable, name, initializer="zeros"):
        """Keras 3 API for custom optimizers: a slot shaped like `reference_variable`."""
        initial = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer)
        return self._get_slot(reference_variable, name, initial)

    @property
    def variables(self):
        out = [self.iterations] + ([self._learning_rate] if self._schedule is None else [])
        for _, slots in self._slots.values():
            out.extend(slots.values())
        return out

    # ------------------------------------------------------------ applying gradients

    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False, **kwargs):
        """Update each variable from its gradient; pairs whose gradient is None are skipped."""
        pairs = list(grads_and_vars)
        kept = [(g, v) for g, v in pairs if g is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: "
                             f"{[getattr(v, 'name', v) for _, v in pairs]}")
        if len(kept) < len(pairs):
            missing = [v.name for g, v in pairs if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. "
                          "If using `model.compile()`, did you forget to provide a `loss` argument?",
                          stacklevel=2)
        grads = self._clip_gradients([_as_tensor(g, v.dtype) for g, v in kept])
        variables = [v for _, v in kept]
        learning_rate = self._current_learning_rate()
        self._apply_weight_decay(variables, learning_rate)
        self.prepare_step(learning_rate)
        for gradient, variable in zip(grads, variables):
            self.update_step(gradient, variable, learning_rate)
        self.iterations.assign_add(1)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Keras 3 form: `apply(grads, trainable_variables)`."""
        return self.apply_gradients(zip(grads, trainable_variables))

    def minimize(self, loss, var_list, tape=None, grad_loss=None, name=None):
        """Compute the gradients of `loss` (a no-argument callable, or a tensor recorded on
        `tape`) with respect to `var_list` and apply them."""
        if callable(var_list) and not isinstance(var_list, (list, tuple)):
            var_list = var_list()
        var_list = list(var_list)
        if tape is None:
            if not callable(loss):
                raise ValueError("`tape` is required when a `Tensor` loss is passed. Received: "
                                 f"loss={loss}, tape=None.")
            with GradientTape() as tape:
                loss_value = loss()
        else:
            loss_value = loss() if callable(loss) else loss
        grads = tape.gradient(loss_value, var_list, output_gradients=grad_loss)
        return self.apply_gradients(zip(grads, var_list))

    def prepare_step(self, learning_rate):
        """Compute what every variable's update of this step shares (once, not per variable)."""

    def update_step(self, gradient, variable, learning_rate):
        """Update one variable; each optimizer implements this with its Keras formula."""
        raise NotImplementedError

    def _fused_step(self, kind, gradient, variable, slots, rate, hyper):
        """Update `variable` and its `slots` (name -> Variable) with one backend primitive
        (ops.training.optimizer_update: one dispatch on WebGPU instead of ~12, and no
        temporaries) when the gradient is a dense tensor matching a float32/float64 variable
        on its device. Same formulas, same rounding order as the composed path. Returns
        False where it does not apply: the caller then composes the update from ops."""
        if not (FUSED_UPDATES and _fusable(variable, gradient, rate)):
            return False
        new_value, new_slots = training_ops.optimizer_update(
            kind, variable.read_value(), gradient, {name: slot.read_value() for name, slot in slots.items()},
            rate, hyper)
        for name, slot in slots.items():
            slot.assign(new_slots[name])
        variable.assign(new_value)
        return True

    # ------------------------------------------------------------ clipping and decay

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [ops.clip_by_value(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _apply_weight_decay(self, variables, learning_rate):
        """Decoupled weight decay (AdamW style): v <- v - v * weight_decay * lr."""
        if not self.weight_decay:
            return
        for variable in variables:
            value = variable.read_value()
            variable.assign(value - value * (ops.cast(learning_rate, variable.dtype) * self.weight_decay))

    # ------------------------------------------------------------ config

    def get_config(self):
        rate = schedules.serialize(self._schedule) if isinstance(self._schedule, schedules.LearningRateSchedule) \
            else float(self._learning_rate.numpy()) if self._schedule is None else None
        return {"name": self.name, "learning_rate": rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


# ---------------------------------------------------------------- helpers

class _NoArgSchedule(schedules.LearningRateSchedule):
    """A no-argument callable used as a learning rate (allowed by Keras)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, step):
        value = self.fn()
        return value if isinstance(value, Tensor) else ops.fill((), float(value), dtype=dtypes.float32)


def _is_number(value):
    return isinstance(value, (int, float)) or hasattr(value, "read_value") or isinstance(value, Tensor)


def _fusable(variable, gradient, rate):
    backend = variable.backend
    return (isinstance(gradient, Tensor) and isinstance(rate, Tensor)
            and variable.dtype in (dtypes.float32, dtypes.float64)
            and gradient.dtype is variable.dtype and rate.dtype is variable.dtype
            and tuple(gradient.shape) == tuple(variable.shape) and tuple(rate.shape) == ()
            and gradient.backend is backend and rate.backend is backend
            and type(backend).optimizer_update is not Backend.optimizer_update)


def _as_tensor(gradient, dtype):
    g = gradient.read_value() if hasattr(gradient, "read_value") else gradient
    g = g if isinstance(g, Tensor) else ops.constant(g)
    return g if g.dtype is dtype else ops.cast(g, dtype)


def _l2_norm(g):
    return ops.sqrt(ops.reduce_sum(ops.square(g)))


def _clip_by_norm(g, clip_norm):
    """g scaled down so its L2 norm is at most clip_norm (unchanged when already smaller)."""
    return g * (clip_norm / ops.maximum(_l2_norm(g), clip_norm))


def _clip_by_global_norm(grads, clip_norm):
    """All gradients scaled by one factor so that their joint L2 norm is at most clip_norm."""
    total = ops.sqrt(ops.add_n([ops.reduce_sum(ops.square(g)) for g in grads]))
    scale = clip_norm / ops.maximum(total, clip_norm)
    return [g * scale for g in grads]



def _short(variable):
    name = variable.name[:-2] if variable.name.endswith(":0") else variable.name
    return name.replace("/", "_")

