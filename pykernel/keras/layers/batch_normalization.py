"""BatchNormalization: normalize by batch statistics in training, by moving averages otherwise."""
from ... import ops
from ...ops import nn as nn_ops
from .. import initializers, regularizers
from .input_spec import InputSpec
from .layer import Layer


class BatchNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta over the feature `axis`.

    In training (and while the layer is trainable) mean/var are the batch's, and the moving
    averages move toward them: moving = moving * momentum + batch * (1 - momentum).
    Otherwise the moving averages are used. A frozen layer (trainable=False) always runs in
    inference mode, as in Keras.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of range for input "
                             f"shape {tuple(input_shape)}")
        self._axis = self.axis % rank
        dim = input_shape[self._axis]
        shape = (dim,)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self.input_spec = InputSpec(ndim=rank, axes={self._axis: dim})
        # statistics are taken over every axis but the feature axis
        self._reduction_axes = [i for i in range(rank) if i != self._axis]
        self._broadcast_shape = [dim if i == self._axis else 1 for i in range(rank)]

    def _broadcast(self, value):
        if value is None or self._axis == len(self._broadcast_shape) - 1:
            return value  # (dim,) already broadcasts against the last axis
        return ops.reshape(value, self._broadcast_shape)

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable:
            mean, variance = nn_ops.moments(inputs, self._reduction_axes)
            self._update_moving_statistics(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return nn_ops.batch_normalization(
            inputs, self._broadcast(mean), self._broadcast(variance), self._broadcast(self.beta),
            self._broadcast(self.gamma), self.epsilon)

    def _update_moving_statistics(self, mean, variance):
        # the averages are state, not part of the differentiated computation
        mean, variance = ops.stop_gradient(mean), ops.stop_gradient(variance)
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        })
        return config
