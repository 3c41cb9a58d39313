"""Conv2D: 2-D convolution over NHWC images (channels last)."""
from ... import ops
from ...ops import nn as nn_ops
from .. import activations, initializers, regularizers
from .conv_utils import check_data_format, normalize_padding, normalize_tuple, output_length
from .input_spec import InputSpec
from .layer import Layer


class Conv2D(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a positive integer. "
                             f"Received: filters={filters!r}")
        if groups != 1:
            raise NotImplementedError("Conv2D: groups != 1 is not supported in pykernel")
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = check_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` is incompatible with `dilation_rate > 1`: received "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.groups = groups
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs to Conv2D '{self.name}' must be known; "
                             f"received input_shape={tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        x = nn_ops.conv2d(inputs, self.kernel, strides=self.strides, padding=self.padding.upper(),
                          dilations=self.dilation_rate)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        oh, ow = (output_length(size, k, self.padding, s, d) for size, k, s, d in
                  zip((h, w), self.kernel_size, self.strides, self.dilation_rate))
        if (oh is not None and oh <= 0) or (ow is not None and ow <= 0):
            raise ValueError(f"Conv2D '{self.name}': kernel_size {self.kernel_size} does not fit the input "
                             f"shape {tuple(input_shape)} with padding='{self.padding}'")
        return (n, oh, ow, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "groups": self.groups, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": None if self.kernel_regularizer is None
            else regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": None if self.bias_regularizer is None
            else regularizers.serialize(self.bias_regularizer),
        })
        return config
