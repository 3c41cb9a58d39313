"""Adam (optionally AMSGrad), Keras formulas."""
from ... import dtypes, ops
from .optimizer import Optimizer


def adam_step_size(learning_rate, beta_1, beta_2, step):
    """alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), t counted from 1: the bias correction."""
    return learning_rate * ops.sqrt(1.0 - ops.pow(beta_2, step)) / (1.0 - ops.pow(beta_1, step))


def adam_update(variable, gradient, m, v, v_hat, alpha, beta_1, beta_2, epsilon):
    """One Adam step on tensor values: (new_variable, new_m, new_v, new_v_hat).

    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    variable -= alpha * m / (sqrt(v) + epsilon)
    With AMSGrad (v_hat not None) the running maximum of v replaces v in the denominator.
    """
    m = m + (gradient - m) * (1.0 - beta_1)
    v = v + (ops.square(gradient) - v) * (1.0 - beta_2)
    denominator_v = v
    if v_hat is not None:
        v_hat = ops.maximum(v_hat, v)
        denominator_v = v_hat
    variable = variable - (m * alpha) / (ops.sqrt(denominator_v) + epsilon)
    return variable, m, v, v_hat


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self._alpha = None

    def prepare_step(self, learning_rate):
        step = ops.cast(self.iterations.read_value() + 1, dtypes.float32)
        beta_1 = ops.fill((), float(self.beta_1), dtype=dtypes.float32)
        beta_2 = ops.fill((), float(self.beta_2), dtype=dtypes.float32)
        self._alpha = adam_step_size(ops.cast(learning_rate, dtypes.float32), beta_1, beta_2, step)

    def update_step(self, gradient, variable, learning_rate):
        if self._alpha is None:  # update_step called on its own, outside apply_gradients
            self.prepare_step(learning_rate)
        m = self._get_slot(variable, "momentum")
        v = self._get_slot(variable, "velocity")
        v_hat = self._get_slot(variable, "velocity_hat") if self.amsgrad else None
        alpha = ops.cast(self._alpha, variable.dtype)
        slots = {"momentum": m, "velocity": v}
        if v_hat is not None:
            slots["velocity_hat"] = v_hat
        if self._fused_step("adam", gradient, variable, slots, alpha,
                            {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}):
            return
        new_value, new_m, new_v, new_v_hat = adam_update(
            variable.read_value(), gradient, m.read_value(), v.read_value(),
            None if v_hat is None else v_hat.read_value(), alpha, self.beta_1, self.beta_2, self.epsilon)
        m.assign(new_m)
        v.assign(new_v)
        if v_hat is not None:
            v_hat.assign(new_v_hat)
        variable.assign(new_value)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
