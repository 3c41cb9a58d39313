"""The backend interface: the few primitives every op in `pykernel.ops` is built from.

A backend owns opaque *buffers*. A buffer knows its shape and dtype and lives on the
backend's device (a NumPy array here, a GPU buffer for WebGPU). Primitives never read
a buffer back to Python: the only sync points are `to_list`, `to_numpy` and `item`.
Shapes are tuples of ints, dtypes are `pykernel.dtypes.DType`. Arguments are validated
by the op layer before a primitive is called, so primitives may assume they are sane.

Elementwise primitives broadcast like NumPy. Gradients are not a backend concern.
"""

UNARY_OPS = (
    "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "tanh", "sigmoid", "erf",
    "sin", "cos", "floor", "ceil", "round", "reciprocal", "logical_not", "isnan", "isfinite",
)
BINARY_OPS = (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "floordiv", "mod",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or",
)
COMPARISON_OPS = frozenset(
    ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
     "logical_and", "logical_or", "logical_not", "isnan", "isfinite"))
REDUCE_OPS = ("sum", "max", "min", "prod", "any", "all")
ARG_REDUCE_OPS = ("argmax", "argmin")
POOL_OPS = ("max", "avg")


class Backend:
    """Abstract backend. `name` is the device kind ('cpu', 'webgpu')."""

    name = "abstract"
    device_name = "abstract:0"

    # -- transfer (host <-> device); reading back is a sync point --
    def from_list(self, flat, shape, dtype):
        """Buffer from a flat Python list of numbers, row-major."""
        raise NotImplementedError

    def from_bytes(self, data, shape, dtype):
        """Buffer from raw little-endian bytes (bytes, memoryview, array.array)."""
        raise NotImplementedError

    def from_numpy(self, array, dtype):
        raise NotImplementedError

    def to_list(self, x):
        """Flat row-major Python list of the buffer's values."""
        raise NotImplementedError

    def to_numpy(self, x):
        raise NotImplementedError

    def shape(self, x):
        raise NotImplementedError

    def dtype(self, x):
        raise NotImplementedError

    # -- creation --
    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, delta, count, dtype):
        """[start, start + delta, ...] with `count` elements."""
        raise NotImplementedError

    def random_uniform(self, shape, key, offset):
        """float32 uniforms in [0, 1) from a counter-based generator (Philox-4x32-10).

        `key` is two uint32s, `offset` a uint64 stream position: element i is word i % 4
        of the Philox block for counter (i // 4, offset_lo, offset_hi, 0), turned into a
        float as (word >> 8) * 2**-24. Every backend gives the same stream, bit for bit.
        """
        raise NotImplementedError

    # -- elementwise --
    def unary(self, op, x):
        raise NotImplementedError

    def binary(self, op, a, b):
        """Broadcasting binary op; comparisons and logical ops give bool."""
        raise NotImplementedError

    def where(self, cond, a, b):
        raise NotImplementedError

    def cast(self, x, dtype):
        raise NotImplementedError

    # -- reductions --
    def reduce(self, op, x, axes, keepdims):
        raise NotImplementedError

    def arg_reduce(self, op, x, axis, dtype):
        raise NotImplementedError

    # -- movement (copies or views; buffers are never mutated in place) --
    def reshape(self, x, shape):
        raise NotImplementedError

    def transpose(self, x, perm):
        raise NotImplementedError

    def broadcast_to(self, x, shape):
        raise NotImplementedError

    def strided_slice(self, x, begin, strides, out_shape):
        """out[i0, i1, ...] = x[begin0 + i0*strides0, ...]; strides may be negative."""
        raise NotImplementedError

    def strided_slice_grad(self, dy, in_shape, begin, strides):
        """Zeros of `in_shape` with `dy` written where `strided_slice` read from."""
        raise NotImplementedError

    def pad(self, x, pads, value):
        """pads: ((before, after), ...) per axis, non-negative."""
        raise NotImplementedError

    def concat(self, xs, axis):
        raise NotImplementedError

    def gather(self, x, indices, axis):
        """out = x.take(indices, axis); indices is an int buffer of any rank."""
        raise NotImplementedError

    def scatter_add(self, updates, indices, axis, shape):
        """Zeros of `shape`, then out[.., indices[j], ..] += updates[.., j, ..] (gather's adjoint)."""
        raise NotImplementedError

    # -- linear algebra and convolution --
    def matmul(self, a, b, transpose_a, transpose_b):
        """Batched matmul of rank >= 2 buffers; batch dims broadcast."""
        raise NotImplementedError

    def conv2d(self, x, w, strides, pads, dilations):
        """NHWC input, HWIO filter; pads ((top, bottom), (left, right))."""
        raise NotImplementedError

    def conv2d_grad_input(self, dy, w, x_shape, strides, pads, dilations):
        raise NotImplementedError

    def conv2d_grad_filter(self, x, dy, w_shape, strides, pads, dilations):
        raise NotImplementedError

    def pool2d(self, op, x, ksize, strides, pads):
        """'max' or 'avg' pooling, NHWC; padded cells never win a max and are not
        counted in an average (TensorFlow's SAME semantics)."""
        raise NotImplementedError

    def pool2d_grad(self, op, x, dy, ksize, strides, pads):
        """Max: dy goes to the first maximal cell of each window. Avg: spread evenly."""
        raise NotImplementedError
