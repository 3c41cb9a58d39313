"""SGD with optional (Nesterov) momentum, Keras formulas."""
from ... import ops
from .optimizer import Optimizer


def sgd_update(variable, gradient, velocity, learning_rate, momentum, nesterov):
    """One SGD step on tensor values: (new_variable, new_velocity).

    velocity = momentum * velocity - lr * g
    plain:    variable + velocity
    nesterov: variable + momentum * velocity - lr * g
    Without momentum: variable - lr * g (velocity is None).
    """
    step = gradient * learning_rate
    if velocity is None:
        return variable - step, None
    velocity = velocity * momentum - step
    if nesterov:
        return variable + (velocity * momentum - step), velocity
    return variable + velocity, velocity


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        velocity = self._get_slot(variable, "momentum") if self.momentum != 0 else None
        slots = {} if velocity is None else {"momentum": velocity}
        if self._fused_step("sgd", gradient, variable, slots, lr,
                            {"momentum": self.momentum, "nesterov": self.nesterov}):
            return
        new_value, new_velocity = sgd_update(
            variable.read_value(), gradient, None if velocity is None else velocity.read_value(), lr,
            self.momentum, self.nesterov)
        if velocity is not None:
            velocity.assign(new_velocity)
        variable.assign(new_value)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
