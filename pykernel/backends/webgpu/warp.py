"""The image warp (Backend.affine_warp): shaders/affine_warp.wgsl, one dispatch per call.

One pipeline per (fill mode, interpolation); sizes, the transform layout and fill_value
travel in the uniform.
"""
import math
import struct

from .elementwise import grid
from .kernels import fill, template

_FILL_MODES = {"reflect": 0, "wrap": 1, "constant": 2, "nearest": 3}  # the shader's FILL_MODE constants


def affine_warp(backend, images, transforms, interpolation, fill_mode, fill_value):
    n, h, w, c = images.shape
    out = backend.empty(images.shape, images.dtype)
    if not out.size:
        return out
    values = dict(FILL_MODE=_FILL_MODES[fill_mode], BILINEAR=str(interpolation == "bilinear").lower())
    pipeline = backend.pipelines.get(("affine_warp",) + tuple(sorted(values.items())),
                                     lambda: fill(template("affine_warp"), **values))
    rows, cols = transforms.shape
    groups, pitch = grid(backend.device, out.size)
    params = struct.pack("<2i5If", h, w, c, out.size, pitch, 0 if rows == 1 else cols, cols, _float32(fill_value))
    backend.device.dispatch(pipeline, [images.handle, transforms.handle, out.handle], params, groups)
    return out


def _float32(value):
    """struct's 'f' refuses values beyond float32's range; they round to infinity."""
    try:
        struct.pack("<f", value)
        return value
    except OverflowError:
        return math.copysign(math.inf, value)
