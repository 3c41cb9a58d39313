"""RMSprop (optionally centered, with momentum), Keras formulas."""
from ... import ops
from .optimizer import Optimizer


def rmsprop_update(variable, gradient, velocity, average_gradient, momentum_buffer, learning_rate, rho,
                   momentum, epsilon):
    """One RMSprop step on tensor values: (new_variable, new_velocity, new_average_gradient, new_momentum).

    velocity = rho * velocity + (1 - rho) * g^2
    centered: average_gradient = rho * average_gradient + (1 - rho) * g, and
              denominator = velocity - average_gradient^2 + epsilon; else velocity + epsilon
    increment = lr * g / sqrt(denominator)
    with momentum: buffer = momentum * buffer + increment; variable -= buffer
    otherwise:     variable -= increment
    """
    velocity = rho * velocity + (1.0 - rho) * ops.square(gradient)
    if average_gradient is not None:
        average_gradient = rho * average_gradient + (1.0 - rho) * gradient
        denominator = velocity - ops.square(average_gradient) + epsilon
    else:
        denominator = velocity + epsilon
    increment = learning_rate * gradient / ops.sqrt(denominator)
    if momentum_buffer is not None:
        momentum_buffer = momentum * momentum_buffer + increment
        return variable - momentum_buffer, velocity, average_gradient, momentum_buffer
    return variable - increment, velocity, average_gradient, None


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name="rmsprop",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def update_step(self, gradient, variable, learning_rate):
        velocity = self._get_slot(variable, "velocity")
        average = self._get_slot(variable, "average_gradient") if self.centered else None
        buffer = self._get_slot(variable, "momentum") if self.momentum > 0 else None
        lr = ops.cast(learning_rate, variable.dtype)
        slots = {"velocity": velocity}
        slots.update({} if average is None else {"average_gradient": average})
        slots.update({} if buffer is None else {"momentum": buffer})
        if self._fused_step("rmsprop", gradient, variable, slots, lr,
                            {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}):
            return
        new_value, new_velocity, new_average, new_buffer = rmsprop_update(
            variable.read_value(), gradient, velocity.read_value(),
            None if average is None else average.read_value(), None if buffer is None else buffer.read_value(),
            lr, self.rho, self.momentum, self.epsilon)
        velocity.assign(new_velocity)
        if average is not None:
            average.assign(new_average)
        if buffer is not None:
            buffer.assign(new_buffer)
        variable.assign(new_value)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
