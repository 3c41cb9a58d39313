"""2-D max/avg pooling (NHWC) and its gradient: shaders/pool2d.wgsl and pool2d_grad.wgsl.

Channels are read as vec4 when C % 4 == 0 (one 16-byte load per window cell). The max
gradient is two dispatches: the first maximal cell of every window (pool2d's argmax mode),
then a gather per input cell over the windows containing it; no atomics anywhere.
"""
import struct

from ... import dtypes
from .elementwise import HELPERS, grid
from .kernels import fill, reject_int64, template, wgsl_type

_LOWEST = {"f32": "-bitcast<f32>(p.inf_bits)", "i32": "bitcast<i32>(0x80000000u)", "u32": "0u"}


def pool2d(backend, op, x, ksize, strides, pads):
    reject_int64(x.dtype, "pooling")
    n, h, w, c = x.shape
    oh, ow = _out_hw(x.shape, ksize, strides, pads)
    out = backend.empty((n, oh, ow, c), x.dtype)
    _window_pass(backend, op, x, out, ksize, strides, pads)
    return out


def pool2d_grad(backend, op, x, dy, ksize, strides, pads):
    reject_int64(x.dtype, "pooling")
    if x.size and not dy.size:
        return backend.full(x.shape, 0, dy.dtype)
    out = backend.empty(x.shape, dy.dtype)
    if not x.size:
        return out
    width = _width(x.shape[3])
    vt = _vec(wgsl_type(dy.dtype), width)
    inputs = [dy]
    if op == "max":
        first = backend.empty(dy.shape, dtypes.int32)
        _window_pass(backend, "argmax", x, first, ksize, strides, pads)
        inputs.append(first)
        bindings = (f"@group(0) @binding(2) var<storage, read> first: array<{_vec('i32', width)}>;\n"
                    f"@group(0) @binding(3) var<storage, read_write> out: array<{vt}>;")
        accumulate = (f"            g = g + select({vt}(0.0), dy[o], first[o] == {_vec('i32', width)}"
                      f"(ky * p.kw + kx));")
    else:
        bindings = f"@group(0) @binding(2) var<storage, read_write> out: array<{vt}>;"
        accumulate = ("            g = g + dy[o] / f32(span(oy * p.sh - p.pt, p.kh, p.h) * "
                      "span(ox * p.sw - p.pl, p.kw, p.w));")
    values = dict(VT=vt, BINDINGS=bindings, ACCUMULATE=accumulate)
    pipeline = backend.pipelines.get(("pool2d_grad",) + tuple(sorted(values.items())),
                                     lambda: fill(template("pool2d_grad"), **values))
    groups, pitch = grid(backend.device, x.size // width)
    params = _params(x.shape, dy.shape[1:3], ksize, strides, pads, width, x.size // width, pitch)
    backend.device.dispatch(pipeline, [a.handle for a in inputs] + [out.handle], params, groups)
    return out


def _window_pass(backend, mode, x, out, ksize, strides, pads):
    if not out.size:
        return
    width = _width(x.shape[3])
    kind = wgsl_type(x.dtype)
    vt = _vec(kind, width)
    if kind == "f32":
        is_nan = HELPERS["is_nan"] if width == 1 else (
            "fn is_nan(x: vec4<f32>) -> vec4<bool> {\n"
            "    return (bitcast<vec4<u32>>(x) & vec4(0x7fffffffu)) > vec4(0x7f800000u);\n}")
    else:
        is_nan = f"fn is_nan(x: {vt}) -> {_vec('bool', width)} {{ return {_vec('bool', width)}(false); }}"
    lowest = f"{vt}({_LOWEST[kind]})"
    if mode == "max":
        init = f"    var m = {lowest};"
        visit = ("            let v = inp[cell];\n"
                 "            m = select(select(max(m, v), v, is_nan(v)), m, is_nan(m));")
        result, out_vt = "m", vt
    elif mode == "avg":
        init = f"    var s = {vt}(0);\n    var count = 0;"
        visit = "            s = s + inp[cell];\n            count = count + 1;"
        result, out_vt = f"s / {kind}(count)", vt
    else:  # argmax: the cell max-pool's gradient goes to
        ivt = _vec("i32", width)
        init = f"    var best = {lowest};\n    var first = {ivt}(-1);"
        # NumPy pads with -inf and takes the first maximum, NaN first of all
        visit = (f"            var v = {lowest};\n            if (valid) {{ v = inp[cell]; }}\n"
                 f"            let take = (first < {ivt}(0)) | (is_nan(v) & !is_nan(best)) | (v > best);\n"
                 f"            best = select(best, v, take);\n"
                 f"            first = select(first, {ivt}(at), take);")
        result, out_vt = "first", ivt
    values = dict(VT=vt, OUT_VT=out_vt, SKIP_PADDING=str(mode != "argmax").lower(), DECLS=is_nan,
                  INIT=init, VISIT=visit, RESULT=result)
    pipeline = backend.pipelines.get(("pool2d",) + tuple(sorted(values.items())),
                                     lambda: fill(template("pool2d"), **values))
    total = out.size // width
    groups, pitch = grid(backend.device, total)
    params = _params(x.shape, out.shape[1:3], ksize, strides, pads, width, total, pitch)
    backend.device.dispatch(pipeline, [x.handle, out.handle], params, groups)


def _out_hw(shape, ksize, strides, pads):
    return tuple((shape[1 + a] + pads[a][0] + pads[a][1] - ksize[a]) // strides[a] + 1 for a in (0, 1))


def _width(channels):
    return 4 if channels % 4 == 0 else 1


def _vec(kind, width):
    return kind if width == 1 else f"vec4<{kind}>"


def _params(x_shape, out_hw, ksize, strides, pads, width, total, pitch):
    n, h, w, c = x_shape
    return struct.pack("<12i4I", n, h, w, c // width, out_hw[0], out_hw[1], ksize[0], ksize[1],
                       strides[0], strides[1], pads[0][0], pads[1][0], total, pitch, 0x7f800000, 0)
