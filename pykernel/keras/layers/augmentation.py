"""Random image augmentation layers: active in training, the identity at inference.

RandomFlip mirrors; RandomRotation, RandomTranslation and RandomZoom each draw a random
affine transform per sample and apply it with the shared `affine_warp`. As in Keras, the
layers augment when called directly (their `training` defaults to True); inside a model,
`fit` runs them with training=True and `predict`/`evaluate` with training=False.
"""
import math

from ... import dtypes, ops
from ...ops import random as random_ops
from .affine_warp import (FILL_MODES, INTERPOLATIONS, affine_warp, rotation_transforms,
                          translation_transforms, zoom_transforms)
from .input_spec import InputSpec
from .layer import Layer


def _factor_range(factor, name, bound=None):
    """(lower, upper) from a float f (meaning (-f, f)) or a pair."""
    if isinstance(factor, (int, float)):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        if len(factor) != 2:
            raise ValueError(f"`{name}` must be a float or a tuple of two floats. Received: {name}={factor!r}")
        lower, upper = float(factor[0]), float(factor[1])
    if upper < lower:
        raise ValueError(f"`{name}` lower bound {lower} is larger than its upper bound {upper}")
    if bound is not None and (abs(lower) > bound or abs(upper) > bound):
        raise ValueError(f"`{name}` must lie in [-{bound}, {bound}]. Received: {name}={factor!r}")
    return lower, upper


class _ImageAugmentation(Layer):
    """Shared plumbing: batch or single images in, the same shape out; skip when not training."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        single = inputs.ndim == 3
        images = ops.expand_dims(inputs, 0) if single else inputs
        out = self.augment(images)
        return ops.squeeze(out, [0]) if single else out

    def augment(self, images):
        raise NotImplementedError

    def _uniform(self, batch, lower, upper):
        return random_ops.uniform((batch,), lower, upper, dtype=dtypes.float32, seed=self.seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class RandomFlip(_ImageAugmentation):
    """Mirror each image with probability 1/2 along the chosen axes."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}; "
                             f"expected one of {self.MODES}")
        self.mode = mode

    def augment(self, images):
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            images = self._flip_some(images, axis=2)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            images = self._flip_some(images, axis=1)
        return images

    def _flip_some(self, images, axis):
        n = images.shape[0]
        chosen = ops.less(random_ops.uniform((n, 1, 1, 1), seed=self.seed), 0.5)
        return ops.where(chosen, ops.reverse(images, [axis]), images)

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _AffineAugmentation(_ImageAugmentation):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode!r}. Only {FILL_MODES} are supported.")
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation!r}. Only {INTERPOLATIONS} "
                                      "are supported.")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def augment(self, images):
        transforms = self.transforms(images.shape[0], images.shape[1], images.shape[2])
        return affine_warp(images, transforms, self.interpolation, self.fill_mode, self.fill_value)

    def transforms(self, batch, height, width):
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomRotation(_AffineAugmentation):
    """Rotate by a random angle in [lower, upper] * 2*pi; positive is counter-clockwise."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._range = _factor_range(factor, "factor")

    def transforms(self, batch, height, width):
        lower, upper = self._range
        angles = self._uniform(batch, lower * 2.0 * math.pi, upper * 2.0 * math.pi)
        return rotation_transforms(angles, height, width)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomTranslation(_AffineAugmentation):
    """Shift by random fractions of the height and width (positive: down / right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height_range = _factor_range(height_factor, "height_factor", bound=1.0)
        self._width_range = _factor_range(width_factor, "width_factor", bound=1.0)

    def transforms(self, batch, height, width):
        dy = self._uniform(batch, *self._height_range) * float(height)
        dx = self._uniform(batch, *self._width_range) * float(width)
        return translation_transforms(dx, dy)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomZoom(_AffineAugmentation):
    """Zoom by 1 + a random factor per axis: positive zooms out, negative zooms in.

    Without `width_factor` the aspect ratio is kept (one zoom for both axes)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height_range = _factor_range(height_factor, "height_factor", bound=1.0)
        self._width_range = None if width_factor is None else _factor_range(width_factor, "width_factor", 1.0)

    def transforms(self, batch, height, width):
        zoom_y = 1.0 + self._uniform(batch, *self._height_range)
        zoom_x = zoom_y if self._width_range is None else 1.0 + self._uniform(batch, *self._width_range)
        return zoom_transforms(zoom_x, zoom_y, height, width)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
