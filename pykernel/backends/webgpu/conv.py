"""conv2d (NHWC x HWIO) and its input/filter gradients as implicit GEMMs.

All three run the GEMM core of matmul.py with im2col
addressing from shaders/conv2d.wgsl (matmul.FORMS: one pipeline per op):
  forward      M = N*OH*OW, N = O, K = KH*KW*C
  grad_input   M = N*H*W,   N = C, K = KH*KW*O  (dy read where a stride lands on the pixel)
  grad_filter  M = KH*KW*C, N = O, K = N*OH*OW  (few output tiles, long K: split-K)
"""
from .matmul import Operand, gemm


def conv2d(backend, x, w, strides, pads, dilations):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    oh, ow = _out_hw(x.shape, w.shape, strides, pads, dilations)
    ops = (Operand(x, True, runs=c % 4 == 0), Operand(w, o == 1, 1, o, runs=True))
    return _run(backend, "conv2d", ops, (n * oh * ow, o, kh * kw * c), (n, oh, ow, o),
                x.shape, (oh, ow), w.shape, strides, pads, dilations)


def conv2d_grad_input(backend, dy, w, x_shape, strides, pads, dilations):
    n, h, wd, c = x_shape
    kh, kw, _, o = w.shape
    ops = (Operand(dy, True, runs=o % 4 == 0), Operand(w, True, runs=o % 4 == 0))
    return _run(backend, "conv2d_grad_input", ops, (n * h * wd, c, kh * kw * o), tuple(x_shape),
                x_shape, dy.shape[1:3], w.shape, strides, pads, dilations)


def conv2d_grad_filter(backend, x, dy, w_shape, strides, pads, dilations):
    n, h, wd, c = x.shape
    kh, kw, _, o = w_shape
    oh, ow = dy.shape[1:3]
    ops = (Operand(x, c == 1, runs=c % 4 == 0), Operand(dy, o == 1, 1, o, runs=True))
    return _run(backend, "conv2d_grad_filter", ops, (kh * kw * c, o, n * oh * ow), tuple(w_shape),
                x.shape, (oh, ow), w_shape, strides, pads, dilations)


def _run(backend, family, operands, mnk, out_shape, x_shape, out_hw, w_shape, strides, pads, dilations):
    n, h, wd, c = x_shape
    kh, kw, _, o = w_shape
    values = (n, h, wd, c, out_hw[0], out_hw[1], o, kw, strides[0], strides[1],
              dilations[0], dilations[1], pads[0][0], pads[1][0], 0, 0)
    out = gemm(backend, operands, *mnk, dtype=operands[0].array.dtype, form=family, conv=values)
    return backend.reshape(out, out_shape)


def _out_hw(x_shape, w_shape, strides, pads, dilations):
    return tuple((x_shape[1 + i] + pads[i][0] + pads[i][1] - (w_shape[i] - 1) * dilations[i] - 1)
                 // strides[i] + 1 for i in (0, 1))
