"""One affine image warp shared by RandomRotation, RandomTranslation and RandomZoom.

Each sample has a transform [a0, a1, a2, b0, b1, b2] mapping an OUTPUT pixel (x, y) to the
INPUT point it is read from: (a0*x + a1*y + a2, b0*x + b1*y + b2) -- the convention of
TF's ImageProjectiveTransform. The warp itself is `ops.image.projective_transform`: one
backend primitive (one shader on WebGPU) with TF's ImageProjectiveTransformV3 semantics,
differentiable through the same warp composed from core ops.
"""
from ... import ops
from ...backends.base import WARP_FILL_MODES, WARP_INTERPOLATIONS
from ...ops.image import projective_transform

FILL_MODES = WARP_FILL_MODES
INTERPOLATIONS = WARP_INTERPOLATIONS


def affine_warp(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Warp NHWC `images` (float) by per-sample `transforms` of shape (batch, 6)."""
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    return projective_transform(images, transforms, interpolation, fill_mode, fill_value)


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
