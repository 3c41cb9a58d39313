"""2-D pooling over NHWC images: windowed max/average, and global average/max over H and W."""
from ... import ops
from ...ops import nn as nn_ops
from .conv_utils import check_data_format, normalize_padding, normalize_tuple, output_length
from .input_spec import InputSpec
from .layer import Layer


class _Pooling2D(Layer):
    pool_op = None  # nn_ops.max_pool2d or nn_ops.avg_pool2d

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = check_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return type(self).pool_op(inputs, ksize=self.pool_size, strides=self.strides,
                                  padding=self.padding.upper())

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        oh, ow = (output_length(size, k, self.padding, s) for size, k, s in
                  zip((h, w), self.pool_size, self.strides))
        if (oh is not None and oh <= 0) or (ow is not None and ow <= 0):
            raise ValueError(f"{type(self).__name__} '{self.name}': pool_size {self.pool_size} does not fit "
                             f"the input shape {tuple(input_shape)} with padding='{self.padding}'")
        return (n, oh, ow, c)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                       "data_format": self.data_format})
        return config


class MaxPooling2D(_Pooling2D):
    pool_op = staticmethod(nn_ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    pool_op = staticmethod(nn_ops.avg_pool2d)


class _GlobalPooling2D(Layer):
    reduce_op = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return type(self).reduce_op(inputs, axis=[1, 2], keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        n, _, _, c = input_shape
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling2D(_GlobalPooling2D):
    reduce_op = staticmethod(ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    reduce_op = staticmethod(ops.reduce_max)


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
