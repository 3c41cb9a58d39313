"""The backend primitives as graph nodes: which arguments are buffers, and each one's output
shapes and dtypes (its abstract evaluation), so that tracing needs no computation.

An argument kind string has one letter per positional argument: `b` a buffer, `l` a list of
buffers, `d` a dict of buffers, `a` a static attribute (a Python value). `infer(*args)` gets
the arguments with every buffer replaced by a `Spec` and returns the output Spec, or for
`optimizer_update` the (variable, {slot: Spec}) structure the backend returns.
"""
from .. import dtypes
from ..backends.base import COMPARISON_OPS


class Spec:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = dtype


def _broadcast(*shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        out.append(max(dims) if 1 in dims and len(dims) > 1 else dims.pop())
    return tuple(out)


def _same(x):
    return Spec(x.shape, x.dtype)


def _unary(op, x):
    return Spec(x.shape, dtypes.bool_ if op in COMPARISON_OPS else x.dtype)


def _binary(op, a, b):
    return Spec(_broadcast(a.shape, b.shape), dtypes.bool_ if op in COMPARISON_OPS else a.dtype)


def _reduce(op, x, axes, keepdims):
    axes = set(axes)
    if keepdims:
        return Spec(tuple(1 if i in axes else d for i, d in enumerate(x.shape)), x.dtype)
    return Spec(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)


def _arg_reduce(op, x, axis, dtype):
    return Spec(tuple(d for i, d in enumerate(x.shape) if i != axis), dtype)


def _transpose(x, perm):
    return Spec(tuple(x.shape[p] for p in perm), x.dtype)


def _pad(x, pads, value):
    return Spec(tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads)), x.dtype)


def _concat(xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return Spec(shape, xs[0].dtype)


def _gather(x, indices, axis):
    return Spec(x.shape[:axis] + indices.shape + x.shape[axis + 1:], x.dtype)


def _matmul(a, b, transpose_a, transpose_b):
    m = a.shape[-1] if transpose_a else a.shape[-2]
    n = b.shape[-2] if transpose_b else b.shape[-1]
    return Spec(_broadcast(a.shape[:-2], b.shape[:-2]) + (m, n), a.dtype)


def _window_out(size, k, stride, pads, dilation):
    return (size + pads[0] + pads[1] - (k - 1) * dilation - 1) // stride + 1


def _conv2d(x, w, strides, pads, dilations):
    kh, kw, _, o = w.shape
    return Spec((x.shape[0], _window_out(x.shape[1], kh, strides[0], pads[0], dilations[0]),
                 _window_out(x.shape[2], kw, strides[1], pads[1], dilations[1]), o), x.dtype)


def _pool2d(op, x, ksize, strides, pads):
    return Spec((x.shape[0], _window_out(x.shape[1], ksize[0], strides[0], pads[0], 1),
                 _window_out(x.shape[2], ksize[1], strides[1], pads[1], 1), x.shape[3]), x.dtype)


def _optimizer_update(kind, variable, gradient, slots, rate, hyper):
    return _same(variable), {name: _same(s) for name, s in slots.items()}


# name: (argument kinds, infer)
PRIMITIVES = {
    "unary": ("ab", _unary),
    "binary": ("abb", _binary),
    "where": ("bbb", lambda c, a, b: Spec(_broadcast(c.shape, a.shape, b.shape), a.dtype)),
    "cast": ("ba", lambda x, dtype: Spec(x.shape, dtype)),
    "reduce": ("abaa", _reduce),
    "arg_reduce": ("abaa", _arg_reduce),
    "reshape": ("ba", lambda x, shape: Spec(shape, x.dtype)),
    "transpose": ("ba", _transpose),
    "broadcast_to": ("ba", lambda x, shape: Spec(shape, x.dtype)),
    "strided_slice": ("baaa", lambda x, begin, strides, out_shape: Spec(out_shape, x.dtype)),
    "strided_slice_grad": ("baaa", lambda dy, in_shape, begin, strides: Spec(in_shape, dy.dtype)),
    "pad": ("baa", _pad),
    "concat": ("la", _concat),
    "gather": ("bba", _gather),
    "scatter_add": ("bbaa", lambda updates, indices, axis, shape: Spec(shape, updates.dtype)),
    "matmul": ("bbaa", _matmul),
    "conv2d": ("bbaaa", _conv2d),
    "conv2d_grad_input": ("bbaaaa", lambda dy, w, x_shape, *_: Spec(x_shape, dy.dtype)),
    "conv2d_grad_filter": ("bbaaaa", lambda x, dy, w_shape, *_: Spec(w_shape, x.dtype)),
    "pool2d": ("abaaa", _pool2d),
    "pool2d_grad": ("abbaaa", lambda op, x, dy, *_: _same(x)),
    "optimizer_update": ("abbdba", _optimizer_update),
    "affine_warp": ("bbaaa", lambda images, *_: _same(images)),
}
