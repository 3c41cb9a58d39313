"""Image warps: TF's ImageProjectiveTransformV3, behind keras.layers.RandomRotation,
RandomTranslation and RandomZoom.

The forward pass is one backend primitive (Backend.affine_warp: one shader on WebGPU).
Its gradient is the VJP of the same warp composed from core ops (`composed_projective_transform`:
floor, where, gather, ...), recomputed only when a tape asks for it: augmentation in front
of a model is never differentiated, a warp inside one is.
"""
from .. import dtypes
from ..autodiff import GradientTape
from ..backends.base import WARP_FILL_MODES, WARP_INTERPOLATIONS
from ..errors import InvalidArgumentError
from .creation import range as _range
from .dispatch import is_recording, record, tensor, wrap
from .elementwise import (equal, floor, greater, greater_equal, is_finite, is_nan, less, less_equal,
                          logical_and, logical_or)
from .math_ops import cast, clip_by_value, where
from .shape import broadcast_to, expand_dims, gather, reshape, split


def projective_transform(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Warp NHWC float `images` by `transforms` (n or 1 rows of 6 or 8 numbers, TF's layout:
    output pixel (x, y) reads input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1). Backend.affine_warp documents the modes."""
    images = tensor(images)
    transforms = _check(images, tensor(transforms), interpolation, fill_mode)
    backend = images.backend
    out = wrap(backend.affine_warp(images._buf, transforms._buf, interpolation, fill_mode, float(fill_value)),
               backend, images.shape, images.dtype)
    if is_recording():
        record((images, transforms), out,
               lambda g: _vjp(images, transforms, g, interpolation, fill_mode, fill_value))
    return out


def _check(images, transforms, interpolation, fill_mode):
    if interpolation not in WARP_INTERPOLATIONS:
        raise InvalidArgumentError(f"interpolation must be one of {WARP_INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in WARP_FILL_MODES:
        raise InvalidArgumentError(f"fill_mode must be one of {WARP_FILL_MODES}, got {fill_mode!r}")
    if images.ndim != 4 or not images.dtype.is_floating:
        raise InvalidArgumentError(f"images must be a float NHWC batch (rank 4), got {images.dtype.name} "
                                   f"{tuple(images.shape)}")
    n = images.shape[0]
    if transforms.ndim != 2 or transforms.shape[1] not in (6, 8) or transforms.shape[0] not in (1, n):
        raise InvalidArgumentError(f"transforms must have shape (1 or {n}, 6 or 8), got {tuple(transforms.shape)}")
    if transforms.backend is not images.backend:
        raise InvalidArgumentError(f"images live on {images.device}, transforms on {transforms.device}")
    return transforms if transforms.dtype is images.dtype else cast(transforms, images.dtype)


def _vjp(images, transforms, g, interpolation, fill_mode, fill_value):
    """Gradients for (images, transforms): the composed warp's, evaluated at the same point."""
    with GradientTape() as tape:
        tape.watch([images, transforms])
        out = composed_projective_transform(images, transforms, interpolation, fill_mode, fill_value)
    return tape.gradient(out, [images, transforms], output_gradients=g)


# ---------------------------------------------------------------- the same warp from core ops

def composed_projective_transform(images, transforms, interpolation="bilinear", fill_mode="constant",
                                  fill_value=0.0):
    """projective_transform from core ops (differentiable; many kernels): the gradient's
    forward pass. Same operations in the same order as base.warp_source / warp_interpolate."""
    n, h, w, _ = images.shape
    dt = images.dtype
    transforms = _check(images, tensor(transforms), interpolation, fill_mode)
    xs = reshape(cast(_range(w), dt), (1, 1, w))
    ys = reshape(cast(_range(h), dt), (1, h, 1))
    t = [reshape(col, (-1, 1, 1)) for col in split(transforms, transforms.shape[1], axis=1)]
    sx = t[0] * xs + t[1] * ys + t[2]  # (rows, h, w)
    sy = t[3] * xs + t[4] * ys + t[5]
    fill = None
    if len(t) == 8:
        k = t[6] * xs + t[7] * ys + 1.0
        fill = equal(k, 0.0)
        k = where(fill, 1.0, k)  # those pixels are filled: keep inf/NaN out of the gradient
        sx, sy = sx / k, sy / k
    sx = _map_coordinates(broadcast_to(sx, (n, h, w)), w, fill_mode)
    sy = _map_coordinates(broadcast_to(sy, (n, h, w)), h, fill_mode)
    undefined = logical_or(is_nan(sx), is_nan(sy))
    fill = undefined if fill is None else logical_or(broadcast_to(fill, (n, h, w)), undefined)
    if fill_mode == "constant":
        fill = logical_or(fill, logical_or(
            logical_or(less(sx, 0.0), greater(sx, w - 1.0)), logical_or(less(sy, 0.0), greater(sy, h - 1.0))))
    sx, sy = where(fill, 0.0, sx), where(fill, 0.0, sy)  # safe indices; filled at the end
    read = _Reader(images, fill_value)
    if interpolation == "nearest":
        out = read(_round_half_away(sy), _round_half_away(sx))
    else:
        x0, y0 = floor(sx), floor(sy)
        wx0, wx1 = expand_dims((x0 + 1.0) - sx, -1), expand_dims(sx - x0, -1)
        top = wx0 * read(y0, x0) + wx1 * read(y0, x0 + 1.0)
        bottom = wx0 * read(y0 + 1.0, x0) + wx1 * read(y0 + 1.0, x0 + 1.0)
        out = expand_dims((y0 + 1.0) - sy, -1) * top + expand_dims(sy - y0, -1) * bottom
    return where(expand_dims(fill, -1), float(fill_value), out)


def _map_coordinates(c, size, fill_mode):
    """base.map_coordinate from ops. floor serves for TF's truncation: every kept branch
    divides a positive number."""
    last = float(size - 1)
    if fill_mode == "constant":
        return c
    if fill_mode != "nearest":
        c = where(is_finite(c), c, float("nan"))
        if size <= 1:
            return where(is_nan(c), c, 0.0)
        if fill_mode == "reflect":
            sz2 = 2.0 * size
            below = sz2 * floor(-c / sz2) + c
            below = where(less(below, -float(size)), below + sz2, -below - 1.0)
            above = c - sz2 * floor(c / sz2)
            above = where(greater_equal(above, float(size)), (sz2 - above) - 1.0, above)
        else:  # wrap
            below = c + float(size) * (floor(-c / (size - 1.0)) + 1.0)
            above = c - float(size) * floor(c / (size - 1.0))
        c = where(less(c, 0.0), below, where(greater(c, last), above, c))
    return clip_by_value(c, 0.0, last)


def _round_half_away(c):
    """std::round for c >= 0 (c - floor(c) is exact)."""
    f = floor(c)
    return where(greater_equal(c - f, 0.5), f + 1.0, f)


class _Reader:
    """Pixels at integer-valued float coordinates (n, h, w) -> (n, h, w, c); fill outside."""

    def __init__(self, images, fill_value):
        n, h, w, c = images.shape
        self.h, self.w, self.fill_value = h, w, float(fill_value)
        self.flat = reshape(images, (n * h * w, c))
        self.row_base = reshape(_range(n, dtype=dtypes.int32) * (h * w), (n, 1, 1))

    def __call__(self, iy, ix):
        inside = logical_and(logical_and(greater_equal(iy, 0.0), less_equal(iy, self.h - 1.0)),
                             logical_and(greater_equal(ix, 0.0), less_equal(ix, self.w - 1.0)))
        iy = clip_by_value(iy, 0.0, self.h - 1.0)
        ix = clip_by_value(ix, 0.0, self.w - 1.0)
        index = self.row_base + cast(iy, dtypes.int32) * self.w + cast(ix, dtypes.int32)
        return where(expand_dims(inside, -1), gather(self.flat, index), self.fill_value)
