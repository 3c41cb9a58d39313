"""The fused kernels (shaders/optimizer_update.wgsl, shaders/affine_warp.wgsl) against NumPy:
the primitives at odd sizes spanning many workgroups, chained Keras optimizer steps with
schedules, the augmentation layers and the warp's gradient on webgpu, and the dispatch
count of an Adam step (printed, before and after fusion)."""
import itertools
import math

import numpy as np
import pytest

import pykernel as tf
from pykernel import dtypes, keras
from pykernel.backends import base
from pykernel.keras.optimizers import optimizer as optimizer_module
from pykernel.ops.image import projective_transform

from .conftest import assert_close, upload

F32 = dtypes.float32
SHAPE = (37, 71)  # 2627 elements: 11 workgroups of 256, the last one partly idle
VARIANTS = [
    ("sgd", (), {"momentum": 0.0, "nesterov": False}),
    ("sgd", ("momentum",), {"momentum": 0.9, "nesterov": False}),
    ("sgd", ("momentum",), {"momentum": 0.9, "nesterov": True}),
    ("adam", ("momentum", "velocity"), {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adam", ("momentum", "velocity", "velocity_hat"), {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.05}),
    ("adagrad", ("accumulator",), {"epsilon": 0.05}),
    ("rmsprop", ("velocity",), {"rho": 0.9, "momentum": 0.0, "epsilon": 0.05}),
    ("rmsprop", ("velocity", "average_gradient", "momentum"), {"rho": 0.9, "momentum": 0.5, "epsilon": 0.05}),
]  # large epsilons where it matters: its placement (inside or outside the sqrt) shows


@pytest.mark.parametrize("kind, names, hyper", VARIANTS,
                         ids=[f"{k}-{'+'.join(s) or 'plain'}{'-nesterov' if h.get('nesterov') else ''}"
                              for k, s, h in VARIANTS])
def test_optimizer_update_matches_numpy_over_chained_steps(gpu, ref, kind, names, hyper):
    """Five steps, each feeding the last one's variable and slots back, with a changing rate."""
    rng = np.random.default_rng(41)
    v = rng.normal(size=SHAPE).astype(np.float32)
    slots = {name: (rng.uniform(0.5, 2.0, SHAPE) if name in ("velocity", "velocity_hat", "accumulator")
                    else rng.uniform(-0.3, 0.3, SHAPE)).astype(np.float32) for name in names}
    gv, gslots = upload(gpu, v), {name: upload(gpu, s) for name, s in slots.items()}
    for step in range(5):
        g = rng.normal(size=SHAPE).astype(np.float32)
        rate = np.asarray(0.05 / (step + 1), np.float32)
        v, slots = ref.optimizer_update(kind, v, g, slots, rate, hyper)
        gv, gslots = gpu.optimizer_update(kind, gv, upload(gpu, g), gslots, upload(gpu, rate), hyper)
    assert set(gslots) == set(names)
    assert_close(gpu, gv, v, rtol=1e-5, atol=1e-6)
    for name in names:
        assert_close(gpu, gslots[name], slots[name], rtol=1e-5, atol=1e-6)


def test_optimizer_update_of_an_empty_variable(gpu):
    empty = upload(gpu, np.zeros((0, 3), np.float32))
    value, slots = gpu.optimizer_update("sgd", empty, empty, {"momentum": empty}, upload(gpu, np.float32(0.1)),
                                        {"momentum": 0.9})
    assert value.shape == slots["momentum"].shape == (0, 3)


OPTIMIZERS = {
    "sgd-momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "sgd-nesterov-schedule": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.7), momentum=0.9, nesterov=True),
    "adam-schedule": lambda: keras.optimizers.Adam(
        keras.optimizers.schedules.PiecewiseConstantDecay([3], [0.05, 0.01])),
    "adam-amsgrad-clipnorm": lambda: keras.optimizers.Adam(0.02, amsgrad=True, clipnorm=1.0),
    "rmsprop-centered-momentum": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
}


def _optimize(on_device, device, make, steps=6):
    """Variables and slots after `steps` updates of two variables (odd sizes, several
    workgroups) with fixed gradients per step, on `device`."""
    rng = np.random.default_rng(43)
    starts = [rng.normal(size=s).astype(np.float32) for s in [(33, 17), (301,)]]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in starts] for _ in range(steps)]
    with on_device(device):
        ws = [tf.Variable(w) for w in starts]
        opt = make()
        for step in range(steps):
            opt.apply_gradients(zip([tf.constant(g) for g in grads[step]], ws))
        assert all(w.value().device == ("WebGPU:0" if device == "webgpu" else "CPU:0") for w in ws)
        return [w.numpy() for w in ws] + [v.numpy() for v in opt.variables]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_keras_optimizer_steps_on_webgpu_match_cpu(gpu, on_device, name):
    got = _optimize(on_device, "webgpu", OPTIMIZERS[name])
    want = _optimize(on_device, "cpu", OPTIMIZERS[name])
    assert len(got) == len(want)
    # Adam's bias correction 1 - beta_2^t cancels: the GPU's pow differs from NumPy's in the
    # last bit there, which shows at 1e-5 in the variables (the composed ops differ alike)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=3e-5)


def _adam_step_dispatches(gpu, on_device, monkeypatch, fused, widths):
    """Dispatches queued by one Adam apply_gradients (the third step) of an MLP 20 -> widths -> 10."""
    monkeypatch.setattr(optimizer_module, "FUSED_UPDATES", fused)
    rng = np.random.default_rng(47)
    x = rng.normal(size=(16, 20)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    with on_device("webgpu"):
        model = keras.Sequential([keras.Input((20,))] + [keras.layers.Dense(u, activation="relu") for u in widths]
                                 + [keras.layers.Dense(10)])
        opt = keras.optimizers.Adam(1e-3)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(tf.constant(x)))
            grads = tape.gradient(loss, model.trainable_variables)
            counted = []
            real = gpu.device.dispatch
            monkeypatch.setattr(gpu.device, "dispatch", lambda *a: (counted.append(1), real(*a))[1])
            opt.apply_gradients(zip(grads, model.trainable_variables))
            monkeypatch.setattr(gpu.device, "dispatch", real)
    return len(counted), len(model.trainable_variables)


def test_an_adam_step_is_one_dispatch_per_variable(gpu, on_device, monkeypatch):
    """Per variable: 1 dispatch fused (12 composed); the rest is shared per step (the
    bias-corrected step size, the iteration count)."""
    fused_small, vars_small = _adam_step_dispatches(gpu, on_device, monkeypatch, True, [32])
    fused_big, vars_big = _adam_step_dispatches(gpu, on_device, monkeypatch, True, [32, 24, 16])
    composed_small, _ = _adam_step_dispatches(gpu, on_device, monkeypatch, False, [32])
    composed_big, _ = _adam_step_dispatches(gpu, on_device, monkeypatch, False, [32, 24, 16])
    per_variable_fused = (fused_big - fused_small) / (vars_big - vars_small)
    per_variable_composed = (composed_big - composed_small) / (vars_big - vars_small)
    print(f"\nAdam step, MLP 20-32-10 ({vars_small} variables): {composed_small} dispatches composed, "
          f"{fused_small} fused; 20-32-24-16-10 ({vars_big} variables): {composed_big} composed, {fused_big} fused; "
          f"per variable {per_variable_composed:g} composed, {per_variable_fused:g} fused")
    assert per_variable_fused == 1
    assert per_variable_composed >= 10
    assert fused_small - vars_small == fused_big - vars_big  # the shared part does not grow


WARP_CASES = list(itertools.product(base.WARP_INTERPOLATIONS, base.WARP_FILL_MODES, (6, 8)))


def _warp_transforms(rng, rows, cols, h, w):
    """Rotations, anisotropic zooms and shifts of up to an image size, a mild perspective."""
    angle = rng.uniform(-math.pi, math.pi, rows)
    scale = rng.uniform(0.6, 1.6, (rows, 2))
    a0, a1 = scale[:, 0] * np.cos(angle), -scale[:, 0] * np.sin(angle)
    b0, b1 = scale[:, 1] * np.sin(angle), scale[:, 1] * np.cos(angle)
    a2 = (w - 1) / 2 - a0 * (w - 1) / 2 - a1 * (h - 1) / 2 + rng.uniform(-1, 1, rows) * w
    b2 = (h - 1) / 2 - b0 * (w - 1) / 2 - b1 * (h - 1) / 2 + rng.uniform(-1, 1, rows) * h
    t = np.stack([a0, a1, a2, b0, b1, b2] + ([rng.uniform(-0.01, 0.01, rows)] * 2 if cols == 8 else []), axis=1)
    return t.astype(np.float32)


@pytest.mark.parametrize("interpolation, fill_mode, cols", WARP_CASES)
def test_affine_warp_matches_numpy(gpu, ref, interpolation, fill_mode, cols):
    """(3, 37, 29, 3): 9657 outputs, 38 workgroups; per-image transforms and one shared row."""
    rng = np.random.default_rng(53)
    images = rng.uniform(-1, 1, (3, 37, 29, 3)).astype(np.float32)
    for rows in (3, 1):
        t = _warp_transforms(rng, rows, cols, 37, 29)
        want = ref.affine_warp(images, t, interpolation, fill_mode, 0.5)
        got = gpu.to_numpy(gpu.affine_warp(upload(gpu, images), upload(gpu, t), interpolation, fill_mode, 0.5))
        if interpolation == "bilinear":
            # source points of up to ~60 pixels carry ~1e-5 of rounding (the GPU may fuse a*x + b)
            np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)
        else:  # a whole pixel apart only where rounding moved a point across a .5 boundary
            assert (got == want).mean() > 0.999


def test_affine_warp_edge_cases_match_numpy(gpu, ref):
    """k == 0, exact integer points (a 180-degree turn), half-pixel shifts, 1-pixel images."""
    rng = np.random.default_rng(59)
    t = np.array([[1, 0, 0, 0, 1, 0, -0.5, 0], [-1, 0, 6, 0, -1, 4, 0, 0], [1, 0, 0.5, 0, 1, -0.5, 0, 0],
                  [1, 0, 3e4, 0, 1, -2e4, 0, 0]], np.float32)
    for shape in [(4, 5, 7, 2), (4, 1, 7, 1), (4, 5, 1, 3)]:
        images = rng.uniform(-1, 1, shape).astype(np.float32)
        rows = t if shape[1:3] == (5, 7) else (t * [1, 1, 0, 1, 1, 0, 1, 1]).astype(np.float32)  # sized for 5x7
        for interpolation, fill_mode in itertools.product(base.WARP_INTERPOLATIONS, base.WARP_FILL_MODES):
            want = ref.affine_warp(images, rows, interpolation, fill_mode, -2.0)
            got = gpu.affine_warp(upload(gpu, images), upload(gpu, rows), interpolation, fill_mode, -2.0)
            assert_close(gpu, got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: keras.layers.RandomRotation(0.3, seed=3),
    lambda: keras.layers.RandomTranslation(0.3, 0.2, fill_mode="wrap", seed=3),
    lambda: keras.layers.RandomZoom((-0.4, 0.4), fill_mode="constant", interpolation="nearest", seed=3),
    lambda: keras.layers.RandomZoom(0.3, 0.2, fill_mode="nearest", seed=3),
], ids=["rotation", "translation-wrap", "zoom-constant-nearest", "zoom-nearest"])
def test_augmentation_layers_on_webgpu_match_cpu(gpu, on_device, make):
    """Seeded random streams are identical on both devices, so are the warps."""
    x = np.random.default_rng(61).uniform(0, 1, (5, 19, 23, 3)).astype(np.float32)
    out = {}
    for device in ("cpu", "webgpu"):
        with on_device(device):
            tf.random.set_seed(7)
            out[device] = make()(tf.constant(x), training=True).numpy()
    assert not np.allclose(out["cpu"], x)
    close = np.isclose(out["webgpu"], out["cpu"], rtol=0, atol=2e-4)
    assert close.mean() > 0.999


def test_warp_gradient_on_webgpu_matches_cpu(gpu, on_device):
    """A warp inside a differentiated computation: images and transforms get gradients."""
    rng = np.random.default_rng(67)
    x0 = rng.normal(size=(2, 11, 9, 2)).astype(np.float32)
    t0 = _warp_transforms(rng, 2, 8, 11, 9)
    grads = {}
    for device in ("cpu", "webgpu"):
        with on_device(device):
            x, t = tf.Variable(x0), tf.Variable(t0)
            with tf.GradientTape() as tape:
                out = projective_transform(x * x, t, "bilinear", "reflect")
                loss = tf.reduce_sum(out * out)
            grads[device] = [g.numpy() for g in tape.gradient(loss, [x, t])]
    for a, b in zip(grads["webgpu"], grads["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
