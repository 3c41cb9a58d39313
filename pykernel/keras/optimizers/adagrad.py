"""Adagrad, Keras formulas."""
from ... import ops
from .optimizer import Optimizer


def adagrad_update(variable, gradient, accumulator, learning_rate, epsilon):
    """One Adagrad step on tensor values: (new_variable, new_accumulator).

    accumulator += g^2;  variable -= lr * g / sqrt(accumulator + epsilon)
    """
    accumulator = accumulator + ops.square(gradient)
    return variable - learning_rate * gradient / ops.sqrt(accumulator + epsilon), accumulator


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(f"initial_accumulator_value must be non-negative: {initial_accumulator_value}")
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self._get_slot(variable, "accumulator", self.initial_accumulator_value)
        lr = ops.cast(learning_rate, variable.dtype)
        if self._fused_step("adagrad", gradient, variable, {"accumulator": accumulator}, lr,
                            {"epsilon": self.epsilon}):
            return
        new_value, new_accumulator = adagrad_update(
            variable.read_value(), gradient, accumulator.read_value(), lr, self.epsilon)
        accumulator.assign(new_accumulator)
        variable.assign(new_value)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
