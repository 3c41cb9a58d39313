"""Two-class 2-D datasets in the style of the TensorFlow Playground.

    (x_train, y_train), (x_test, y_test) = keras.datasets.playground.load_data("spiral", noise=0.1)

The generators follow playground.tensorflow.org's ``dataset.ts`` (points in about
[-6, 6]^2, "radius 5" scale); the Playground's labels +1/-1 become 1/0 here:

- ``circle``: class 1 is a disc of radius 2.5, class 0 a ring of radius 3.5..5. As in the
  Playground, noise jitters the point used for *labelling* (so noise flips labels near
  the boundary), not the stored point.
- ``xor``: uniform points in [-5, 5]^2 pushed 0.3 away from the axes; class 1 where
  x*y >= 0 (same labelling jitter as ``circle``).
- ``gaussian``: two Gaussian blobs centred at (2, 2) (class 1) and (-2, -2) (class 0);
  noise 0..0.5 maps the variance linearly from 0.5 to 4.
- ``spiral``: two interleaved spirals (1.75 turns, radius 0..5); noise adds uniform
  jitter in [-noise, noise] to both coordinates.

Pure Python (``random.Random(seed)``): the same seed gives the same data everywhere.
NumPy arrays are returned when NumPy is importable, otherwise pykernel tensors.
"""
import math
import numbers
import random

from ._util import numpy_or_none

__all__ = ["DATASETS", "load_data", "generate"]

DATASETS = ("circle", "xor", "gaussian", "spiral")

_RADIUS = 5.0


def _circle(rng, n, noise):
    points = []

    def label(x, y):
        return 1 if math.hypot(x, y) < _RADIUS * 0.5 else 0

    n_pos = n - n // 2
    for i in range(n):
        lo, hi = (0.0, _RADIUS * 0.5) if i < n_pos else (_RADIUS * 0.7, _RADIUS)
        r = rng.uniform(lo, hi)
        angle = rng.uniform(0.0, 2.0 * math.pi)
        x, y = r * math.sin(angle), r * math.cos(angle)
        nx = rng.uniform(-_RADIUS, _RADIUS) * noise
        ny = rng.uniform(-_RADIUS, _RADIUS) * noise
        points.append((x, y, label(x + nx, y + ny)))
    return points


def _xor(rng, n, noise):
    points = []
    padding = 0.3
    for _ in range(n):
        x = rng.uniform(-5.0, 5.0)
        x += padding if x > 0 else -padding
        y = rng.uniform(-5.0, 5.0)
        y += padding if y > 0 else -padding
        nx = rng.uniform(-5.0, 5.0) * noise
        ny = rng.uniform(-5.0, 5.0) * noise
        points.append((x, y, 1 if (x + nx) * (y + ny) >= 0 else 0))
    return points


def _gaussian(rng, n, noise):
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)
    std = math.sqrt(variance)
    points = []
    n_pos = n - n // 2
    for i in range(n):
        c, lbl = (2.0, 1) if i < n_pos else (-2.0, 0)
        points.append((rng.gauss(c, std), rng.gauss(c, std), lbl))
    return points


def _spiral(rng, n, noise):
    points = []
    for count, delta, lbl in ((n - n // 2, 0.0, 1), (n // 2, math.pi, 0)):
        for i in range(count):
            r = i / count * 5.0
            t = 1.75 * i / count * 2.0 * math.pi + delta
            x = r * math.sin(t) + rng.uniform(-1.0, 1.0) * noise
            y = r * math.cos(t) + rng.uniform(-1.0, 1.0) * noise
            points.append((x, y, lbl))
    return points


_GENERATORS = {"circle": _circle, "xor": _xor, "gaussian": _gaussian, "spiral": _spiral}


def _check(name, n_samples, noise, test_split):
    if not isinstance(name, str) or name not in _GENERATORS:
        raise ValueError(f"playground.load_data: unknown dataset name {name!r}; "
                         f"expected one of {', '.join(DATASETS)}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 2:
        raise ValueError(f"playground.load_data: n_samples must be an integer >= 2, got {n_samples!r}")
    if (isinstance(noise, bool) or not isinstance(noise, numbers.Real)
            or not (0.0 <= noise <= 0.5)):
        raise ValueError(f"playground.load_data: noise must be a number in [0, 0.5], got {noise!r}")
    if (isinstance(test_split, bool) or not isinstance(test_split, numbers.Real)
            or not (0.0 <= test_split < 1.0)):
        raise ValueError(f"playground.load_data: test_split must be a number in [0, 1), got {test_split!r}")


def generate(name="circle", n_samples=500, noise=0.0, seed=0):
    """All ``n_samples`` points, shuffled: a list of ``(x, y, label)`` tuples (plain Python)."""
    _check(name, n_samples, noise, 0.0)
    rng = random.Random(seed)
    points = _GENERATORS[name](rng, int(n_samples), float(noise))
    rng.shuffle(points)
    return points


def _arrays(points):
    xs = [[p[0], p[1]] for p in points]
    ys = [p[2] for p in points]
    np = numpy_or_none()
    if np is not None:
        return np.array(xs, dtype=np.float32).reshape(len(points), 2), np.array(ys, dtype=np.int32)
    import pykernel
    return (pykernel.constant(xs, dtype=pykernel.float32, shape=(len(points), 2)),
            pykernel.constant(ys, dtype=pykernel.int32, shape=(len(points),)))


def load_data(name="circle", n_samples=500, noise=0.0, seed=0, test_split=0.5):
    """Generate a 2-D two-class dataset: ``(x_train, y_train), (x_test, y_test)``.

    Args:
      name: one of ``DATASETS`` ("circle", "xor", "gaussian", "spiral").
      n_samples: total number of points (integer >= 2), about half of each class.
      noise: 0..0.5, as the Playground's noise slider (0..50%).
      seed: seed for ``random.Random``; the same seed gives the same data.
      test_split: fraction of the (shuffled) points held out as the test set, in [0, 1).

    Returns:
      ``x`` float32 of shape (n, 2) and ``y`` int32 labels 0/1 of shape (n,) for each
      split: NumPy arrays when NumPy is importable, otherwise pykernel tensors.
    """
    _check(name, n_samples, noise, test_split)
    points = generate(name, n_samples, noise, seed)
    n_test = int(len(points) * float(test_split))
    n_train = len(points) - n_test
    return _arrays(points[:n_train]), _arrays(points[n_train:])
