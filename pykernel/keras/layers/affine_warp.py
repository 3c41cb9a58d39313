"""One affine image warp shared by RandomRotation, RandomTranslation and RandomZoom.

Each sample has a transform [a0, a1, a2, b0, b1, b2] mapping an OUTPUT pixel (x, y) to the
INPUT point it is read from: (a0*x + a1*y + a2, b0*x + b1*y + b2) -- the convention of
TF's ImageProjectiveTransform. The warp is composed from core ops only (floor, where,
floormod, clip, gather on flattened indices), so it runs unchanged on every backend.
"""
from ... import dtypes, ops

FILL_MODES = ("constant", "reflect", "wrap", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def affine_warp(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Warp NHWC `images` (float) by per-sample `transforms` of shape (batch, 6)."""
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    n, h, w, _ = images.shape
    xs = ops.reshape(ops.cast(ops.range(w), images.dtype), (1, 1, w))
    ys = ops.reshape(ops.cast(ops.range(h), images.dtype), (1, h, 1))
    a0, a1, a2, b0, b1, b2 = (ops.reshape(t, (n, 1, 1)) for t in ops.split(transforms, 6, axis=1))
    src_x = a0 * xs + a1 * ys + a2  # (n, h, w) input coordinates of every output pixel
    src_y = b0 * xs + b1 * ys + b2
    sampler = _Sampler(images, fill_mode, fill_value)
    if interpolation == "nearest":
        return sampler(ops.round(src_x), ops.round(src_y))
    x0, y0 = ops.floor(src_x), ops.floor(src_y)
    wx, wy = _channel_axis(src_x - x0), _channel_axis(src_y - y0)
    top = sampler(x0, y0) * (1.0 - wx) + sampler(x0 + 1.0, y0) * wx
    bottom = sampler(x0, y0 + 1.0) * (1.0 - wx) + sampler(x0 + 1.0, y0 + 1.0) * wx
    return top * (1.0 - wy) + bottom * wy


class _Sampler:
    """Reads pixels at integer-valued float coordinates (n, h, w), applying the fill mode."""

    def __init__(self, images, fill_mode, fill_value):
        n, h, w, c = images.shape
        self.h, self.w = h, w
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.flat = ops.reshape(images, (n * h * w, c))
        self.row_base = ops.reshape(ops.range(n, dtype=dtypes.int32) * (h * w), (n, 1, 1))

    def __call__(self, x, y):
        if self.fill_mode == "constant":
            inside = ops.logical_and(
                ops.logical_and(ops.greater_equal(x, 0.0), ops.less_equal(x, self.w - 1.0)),
                ops.logical_and(ops.greater_equal(y, 0.0), ops.less_equal(y, self.h - 1.0)))
        x = _fold(x, self.w, self.fill_mode)
        y = _fold(y, self.h, self.fill_mode)
        index = self.row_base + ops.cast(y, dtypes.int32) * self.w + ops.cast(x, dtypes.int32)
        pixels = ops.gather(self.flat, index)  # (n, h, w, c)
        if self.fill_mode == "constant":
            pixels = ops.where(_channel_axis(inside), pixels, float(self.fill_value))
        return pixels


def _fold(coord, size, fill_mode):
    """Map integer coordinates into [0, size - 1] as the fill mode extends the image."""
    last = size - 1.0
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        m = ops.floormod(coord, 2.0 * size)
        return ops.where(ops.greater_equal(m, float(size)), 2.0 * size - 1.0 - m, m)
    if fill_mode == "wrap":     # a b c d | a b c d | a b c d
        return ops.floormod(coord, float(size))
    return ops.clip_by_value(coord, 0.0, last)  # 'nearest' (and 'constant', masked afterwards)


def _channel_axis(t):
    return ops.expand_dims(t, -1)


# ---------------------------------------------------------------- transforms (batch, 6)

def _stack(columns):
    return ops.stack(columns, axis=1)


def rotation_transforms(angles, height, width):
    """Rotation by `angles` (radians, counter-clockwise as displayed) about the image center."""
    cos, sin = ops.cos(angles), ops.sin(angles)
    x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2.0
    y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2.0
    return _stack([cos, -sin, x_offset, sin, cos, y_offset])


def translation_transforms(dx, dy):
    """Shift the content right by dx and down by dy pixels."""
    one, zero = ops.ones_like(dx), ops.zeros_like(dx)
    return _stack([one, zero, -dx, zero, one, -dy])


def zoom_transforms(zoom_x, zoom_y, height, width):
    """Scale about the center: a zoom above 1 reads a larger area (zooms out)."""
    zero = ops.zeros_like(zoom_x)
    x_offset = ((width - 1.0) / 2.0) * (1.0 - zoom_x)
    y_offset = ((height - 1.0) / 2.0) * (1.0 - zoom_y)
    return _stack([zoom_x, zero, x_offset, zero, zoom_y, y_offset])
