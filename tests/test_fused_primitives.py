"""The fused primitives `optimizer_update` and `affine_warp` on the CPU backends.

NumPy (vectorised) against pure Python (base.py's scalar references) bit for bit, the NumPy
primitive against the composed ops it replaces (the Keras optimizer formulas; the warp from
core ops), hand-computed TensorFlow values, the Keras optimizers with fusion on and off,
and the warp's gradient (an adjoint identity, finite differences). Shapes are small and odd.
"""
import itertools
import math

import numpy as np
import pytest

import pykernel as tf
from pykernel import dtypes, keras
from pykernel.backends import base
from pykernel.backends.numpy_backend import NumpyBackend
from pykernel.backends.python_backend import PythonBackend
from pykernel.errors import InvalidArgumentError
from pykernel.keras.optimizers import optimizer as optimizer_module
from pykernel.keras.optimizers.adagrad import adagrad_update
from pykernel.keras.optimizers.adam import adam_update
from pykernel.keras.optimizers.rmsprop import rmsprop_update
from pykernel.keras.optimizers.sgd import sgd_update
from pykernel.ops import image as image_ops
from pykernel.ops import training as training_ops

NB, PB = NumpyBackend(), PythonBackend()
F32, F64 = dtypes.float32, dtypes.float64
SHAPES = [(), (7,), (3, 5, 2)]

# (kind, slots present, hyper): every variant the Keras optimizers use
VARIANTS = [
    ("sgd", (), {"momentum": 0.0, "nesterov": False}),
    ("sgd", ("momentum",), {"momentum": 0.9, "nesterov": False}),
    ("sgd", ("momentum",), {"momentum": 0.7, "nesterov": True}),
    ("adam", ("momentum", "velocity"), {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adam", ("momentum", "velocity", "velocity_hat"), {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("adagrad", ("accumulator",), {"epsilon": 1e-7}),
    ("rmsprop", ("velocity",), {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7}),
    ("rmsprop", ("velocity", "average_gradient"), {"rho": 0.8, "momentum": 0.0, "epsilon": 1e-7}),
    ("rmsprop", ("velocity", "momentum"), {"rho": 0.9, "momentum": 0.5, "epsilon": 1e-7}),
    ("rmsprop", ("velocity", "average_gradient", "momentum"), {"rho": 0.9, "momentum": 0.5, "epsilon": 1e-6}),
]
VARIANT_IDS = [f"{k}-{'+'.join(s) or 'plain'}{'-nesterov' if h.get('nesterov') else ''}" for k, s, h in VARIANTS]


def _same_bits(a, b):
    """Equal arrays, NaN == NaN and the sign of zero included."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    assert same.all(), f"differ at {np.argwhere(~same)[:5].tolist()}: {a[~same][:5]} vs {b[~same][:5]}"
    assert (np.signbit(a) == np.signbit(b))[~np.isnan(a)].all(), "sign of zero differs"


def _py(arr, dtype):
    arr = np.asarray(arr, dtype.name)
    return PB.from_list(arr.reshape(-1).tolist(), arr.shape, dtype)


def _state(kind, names, shape, dtype, rng):
    """A plausible optimizer state: variable, gradient, slots (non-negative where they are
    running averages of squares, the centered average small enough to keep sqrt real)."""
    v = rng.normal(size=shape).astype(dtype.name)
    g = rng.normal(size=shape).astype(dtype.name)
    slots = {}
    for name in names:
        if name in ("velocity", "velocity_hat", "accumulator"):
            slots[name] = rng.uniform(0.5, 2.0, size=shape).astype(dtype.name)
        elif name == "average_gradient":
            slots[name] = rng.uniform(-0.5, 0.5, size=shape).astype(dtype.name)
        else:
            slots[name] = rng.normal(size=shape).astype(dtype.name)
    return v, g, slots


# ---------------------------------------------------------------- optimizer_update

@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind, names, hyper", VARIANTS, ids=VARIANT_IDS)
def test_optimizer_update_numpy_and_python_agree_bit_for_bit(kind, names, hyper, dtype):
    rng = np.random.default_rng(3)
    for shape in SHAPES:
        v, g, slots = _state(kind, names, shape, dtype, rng)
        rate = np.asarray(0.037, dtype.name)
        pv, pslots = _py(v, dtype), {k: _py(s, dtype) for k, s in slots.items()}
        for step in range(3):  # chained steps: each feeds its results to the next
            g = rng.normal(size=shape).astype(dtype.name)
            v, slots = NB.optimizer_update(kind, v, g, slots, rate, hyper)
            pv, pslots = PB.optimizer_update(kind, pv, _py(g, dtype), pslots, _py(rate, dtype), hyper)
            _same_bits(PB.to_numpy(pv), v)
            assert set(pslots) == set(slots) == set(names)
            for name in names:
                _same_bits(PB.to_numpy(pslots[name]), slots[name])
            assert v.dtype == np.dtype(dtype.name)


def _composed(kind, names, hyper, v, g, slots, rate):
    """The composed Keras formulas (keras/optimizers/*.py) on tensors."""
    t = {k: tf.constant(x) for k, x in slots.items()}
    v, g, rate = tf.constant(v), tf.constant(g), tf.constant(rate)
    if kind == "sgd":
        new_v, m = sgd_update(v, g, t.get("momentum"), rate, hyper["momentum"], hyper["nesterov"])
        return new_v, {"momentum": m} if m is not None else {}
    if kind == "adam":
        new_v, m, u, u_hat = adam_update(v, g, t["momentum"], t["velocity"], t.get("velocity_hat"), rate,
                                         hyper["beta_1"], hyper["beta_2"], hyper["epsilon"])
        return new_v, {"momentum": m, "velocity": u, "velocity_hat": u_hat}
    if kind == "adagrad":
        new_v, a = adagrad_update(v, g, t["accumulator"], rate, hyper["epsilon"])
        return new_v, {"accumulator": a}
    new_v, u, avg, buf = rmsprop_update(v, g, t["velocity"], t.get("average_gradient"), t.get("momentum"), rate,
                                        hyper["rho"], hyper["momentum"], hyper["epsilon"])
    return new_v, {"velocity": u, "average_gradient": avg, "momentum": buf}


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind, names, hyper", VARIANTS, ids=VARIANT_IDS)
def test_optimizer_update_is_the_composed_formula_bit_for_bit(kind, names, hyper, dtype):
    rng = np.random.default_rng(5)
    for shape in SHAPES:
        v, g, slots = _state(kind, names, shape, dtype, rng)
        rate = np.asarray(0.01, dtype.name)
        fused_v, fused_slots = NB.optimizer_update(kind, v, g, slots, rate, hyper)
        composed_v, composed_slots = _composed(kind, names, hyper, v, g, slots, rate)
        _same_bits(fused_v, composed_v.numpy())
        for name in names:
            _same_bits(fused_slots[name], composed_slots[name].numpy())


def test_optimizer_update_matches_hand_computed_keras_values():
    """One float64 step of each formula, written out with the Keras/TF expressions."""
    v, g, lr = np.array([0.5, -2.0]), np.array([0.25, 3.0]), np.array(0.1)
    new, slots = NB.optimizer_update("sgd", v, g, {"momentum": np.array([1.0, -1.0])}, lr,
                                     {"momentum": 0.9, "nesterov": True})
    m = np.array([0.9 * 1.0 - 0.1 * 0.25, 0.9 * -1.0 - 0.1 * 3.0])  # m = mu*m - lr*g
    np.testing.assert_allclose(slots["momentum"], m, rtol=1e-15)
    np.testing.assert_allclose(new, v + 0.9 * m - 0.1 * g, rtol=1e-15)  # nesterov
    # Adam from zero state at t = 1: alpha = lr * sqrt(1 - b2) / (1 - b1), epsilon outside the sqrt
    alpha = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    new, slots = NB.optimizer_update("adam", v, g, {"momentum": np.zeros(2), "velocity": np.zeros(2),
                                                    "velocity_hat": np.array([0.0, 100.0])},
                                     np.array(alpha), {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7})
    m, u = 0.1 * g, 0.001 * g * g
    np.testing.assert_allclose(slots["momentum"], m, rtol=1e-15)
    np.testing.assert_allclose(slots["velocity"], u, rtol=1e-15)
    np.testing.assert_allclose(slots["velocity_hat"], [u[0], 100.0], rtol=1e-15)  # AMSGrad: running max
    np.testing.assert_allclose(new, v - alpha * m / (np.sqrt([u[0], 100.0]) + 1e-7), rtol=1e-15)
    # Adagrad: epsilon inside the sqrt
    new, slots = NB.optimizer_update("adagrad", v, g, {"accumulator": np.full(2, 0.1)}, lr, {"epsilon": 1e-7})
    np.testing.assert_allclose(new, v - 0.1 * g / np.sqrt(0.1 + g * g + 1e-7), rtol=1e-15)
    # centered RMSprop with momentum
    new, slots = NB.optimizer_update("rmsprop", v, g, {"velocity": np.ones(2), "average_gradient": np.zeros(2),
                                                       "momentum": np.ones(2)}, lr,
                                     {"rho": 0.9, "momentum": 0.5, "epsilon": 1e-7})
    u, avg = 0.9 + 0.1 * g * g, 0.1 * g
    np.testing.assert_allclose(slots["momentum"], 0.5 + 0.1 * g / np.sqrt(u - avg * avg + 1e-7), rtol=1e-14)
    np.testing.assert_allclose(new, v - slots["momentum"], rtol=1e-15)


def test_optimizer_update_leaves_its_inputs_alone():
    """Fresh buffers out: a Variable's snapshot read before the step keeps its value."""
    w = tf.Variable([1.0, 2.0, 3.0])
    before = w.read_value()
    opt = keras.optimizers.Adam(0.1)
    opt.apply_gradients([(tf.constant([1.0, -1.0, 0.5]), w)])
    np.testing.assert_array_equal(before.numpy(), [1.0, 2.0, 3.0])
    assert not np.array_equal(w.numpy(), [1.0, 2.0, 3.0])


def test_optimizer_update_validates_its_arguments():
    v = tf.constant([1.0, 2.0])
    rate = tf.constant(0.1)
    with pytest.raises(InvalidArgumentError, match="adam takes slots"):
        training_ops.optimizer_update("adam", v, v, {"momentum": v}, rate, {})
    with pytest.raises(InvalidArgumentError, match="unknown kind"):
        training_ops.optimizer_update("adamax", v, v, {}, rate, {})
    with pytest.raises(InvalidArgumentError, match="gradient"):
        training_ops.optimizer_update("sgd", v, tf.constant([1.0, 2.0, 3.0]), {}, rate, {})
    with pytest.raises(InvalidArgumentError, match="rate must be a scalar"):
        training_ops.optimizer_update("sgd", v, v, {}, tf.constant([0.1]), {})


# ---------------------------------------------------------------- the Keras optimizers, fused vs composed

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "sgd-momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9, clipnorm=1.0),
    "sgd-nesterov": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5), momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.01])),
    "adamw-amsgrad": lambda: keras.optimizers.Adam(0.05, amsgrad=True, weight_decay=0.1, clipvalue=0.5),
    "adagrad": lambda: keras.optimizers.Adagrad(0.3, global_clipnorm=2.0),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop-centered-momentum": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
}


def _train(make, dtype, fused, monkeypatch, steps=5):
    """Variables, slots and the optimizer after `steps` updates on two odd-shaped variables."""
    monkeypatch.setattr(optimizer_module, "FUSED_UPDATES", fused)
    rng = np.random.default_rng(11)
    ws = [tf.Variable(rng.normal(size=s).astype(dtype)) for s in [(3, 5), (7,)]]
    opt = make()
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.add_n([tf.reduce_sum(tf.sin(w) * w * w) for w in ws])
        opt.apply_gradients(zip(tape.gradient(loss, ws), ws))
    return [w.numpy() for w in ws] + [v.numpy() for v in opt.variables]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_keras_optimizers_fused_equal_composed_bit_for_bit(name, dtype, monkeypatch):
    fused = _train(OPTIMIZERS[name], dtype, True, monkeypatch)
    composed = _train(OPTIMIZERS[name], dtype, False, monkeypatch)
    assert len(fused) == len(composed)
    for a, b in zip(fused, composed):
        _same_bits(a, b)


def test_keras_optimizers_route_dense_float_updates_through_the_primitive(monkeypatch):
    calls = []
    backend = tf.constant(0.0).backend
    real = type(backend).optimizer_update

    def spy(self, kind, *args):
        calls.append(kind)
        return real(self, kind, *args)
    monkeypatch.setattr(type(backend), "optimizer_update", spy)
    w = tf.Variable([1.0, 2.0])
    for name in ("sgd-nesterov", "adam", "adagrad", "rmsprop-centered-momentum"):
        OPTIMIZERS[name]().apply_gradients([(tf.constant([0.5, -0.5]), w)])
    assert calls == ["sgd", "adam", "adagrad", "rmsprop"]
    calls.clear()
    monkeypatch.setattr(optimizer_module, "FUSED_UPDATES", False)
    keras.optimizers.Adam().apply_gradients([(tf.constant([0.5, -0.5]), w)])
    assert calls == []


def test_fusion_applies_only_to_matching_dense_float_tensors():
    fusable = optimizer_module._fusable
    w32, w64 = tf.Variable([1.0, 2.0]), tf.Variable(np.array([1.0, 2.0]))
    g32, lr32 = tf.constant([0.1, 0.2]), tf.constant(0.1)
    assert fusable(w32, g32, lr32)
    assert fusable(w64, tf.constant(np.array([0.1, 0.2])), tf.constant(np.float64(0.1)))
    assert not fusable(w32, tf.constant([0.1]), lr32)            # broadcasting gradient
    assert not fusable(w32, g32, tf.constant([0.1]))             # non-scalar rate
    assert not fusable(tf.Variable([1, 2]), tf.constant([1, 2]), tf.constant(1))  # integers
    assert not fusable(w64, g32, lr32)                           # dtype mismatch


# ---------------------------------------------------------------- affine_warp

INTERPOLATIONS = base.WARP_INTERPOLATIONS
FILL_MODES = base.WARP_FILL_MODES
CASES = list(itertools.product(INTERPOLATIONS, FILL_MODES))


def _transforms(rng, rows, cols, h, w, dtype="float32"):
    """Rotations/zooms/shears about the centre plus shifts of up to 1.5 image sizes (points
    far outside, on every side), and for 8 columns a mild perspective."""
    angle = rng.uniform(-math.pi, math.pi, rows)
    scale = rng.uniform(0.5, 2.0, (rows, 2))
    a0, a1 = scale[:, 0] * np.cos(angle), -scale[:, 0] * np.sin(angle)
    b0, b1 = scale[:, 1] * np.sin(angle), scale[:, 1] * np.cos(angle)
    a2 = (w - 1) / 2 - a0 * (w - 1) / 2 - a1 * (h - 1) / 2 + rng.uniform(-1.5, 1.5, rows) * w
    b2 = (h - 1) / 2 - b0 * (w - 1) / 2 - b1 * (h - 1) / 2 + rng.uniform(-1.5, 1.5, rows) * h
    t = np.stack([a0, a1, a2, b0, b1, b2], axis=1)
    if cols == 8:
        t = np.concatenate([t, rng.uniform(-0.03, 0.03, (rows, 2))], axis=1)
    return t.astype(dtype)


def _special_transforms(h, w):
    """Edge cases: identity, k == 0 at a pixel, NaN and infinite points, huge shifts,
    half-pixel shifts (rounding ties), exact integer points on the far border."""
    rows = [
        [1, 0, 0, 0, 1, 0, 0, 0],
        [1, 0, 0, 0, 1, 0, -1.0 / 2, 0],                 # k = 0 in column x = 2
        [np.nan, 0, 0, 0, 1, 0, 0, 0],
        [1, 0, np.inf, 0, 1, -np.inf, 0, 0],
        [1, 0, 1e6 + 0.25, 0, -1, -3e5, 0, 0],
        [1, 0, 0.5, 0, 1, -0.5, 0, 0],
        [-1, 0, w - 1, 0, -1, h - 1, 0, 0],              # a 180-degree turn: exact integer points
        [2, 0, -(w - 1), 0, 0.5, h / 3, 0, 0],
    ]
    return np.array(rows, "float32")


def _warp_inputs(rng, n, h, w, c, dtype="float32"):
    return rng.uniform(-1, 1, (n, h, w, c)).astype(dtype)


@pytest.mark.parametrize("cols", [6, 8])
@pytest.mark.parametrize("interpolation, fill_mode", CASES)
def test_affine_warp_numpy_and_python_agree_bit_for_bit(interpolation, fill_mode, cols):
    rng = np.random.default_rng(17)
    for (n, h, w, c), dtype in [((3, 5, 7, 2), F32), ((2, 1, 4, 3), F32), ((2, 6, 1, 1), F32), ((2, 4, 3, 2), F64)]:
        images = _warp_inputs(rng, n, h, w, c, dtype.name)
        for t in (_transforms(rng, n, cols, h, w, dtype.name), _transforms(rng, 1, cols, h, w, dtype.name)):
            got = NB.affine_warp(images, t, interpolation, fill_mode, 0.25)
            _same_bits(PB.to_numpy(PB.affine_warp(_py(images, dtype), _py(t, dtype), interpolation, fill_mode, 0.25)),
                       got)
    images = _warp_inputs(rng, 8, 5, 6, 2)
    t = _special_transforms(5, 6)[:, :cols]
    got = NB.affine_warp(images, t, interpolation, fill_mode, -0.5)
    _same_bits(PB.to_numpy(PB.affine_warp(_py(images, F32), _py(t, F32), interpolation, fill_mode, -0.5)), got)
    assert np.isfinite(got).all()


@pytest.mark.parametrize("cols", [6, 8])
@pytest.mark.parametrize("interpolation, fill_mode", CASES)
def test_affine_warp_is_the_composed_warp_bit_for_bit(interpolation, fill_mode, cols):
    rng = np.random.default_rng(19)
    images = tf.constant(_warp_inputs(rng, 4, 9, 7, 3))
    for t in (_transforms(rng, 4, cols, 9, 7), _transforms(rng, 1, cols, 9, 7)):
        fused = image_ops.projective_transform(images, t, interpolation, fill_mode, 0.75)
        composed = image_ops.composed_projective_transform(images, t, interpolation, fill_mode, 0.75)
        _same_bits(fused.numpy(), composed.numpy())


def _previous_warp(images, transforms, interpolation, fill_mode):
    """The warp affine_warp.py composed before the primitive: each integer neighbour folded
    into the image on its own (reflect / nearest only)."""
    n, h, w, c = images.shape
    xs = tf.reshape(tf.cast(tf.range(w), tf.float32), (1, 1, w))
    ys = tf.reshape(tf.cast(tf.range(h), tf.float32), (1, h, 1))
    a0, a1, a2, b0, b1, b2 = (tf.reshape(t, (n, 1, 1)) for t in tf.split(transforms, 6, axis=1))
    src_x, src_y = a0 * xs + a1 * ys + a2, b0 * xs + b1 * ys + b2
    flat = tf.reshape(images, (n * h * w, c))
    base_index = tf.reshape(tf.range(n, dtype=tf.int32) * (h * w), (n, 1, 1))

    def fold(coord, size):
        if fill_mode == "reflect":
            m = tf.math.floormod(coord, 2.0 * size)
            return tf.where(m >= size, 2.0 * size - 1.0 - m, m)
        return tf.clip_by_value(coord, 0.0, size - 1.0)

    def sample(x, y):
        index = base_index + tf.cast(fold(y, h), tf.int32) * w + tf.cast(fold(x, w), tf.int32)
        return tf.gather(flat, index)
    if interpolation == "nearest":
        return sample(tf.round(src_x), tf.round(src_y))
    x0, y0 = tf.floor(src_x), tf.floor(src_y)
    wx, wy = tf.expand_dims(src_x - x0, -1), tf.expand_dims(src_y - y0, -1)
    top = sample(x0, y0) * (1.0 - wx) + sample(x0 + 1.0, y0) * wx
    bottom = sample(x0, y0 + 1.0) * (1.0 - wx) + sample(x0 + 1.0, y0 + 1.0) * wx
    return top * (1.0 - wy) + bottom * wy


@pytest.mark.parametrize("interpolation, fill_mode", list(itertools.product(INTERPOLATIONS, ("reflect", "nearest"))))
def test_reflect_and_nearest_warps_agree_with_the_previous_composition(interpolation, fill_mode):
    """The layers' default (reflect) keeps its pixels: TF's map-then-interpolate order equals
    the old fold-every-neighbour order up to rounding there. (constant and wrap follow TF now:
    constant fills any point off the image, wrap keeps TF's size - 1 quirk.)"""
    rng = np.random.default_rng(31)
    images = tf.constant(_warp_inputs(rng, 6, 11, 13, 2))
    t = _transforms(rng, 6, 6, 11, 13)
    t[:, [2, 5]] += 0.123  # keep source points off the .5 ties, where the roundings differ
    new = image_ops.projective_transform(images, t, interpolation, fill_mode).numpy()
    np.testing.assert_allclose(new, _previous_warp(images, tf.constant(t), interpolation, fill_mode).numpy(),
                               rtol=0, atol=2e-6)


def test_map_coordinate_matches_tensorflow():
    """Values worked out by hand from TF's MapCoordinate (image_ops.h), quirks included."""
    def m(c, size, mode):
        return base.map_coordinate(c, size, mode, float)
    assert [m(c, 4, "reflect") for c in (-1.25, -0.5, 5.5, 9.0, -9.5, 1.5)] == [0.25, 0.0, 1.5, 1.0, 0.5, 1.5]
    # wrap divides by size - 1 but shifts by size, then clamps: -3 -> 5 -> 3 (a true wrap gives 1),
    # and 3.5 -> -0.5 -> 0
    assert [m(c, 4, "wrap") for c in (-1.0, 4.5, -3.0, 3.5, 2.0)] == [3.0, 0.5, 3.0, 0.0, 2.0]
    assert [m(c, 4, "nearest") for c in (-2.0, 7.0, 1.25)] == [0.0, 3.0, 1.25]
    assert [m(c, 1, mode) for c in (-3.0, 2.0) for mode in ("reflect", "wrap")] == [0.0] * 4
    assert m(-7.5, 4, "constant") == -7.5


@pytest.mark.parametrize("backend", [NB, PB], ids=["numpy", "python"])
def test_affine_warp_matches_hand_computed_tensorflow_values(backend):
    row = np.array([[[[1.0], [2.0], [4.0]]]], "float32")  # one 1x3 image
    shift = np.array([[1, 0, 0.5, 0, 1, 0]], "float32")  # reads x + 0.5
    images = backend.from_numpy(row, F32)

    def warp(t, interpolation, fill_mode, fill_value=-1.0):
        out = backend.affine_warp(images, backend.from_numpy(np.array(t, "float32"), F32), interpolation,
                                  fill_mode, fill_value)
        return backend.to_numpy(out).reshape(-1).tolist()
    # bilinear halfway between pixels; the last pixel reads 2.5: outside -> fill (constant), folded back to
    # 2 (reflect: 2.5 stays, then clamps), wrapped to -0.5 -> 0 (wrap), clamped (nearest)
    assert warp(shift, "bilinear", "constant") == [1.5, 3.0, -1.0]
    assert warp(shift, "bilinear", "reflect") == [1.5, 3.0, 4.0]
    assert warp(shift, "bilinear", "wrap") == [1.5, 3.0, 1.0]
    assert warp(shift, "bilinear", "nearest") == [1.5, 3.0, 4.0]
    # nearest rounds half away from zero (std::round): 0.5 -> 1, 1.5 -> 2
    assert warp(shift, "nearest", "nearest") == [2.0, 4.0, 4.0]
    # constant fill for any point outside [0, w - 1], even a tiny step outside the border
    assert warp([[1, 0, -0.01, 0, 1, 0]], "bilinear", "constant") == [-1.0, pytest.approx(1.99), pytest.approx(3.98)]
    # projective: k = 1 - x/2 is 0 at x = 2 -> fill; x = 1 reads 1 / 0.5 = 2
    assert warp([[1, 0, 0, 0, 1, 0, -0.5, 0]], "bilinear", "nearest") == [1.0, 4.0, -1.0]
    # one transform row serves the whole batch
    batch = backend.from_numpy(np.concatenate([row, 2 * row]), F32)
    out = backend.affine_warp(batch, backend.from_numpy(shift, F32), "bilinear", "reflect", 0.0)
    assert backend.to_numpy(out).reshape(2, 3).tolist() == [[1.5, 3.0, 4.0], [3.0, 6.0, 8.0]]


def test_affine_warp_gradient_is_the_adjoint():
    """The warp is linear in the images: <warp(x), y> == <x, d/dx <warp(x), y>> for every mode."""
    rng = np.random.default_rng(23)
    for interpolation, fill_mode in CASES:
        x = tf.constant(rng.normal(size=(2, 6, 5, 3)))  # float64: the identity holds to 1e-12
        y = tf.constant(rng.normal(size=(2, 6, 5, 3)))
        t = tf.constant(_transforms(rng, 2, 8, 6, 5, "float64"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = image_ops.projective_transform(x, t, interpolation, fill_mode, 0.0)
            inner = tf.reduce_sum(out * y)
        grad = tape.gradient(inner, x)
        assert float(inner) == pytest.approx(float(tf.reduce_sum(x * grad)), rel=1e-12, abs=1e-12)


def test_affine_warp_transform_gradient_matches_finite_differences():
    """d/d(transform) where the warp is smooth: reflect and nearest are continuous, and these
    coefficients put no source point on an integer (bilinear's kinks)."""
    rng = np.random.default_rng(29)
    x = tf.constant(rng.normal(size=(1, 6, 7, 2)))
    y = tf.constant(rng.normal(size=(1, 6, 7, 2)))
    t0 = np.array([[0.913, -0.317, 1.371, 0.253, 1.097, -0.419, 0.0113, -0.0197]])
    for fill_mode in ("reflect", "nearest"):
        def f(t):
            return float(tf.reduce_sum(image_ops.projective_transform(x, tf.constant(t), "bilinear", fill_mode) * y))
        t = tf.constant(t0)
        with tf.GradientTape() as tape:
            tape.watch(t)
            value = tf.reduce_sum(image_ops.projective_transform(x, t, "bilinear", fill_mode) * y)
        grad = tape.gradient(value, t).numpy()[0]
        eps = 1e-6
        for j in range(8):
            d = np.zeros_like(t0)
            d[0, j] = eps
            assert grad[j] == pytest.approx((f(t0 + d) - f(t0 - d)) / (2 * eps), rel=1e-5, abs=1e-5)


def test_affine_warp_validates_its_arguments():
    x = tf.zeros((2, 3, 3, 1))
    with pytest.raises(InvalidArgumentError, match="fill_mode"):
        image_ops.projective_transform(x, tf.zeros((2, 6)), "bilinear", "mirror")
    with pytest.raises(InvalidArgumentError, match="transforms must have shape"):
        image_ops.projective_transform(x, tf.zeros((3, 6)))
    with pytest.raises(InvalidArgumentError, match="float NHWC"):
        image_ops.projective_transform(tf.zeros((3, 3, 1)), tf.zeros((1, 6)))


def test_augmentation_layers_warp_through_the_primitive(monkeypatch):
    calls = []
    backend = tf.constant(0.0).backend
    real = type(backend).affine_warp

    def spy(self, *args):
        calls.append(args[2:4])
        return real(self, *args)
    monkeypatch.setattr(type(backend), "affine_warp", spy)
    x = np.random.default_rng(0).uniform(size=(4, 9, 11, 3)).astype("float32")
    for layer in (keras.layers.RandomRotation(0.2, seed=1), keras.layers.RandomZoom(0.3, fill_mode="constant"),
                  keras.layers.RandomTranslation(0.2, 0.2, interpolation="nearest", fill_mode="wrap")):
        assert layer(x, training=True).shape == x.shape
    assert calls == [("bilinear", "reflect"), ("bilinear", "constant"), ("nearest", "wrap")]
