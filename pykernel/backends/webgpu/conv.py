"""conv2d (NHWC x HWIO) and its input/filter gradients as implicit GEMMs.

All three run the GEMM core of matmul.py with im2col addressing from shaders/conv2d.wgsl:
  forward      M = N*OH*OW, N = O, K = KH*KW*C
  grad_input   M = N*H*W,   N = C, K = KH*KW*O  (dy read where a stride lands on the pixel)
  grad_filter  M = KH*KW*C, N = O, K = N*OH*OW  (few output tiles, long K: split-K)
"""
from .kernels import template
from .matmul import Operand, gemm

FIELDS = """    batch: i32, in_h: i32, in_w: i32, in_c: i32,
    out_h: i32, out_w: i32, out_c: i32, k_w: i32,
    stride_h: i32, stride_w: i32, dil_h: i32, dil_w: i32,
    pad_t: i32, pad_l: i32, _c0: i32, _c1: i32,"""


def conv2d(backend, x, w, strides, pads, dilations):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    oh, ow = _out_hw(x.shape, w.shape, strides, pads, dilations)
    ops = (Operand(x, "im2col(m, k)", True, c), Operand(w, "k * p.out_c + n", False, o))
    return _run(backend, "conv2d", ops, (n * oh * ow, o, kh * kw * c), (n, oh, ow, o),
                x.shape, (oh, ow), w.shape, strides, pads, dilations)


def conv2d_grad_input(backend, dy, w, x_shape, strides, pads, dilations):
    n, h, wd, c = x_shape
    kh, kw, _, o = w.shape
    ops = (Operand(dy, "col2im(m, k)", True, o), Operand(w, "filter_t(n, k)", True, o))
    return _run(backend, "conv2d_grad_input", ops, (n * h * wd, c, kh * kw * o), tuple(x_shape),
                x_shape, dy.shape[1:3], w.shape, strides, pads, dilations)


def conv2d_grad_filter(backend, x, dy, w_shape, strides, pads, dilations):
    n, h, wd, c = x.shape
    kh, kw, _, o = w_shape
    oh, ow = dy.shape[1:3]
    ops = (Operand(x, "im2col(k, m)", False, c), Operand(dy, "k * p.out_c + n", False, o))
    return _run(backend, "conv2d_grad_filter", ops, (kh * kw * c, o, n * oh * ow), tuple(w_shape),
                x.shape, (oh, ow), w_shape, strides, pads, dilations)


def _run(backend, family, operands, mnk, out_shape, x_shape, out_hw, w_shape, strides, pads, dilations):
    n, h, wd, c = x_shape
    kh, kw, _, o = w_shape
    values = (n, h, wd, c, out_hw[0], out_hw[1], o, kw, strides[0], strides[1],
              dilations[0], dilations[1], pads[0][0], pads[1][0], 0, 0)
    out = gemm(backend, operands, *mnk, dtype=operands[0].array.dtype, family=(family,),
               fields=FIELDS, field_values=values, helpers=template("conv2d"))
    return backend.reshape(out, out_shape)


def _out_hw(x_shape, w_shape, strides, pads, dilations):
    return tuple((x_shape[1 + i] + pads[i][0] + pads[i][1] - (w_shape[i] - 1) * dilations[i] - 1)
                 // strides[i] + 1 for i in (0, 1))
