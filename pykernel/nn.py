"""tf.nn: activations, convolution, pooling and losses."""
from .ops.elementwise import sigmoid, tanh  # noqa: F401
from .ops.nn import (  # noqa: F401
    avg_pool, avg_pool2d, batch_normalization, bias_add, conv2d, convolution, dropout, elu, gelu,
    l2_loss, l2_normalize, leaky_relu, log_softmax, max_pool, max_pool2d, moments, relu, relu6, selu,
    sigmoid_cross_entropy_with_logits, silu, softmax, softmax_cross_entropy_with_logits, softplus,
    softsign, sparse_softmax_cross_entropy_with_logits, swish,
)
