"""`tf.compat.v1.train`: TF 1 optimizers on graph variables, `tf.compat.v1.gradients`, the global step.

`minimize(loss)` = `apply_gradients(compute_gradients(loss))`. `compute_gradients` is a
graph op whose outputs are the gradients: a Session run that needs it records the run's ops
on a GradientTape and asks it for d loss / d variable. `apply_gradients` is an op that hands
the gradients to the matching pykernel.keras optimizer, whose formulas are TF 1's:

- GradientDescent: var -= lr * g                              (keras SGD)
- Momentum: accum = momentum * accum + g; var -= lr * accum   (keras SGD(momentum): its
  velocity is -lr * accum), Nesterov likewise
- Adam: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); var -= lr_t * m / (sqrt(v) + epsilon),
  epsilon being TF 1's "epsilon hat" (default 1e-8; Keras' is 1e-7)
- RMSProp: ms = decay * ms + (1 - decay) * g^2; mom = momentum * mom + lr * g / sqrt(ms + eps);
  var -= mom; TF 1 starts ms at ones (Keras at zeros) and its epsilon default is 1e-10
- Adagrad: accum += g^2; var -= lr * g / sqrt(accum), from initial_accumulator_value 0.1
  (keras Adagrad with epsilon 0)

The optimizer state (slots, step counters) is made when the op is built and reset by
`global_variables_initializer()`, as in TF 1.
"""
from .. import autodiff, dtypes, ops as _ops
from ..tensor import Tensor
from ..variables import Variable
from . import compat_v1 as g
from .compat_v1_session import EVALUATORS


def _keras_optimizers():
    from ..keras import optimizers
    return optimizers


# ---------------------------------------------------------------- gradients

def _depends(tensors, target):
    """Whether the graph tensors `tensors` depend on `target` (a Variable or a GraphTensor)."""
    seen, stack = set(), [t.op for t in tensors]
    for t in tensors:
        if t is target:
            return True
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        if isinstance(target, Variable) and any(v is target for v in op._reads):
            return True
        for t in op._inputs:
            if t is target:
                return True
            stack.append(t.op)
    return False


def gradients(ys, xs, grad_ys=None, name="gradients", **_ignored):
    """Symbolic d(sum of ys)/d x for each x (a graph variable or graph tensor); None where
    ys do not depend on x."""
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    ys_list = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    graph = g.get_default_graph()
    connected = [x for x in xs if _depends(ys_list, x)]
    if connected:
        op = g.Operation(graph, "gradients", "SymbolicGradient", name, args=(ys_list, grad_ys),
                         payload=(connected,), reads=[x for x in connected if isinstance(x, Variable)])
        outputs = iter(op._set_outputs([(tuple(x.shape), x.dtype) for x in connected]))
    out = [next(outputs) if any(x is c for c in connected) else None for x in xs]
    return out


def _evaluate_gradients(run, op):
    ys, grad_ys = g.substitute((op._args[0], op._args[1]), run.lookup)
    sources = [s if isinstance(s, Variable) else run.value(s) for s in op._payload[0]]
    target = ys[0] if len(ys) == 1 else _ops.add_n([_ops.reduce_sum(y) for y in ys])
    if grad_ys is not None and len(ys) != 1:
        raise ValueError("gradients: grad_ys with several ys is not supported")
    seed = grad_ys[0] if isinstance(grad_ys, list) else grad_ys
    grads = run.tape.gradient(target, sources, output_gradients=seed)   # not recorded on the tape
    for out, grad in zip(op.outputs, grads):
        if grad is not None:
            run.set(out, grad)


# ---------------------------------------------------------------- optimizers

class Optimizer:
    """The TF 1 optimizer base (tf.compat.v1.train.Optimizer)."""

    def __init__(self, learning_rate, use_locking=False, name="Optimizer"):
        self._learning_rate = learning_rate
        self._name = name
        self._keras = None
        self._graph = None

    def get_name(self):
        return self._name

    # -- the keras optimizer doing the updates --
    def _make_keras(self, rate):
        raise NotImplementedError

    def _slot_specs(self):
        """(keras slot name, initial value) for each slot TF 1 creates per variable."""
        return []

    def _keras_for(self, variables):
        graph = g.get_default_graph()
        with g.evaluating():
            if self._keras is None:
                rate = self._learning_rate
                self._keras = self._make_keras(float(rate) if isinstance(rate, (int, float)) else 0.0)
                self._graph = graph
            for v in variables:
                for slot, initial in self._slot_specs():
                    self._keras._get_slot(v, slot, initial)
        graph._register_state(self._keras.variables)
        return self._keras

    def variables(self):
        return [] if self._keras is None else list(self._keras.variables)

    def get_slot_names(self):
        return [name for name, _ in self._slot_specs()]

    def get_slot(self, var, name):
        entry = None if self._keras is None else self._keras._slots.get(id(var))
        return None if entry is None else entry[1].get(name)

    # -- TF 1 API --
    def compute_gradients(self, loss, var_list=None, gate_gradients=1, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        if callable(loss) and not isinstance(loss, Tensor):
            raise RuntimeError("compute_gradients of a callable loss is eager-mode only: use minimize(loss_fn) "
                               "or tf.GradientTape")
        if not isinstance(loss, g.GraphTensor):
            raise TypeError(f"compute_gradients: the loss must be a graph tensor, got {type(loss).__name__}")
        if var_list is None:
            var_list = g.trainable_variables(loss.graph)
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = gradients(loss, var_list, grad_ys=grad_loss)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        pairs = list(grads_and_vars)
        kept = [(grad, v) for grad, v in pairs if grad is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in pairs]}.")
        if not (g._active and g.building()):
            return self._keras_apply(kept, global_step)
        variables = [v for _, v in kept]
        keras = self._keras_for(variables)
        rate = self._learning_rate
        extra = [rate] if isinstance(rate, g.GraphTensor) else []
        op = g.Operation(g.get_default_graph(), "apply", "NoOp", name or self._name,
                         args=([grad for grad, _ in kept],), extra_inputs=extra,
                         reads=variables + ([global_step] if global_step is not None else []),
                         writes=variables + keras.variables + ([global_step] if global_step is not None else []),
                         payload=(keras, variables, rate if extra else None, global_step))
        return op

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=1, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):
        if callable(loss) and not isinstance(loss, Tensor) and not (g._active and g.building()):
            from ..autodiff import GradientTape
            with GradientTape() as tape:
                value = loss()
            var_list = list(var_list if var_list is not None else tape.watched_variables())
            grads = tape.gradient(value, var_list)
            return self.apply_gradients(zip(grads, var_list), global_step, name)
        return self.apply_gradients(self.compute_gradients(loss, var_list, grad_loss=grad_loss), global_step, name)

    def _keras_apply(self, pairs, global_step):
        """Eager mode: apply now."""
        variables = [v for _, v in pairs]
        with g.evaluating():
            if self._keras is None:
                rate = self._learning_rate
                self._keras = self._make_keras(float(rate() if callable(rate) else rate))
            for v in variables:
                for slot, initial in self._slot_specs():
                    self._keras._get_slot(v, slot, initial)
            self._keras.apply_gradients(pairs)
            if global_step is not None:
                global_step.assign_add(1)
        return None


def _evaluate_apply(run, op):
    keras, variables, rate, global_step = op._payload
    grads = g.substitute(op._args[0], run.lookup)
    with autodiff.paused():
        if rate is not None:
            keras._learning_rate.assign(_ops.cast(run.value(rate), dtypes.float32))
        keras.apply_gradients(zip(grads, variables))
        if global_step is not None:
            global_step.assign_add(_ops.ones((), dtype=global_step.dtype))


EVALUATORS["gradients"] = _evaluate_gradients
EVALUATORS["apply"] = _evaluate_apply


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(learning_rate, use_locking, name)

    def _make_keras(self, rate):
        return _keras_optimizers().SGD(rate, name=self._name)


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(learning_rate, use_locking, name)
        self._momentum, self._nesterov = float(momentum), bool(use_nesterov)

    def _make_keras(self, rate):
        return _keras_optimizers().SGD(rate, momentum=self._momentum, nesterov=self._nesterov, name=self._name)

    def _slot_specs(self):
        return [("momentum", 0.0)] if self._momentum else []


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08, use_locking=False, name="Adam"):
        super().__init__(learning_rate, use_locking, name)
        self._beta1, self._beta2, self._epsilon = beta1, beta2, epsilon

    def _make_keras(self, rate):
        return _keras_optimizers().Adam(rate, beta_1=self._beta1, beta_2=self._beta2, epsilon=self._epsilon,
                                        name=self._name)

    def _slot_specs(self):
        return [("momentum", 0.0), ("velocity", 0.0)]


class RMSPropOptimizer(Optimizer):
    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
                 name="RMSProp"):
        super().__init__(learning_rate, use_locking, name)
        self._decay, self._momentum, self._epsilon, self._centered = decay, momentum, epsilon, centered

    def _make_keras(self, rate):
        return _keras_optimizers().RMSprop(rate, rho=self._decay, momentum=self._momentum, epsilon=self._epsilon,
                                           centered=self._centered, name=self._name)

    def _slot_specs(self):
        return ([("velocity", 1.0)] + ([("average_gradient", 0.0)] if self._centered else [])
                + ([("momentum", 0.0)] if self._momentum > 0 else []))


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        super().__init__(learning_rate, use_locking, name)
        self._initial = initial_accumulator_value

    def _make_keras(self, rate):
        return _keras_optimizers().Adagrad(rate, initial_accumulator_value=self._initial, epsilon=0.0,
                                           name=self._name)

    def _slot_specs(self):
        return [("accumulator", self._initial)]


# ---------------------------------------------------------------- global step

_eager_global_step = []


def get_global_step(graph=None):
    if g._active and g.building() or graph is not None:
        return (graph or g.get_default_graph())._global_step
    return _eager_global_step[0] if _eager_global_step else None


def get_or_create_global_step(graph=None):
    """The int64 step counter that `minimize(..., global_step=...)` increments."""
    if g._active and g.building() or graph is not None:
        graph = graph or g.get_default_graph()
        if graph._global_step is None:
            with graph.as_default():
                graph._global_step = g.GraphVariable(0, trainable=False, name="global_step", dtype=dtypes.int64)
        return graph._global_step
    if not _eager_global_step:
        _eager_global_step.append(Variable(0, trainable=False, name="global_step", dtype=dtypes.int64))
    return _eager_global_step[0]


create_global_step = get_or_create_global_step


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """learning_rate * decay_rate ** (global_step / decay_steps) (floored with staircase)."""
    import pykernel as tf
    step = tf.cast(global_step, tf.float32) / float(decay_steps)
    if staircase:
        step = tf.floor(step)
    return tf.multiply(float(learning_rate), tf.pow(float(decay_rate), step), name=name)
