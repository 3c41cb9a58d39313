"""tf.function traced == eager on the CPU backends ("numpy", the reference, and "python", the
pure-Python one): forward values and gradients op by op (checked against torch too), Keras
fit/evaluate/predict traced vs run_eagerly=True, fresh random numbers at every replay, the
graph API, the errors for reading a traced tensor, and flat memory over 500 replayed steps.

Every traced result is compared with the same Python run eagerly, at two different inputs
per trace, so a graph that froze its first call's values (or computed anything differently
from the eager ops) fails. Python-backend cases are kept small: that backend is slow.
"""
import json
import math
import os
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import pykernel as tf
from pykernel import backends, keras
from pykernel.backends.numpy_backend import NumpyBackend
from pykernel.backends.python_backend import PythonBackend
from pykernel.errors import OperatorNotAllowedInGraphError
from pykernel.graph import Function
from pykernel.keras.models import data_adapter
from keras_helpers import TracingCounts, seeded  # noqa: F401  (seeded: an autouse fixture)

try:
    import torch
except ImportError:   # the [test] extra installs it; without it only the torch checks are skipped
    torch = None

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ["numpy", "python"]
_BACKEND_CLASS = {"numpy": NumpyBackend, "python": PythonBackend}
RTOL, ATOL = 1e-5, 1e-6   # traced vs eager: the same primitives, replayed
REF_RTOL, REF_ATOL = 1e-4, 1e-5   # eager float32 vs torch float64


# ---------------------------------------------------------------- device selection

@pytest.fixture(params=BACKENDS)
def device(request):
    """The backend new tensors (and Keras weights) go to, selected by tf.config.set_device:
    'numpy' is the default cpu device, 'python' the pure-Python backend registered for the test."""
    name = request.param
    added = False
    if name == "python" and "python" not in backends.available():
        backends.register("python", PythonBackend)
        added = True
    previous = backends._default_name
    tf.config.set_device("cpu" if name == "numpy" else "python")
    assert isinstance(backends.default(), _BACKEND_CLASS[name])
    try:
        yield name
    finally:
        backends.set_default(previous or "cpu")
        if added:   # list_physical_devices() and the like must not see it in later tests
            backends._factories.pop("python", None)
            backends._instances.pop("python", None)


def on_backend(t, name):
    assert isinstance(t.backend, _BACKEND_CLASS[name]), type(t.backend).__name__


def values(t):
    return np.asarray(t.numpy(), dtype=np.float64)


# ---------------------------------------------------------------- ops: traced == eager == torch

def _same_pad(x, k, s, value=0.0):
    """torch.nn.functional.pad amounts for TF's SAME padding (NCHW input, k and s per (h, w))."""
    pads = []
    for size, kk, ss in zip(x.shape[2:], k, s):
        out = -(-size // ss)
        total = max((out - 1) * ss + kk - size, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return torch.nn.functional.pad(x, (left, right, top, bottom), value=value)


def _nhwc(fn):
    """A torch NCHW op applied to an NHWC tensor."""
    return lambda x, *rest: fn(x.permute(0, 3, 1, 2), *rest).permute(0, 2, 3, 1)


def _uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def _away_from_zero(rng, shape):
    x = _uniform(rng, shape, 0.2, 2.0)
    return x * np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _positive(rng, shape):
    return _uniform(rng, shape, 0.5, 2.0)


def _one_hot_soft(rng, shape):
    p = rng.random(shape).astype(np.float32) + 0.05
    return (p / p.sum(axis=-1, keepdims=True)).astype(np.float32)


_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
_LABELS = np.array([2, 0, 6, 6], dtype=np.int32)
_GATHER0 = np.array([4, 0, 0, 2], dtype=np.int32)
_GATHER1 = np.array([[1, 5], [5, 3], [0, 0]], dtype=np.int32)


class Case:
    """One op under test: `make(rng)` the float inputs (all differentiated), `pk(*xs)` the
    pykernel computation, `th(*xs)` the same in torch (None: no torch check)."""

    def __init__(self, name, make, pk, th):
        self.name, self.make, self.pk, self.th = name, make, pk, th


def _shapes(*shapes, gen=_uniform):
    return lambda rng: [gen(rng, s) for s in shapes]


CASES = [
    Case("matmul", _shapes((3, 5), (5, 7)), lambda a, b: tf.matmul(a, b), lambda a, b: a @ b),
    Case("matmul_batched_transpose_b", _shapes((2, 3, 5), (4, 5)),
         lambda a, b: tf.matmul(a, b, transpose_b=True), lambda a, b: a @ b.T),
    Case("conv2d_same_stride2", _shapes((2, 7, 9, 3), (3, 2, 3, 4)),
         lambda x, w: tf.nn.conv2d(x, w, strides=2, padding="SAME"),
         lambda x, w: _nhwc(lambda x: torch.nn.functional.conv2d(
             _same_pad(x, (3, 2), (2, 2)), w.permute(3, 2, 0, 1), stride=2))(x)),
    Case("conv2d_valid_dilated", _shapes((2, 8, 7, 2), (2, 3, 2, 3)),
         lambda x, w: tf.nn.conv2d(x, w, strides=1, padding="VALID", dilations=2),
         lambda x, w: _nhwc(lambda x: torch.nn.functional.conv2d(x, w.permute(3, 2, 0, 1), dilation=2))(x)),
    Case("max_pool_same", _shapes((2, 7, 9, 3)),
         lambda x: tf.nn.max_pool2d(x, ksize=3, strides=2, padding="SAME"),
         _nhwc(lambda x: torch.nn.functional.max_pool2d(x, 3, 2, padding=1))),
    Case("max_pool_valid", _shapes((2, 7, 6, 2)),
         lambda x: tf.nn.max_pool2d(x, ksize=(3, 2), strides=(2, 1), padding="VALID"),
         _nhwc(lambda x: torch.nn.functional.max_pool2d(x, (3, 2), (2, 1)))),
    Case("avg_pool_same", _shapes((2, 7, 9, 3)),
         lambda x: tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="SAME"),
         # SAME pads only at the end here; ceil_mode's clipped last window averages what TF's does
         _nhwc(lambda x: torch.nn.functional.avg_pool2d(x, 2, 2, ceil_mode=True))),
    Case("avg_pool_valid", _shapes((1, 6, 7, 2)),
         lambda x: tf.nn.avg_pool2d(x, ksize=3, strides=(1, 2), padding="VALID"),
         _nhwc(lambda x: torch.nn.functional.avg_pool2d(x, 3, (1, 2)))),
    Case("reduce_sum_keepdims", _shapes((3, 5, 7)),
         lambda x: tf.reduce_sum(x, axis=1, keepdims=True), lambda x: x.sum(dim=1, keepdim=True)),
    Case("reduce_mean_axes", _shapes((3, 5, 7)),
         lambda x: tf.reduce_mean(x, axis=[0, 2]), lambda x: x.mean(dim=(0, 2))),
    Case("reduce_max_last", _shapes((4, 6)),
         lambda x: tf.reduce_max(x, axis=-1), lambda x: x.max(dim=-1).values),
    Case("reduce_max_all_keepdims", _shapes((3, 4, 5)),
         lambda x: tf.reduce_max(x, keepdims=True), lambda x: x.amax(dim=(0, 1, 2), keepdim=True)),
    Case("add_broadcast", _shapes((3, 1, 5), (4, 1)), lambda a, b: a + b, lambda a, b: a + b),
    Case("sub_broadcast", _shapes((5,), (2, 3, 5)), lambda a, b: tf.subtract(a, b), lambda a, b: a - b),
    Case("mul_broadcast", _shapes((3, 4, 1), (1, 6)), lambda a, b: tf.multiply(a, b), lambda a, b: a * b),
    Case("div_broadcast", lambda rng: [_uniform(rng, (3, 4)), _away_from_zero(rng, (4,))],
         lambda a, b: a / b, lambda a, b: a / b),
    Case("pow_broadcast", lambda rng: [_positive(rng, (3, 4)), _uniform(rng, (1, 4), -1.5, 2.0)],
         lambda a, b: tf.pow(a, b), lambda a, b: a ** b),
    Case("exp", _shapes((3, 5)), tf.exp, torch.exp if torch else None),
    Case("log", _shapes((3, 5), gen=_positive), tf.math.log, torch.log if torch else None),
    Case("tanh", _shapes((3, 5)), tf.tanh, torch.tanh if torch else None),
    Case("sigmoid", _shapes((3, 5)), tf.sigmoid, torch.sigmoid if torch else None),
    Case("relu", _shapes((3, 5), gen=_away_from_zero), tf.nn.relu, torch.relu if torch else None),
    Case("chain_exp_tanh_sigmoid", _shapes((2, 3), (3,)),
         lambda a, b: tf.exp(tf.tanh(a) * b) - tf.sigmoid(a * 2.0 + b),
         lambda a, b: torch.exp(torch.tanh(a) * b) - torch.sigmoid(a * 2.0 + b)),
    Case("softmax", _shapes((4, 7)), lambda x: tf.nn.softmax(x), lambda x: torch.softmax(x, -1)),
    Case("log_softmax_axis0", _shapes((4, 7)), lambda x: tf.nn.log_softmax(x, axis=0),
         lambda x: torch.log_softmax(x, 0)),
    Case("softmax_cross_entropy", lambda rng: [_one_hot_soft(rng, (4, 7)), _uniform(rng, (4, 7))],
         lambda z, x: tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x),
         lambda z, x: -(z * torch.log_softmax(x, -1)).sum(-1)),
    Case("sparse_softmax_cross_entropy", _shapes((4, 7)),
         lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(_LABELS), logits=x),
         lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(_LABELS, dtype=torch.long),
                                                     reduction="none")),
    Case("reshape", _shapes((3, 4, 5)), lambda x: tf.reshape(x, (5, 12)) * 1.5,
         lambda x: x.reshape(5, 12) * 1.5),
    Case("transpose", _shapes((3, 4, 5)), lambda x: tf.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1)),
    Case("concat", _shapes((2, 3, 4), (2, 1, 4), (2, 5, 4)), lambda *xs: tf.concat(list(xs), axis=1),
         lambda *xs: torch.cat(xs, dim=1)),
    Case("slicing", _shapes((5, 6, 7)), lambda x: x[1:, ::2, -3:] * x[:4, 1:4, 2:5] + x[2, :3, 4],
         lambda x: x[1:, ::2, -3:] * x[:4, 1:4, 2:5] + x[2, :3, 4]),
    Case("gather_axis0_repeated", _shapes((5, 6)), lambda x: tf.gather(x, tf.constant(_GATHER0), axis=0),
         lambda x: x[torch.tensor(_GATHER0, dtype=torch.long)]),
    Case("gather_axis1_2d_indices", _shapes((2, 6, 3)), lambda x: tf.gather(x, tf.constant(_GATHER1), axis=1),
         lambda x: x[:, torch.tensor(_GATHER1, dtype=torch.long)]),
    Case("where_broadcast", _shapes((3, 4), (4,)),
         lambda a, b: tf.where(tf.constant(_MASK), a * 2.0, b),
         lambda a, b: torch.where(torch.tensor(_MASK), a * 2.0, b.expand(3, 4))),
    Case("where_on_traced_condition", _shapes((3, 4), (3, 4)),
         lambda a, b: tf.where(a > b, a * b, a - b), lambda a, b: torch.where(a > b, a * b, a - b)),
]


def _forward_and_gradients(case, xs, cotangent):
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out = case.pk(*xs)
        loss = tf.reduce_sum(out * cotangent)
    return out, tape.gradient(loss, list(xs))


def _torch_reference(case, arrays, cotangent):
    ts = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    out = case.th(*ts)
    (out * torch.tensor(cotangent.astype(np.float64))).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_traced_op_matches_eager_and_torch(device, case):
    """Forward and gradients of one op (inside a GradientTape inside the tf.function) traced ==
    eager at two random inputs of one trace; eager == torch (float64)."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    traced = tf.function(lambda *args: _forward_and_gradients(case, args[:-1], args[-1]))
    for trial in range(2):
        arrays = case.make(rng)
        xs = [tf.constant(a) for a in arrays]
        out_shape = tuple(case.pk(*xs).shape)
        cotangent = _uniform(rng, out_shape, -1.0, 1.0)
        eager_out, eager_grads = _forward_and_gradients(case, xs, tf.constant(cotangent))
        traced_out, traced_grads = traced(*xs, tf.constant(cotangent))
        on_backend(traced_out, device)
        assert tuple(traced_out.shape) == out_shape and traced_out.dtype is eager_out.dtype
        np.testing.assert_allclose(values(traced_out), values(eager_out), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case.name}: traced forward != eager (call {trial})")
        assert len(traced_grads) == len(xs)
        for i, (gt, ge) in enumerate(zip(traced_grads, eager_grads)):
            assert ge is not None and gt is not None, f"{case.name}: no gradient for input {i}"
            assert tuple(gt.shape) == arrays[i].shape
            np.testing.assert_allclose(values(gt), values(ge), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{case.name}: traced gradient {i} != eager (call {trial})")
        if torch is not None and case.th is not None:
            ref_out, ref_grads = _torch_reference(case, arrays, cotangent)
            np.testing.assert_allclose(values(eager_out), ref_out, rtol=REF_RTOL, atol=REF_ATOL,
                                       err_msg=f"{case.name}: eager forward != torch")
            for i, (ge, gr) in enumerate(zip(eager_grads, ref_grads)):
                np.testing.assert_allclose(values(ge), gr, rtol=REF_RTOL, atol=REF_ATOL,
                                           err_msg=f"{case.name}: eager gradient {i} != torch")
    assert traced.experimental_get_tracing_count() == 1, "the second call must replay, not retrace"


def test_traced_mixed_network_step_matches_numpy(device):
    """conv -> relu -> max pool -> dense -> softmax cross-entropy, with its gradients, as one
    graph: traced == eager, and the loss == a NumPy computation of the same network."""
    rng = np.random.default_rng(3)
    x = tf.constant(_uniform(rng, (3, 6, 5, 2)))
    w = tf.constant(_uniform(rng, (3, 3, 2, 4), -0.5, 0.5))
    w2 = tf.constant(_uniform(rng, (3 * 3 * 4, 5), -0.5, 0.5))
    labels = np.array([1, 4, 0])

    def step(x, w, w2):
        with tf.GradientTape() as tape:
            tape.watch([w, w2])
            h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), 2, 2, "SAME")
            logits = tf.matmul(tf.reshape(h, (3, -1)), w2)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), logits))
        return loss, logits, tape.gradient(loss, [w, w2])

    eager = step(x, w, w2)
    traced = tf.function(step)(x, w, w2)
    for e, t in zip(tf.nest.flatten(eager), tf.nest.flatten(traced)):
        np.testing.assert_allclose(values(t), values(e), rtol=RTOL, atol=ATOL)
    logits = values(traced[1])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(float(traced[0]), -log_p[np.arange(3), labels].mean(), rtol=1e-5)


# ---------------------------------------------------------------- Keras: fit traced vs eager

def _data(rng, n, shape, classes):
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    return x, y


def _twins(build):
    """Two copies of one model with identical initial weights: (eager one, traced one)."""
    eager = build()
    traced = build()
    traced.set_weights(eager.get_weights())
    for a, b in zip(eager.get_weights(), traced.get_weights()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    return eager, traced


def _compile_pair(eager, traced, optimizer, **kwargs):
    eager.compile(optimizer=optimizer(), run_eagerly=True, **kwargs)
    traced.compile(optimizer=optimizer(), **kwargs)
    assert eager.run_eagerly and not traced.run_eagerly


def _assert_traced(model, function_name="train_function"):
    """The model's step really is a tf.function that traced (and that the eager twin is not)."""
    step = getattr(model, function_name)
    assert isinstance(step, Function), f"{function_name} is {step!r}, not a traced tf.function"
    assert step.experimental_get_tracing_count() >= 1
    return step


def _assert_same_weights(a, b, rtol=RTOL, atol=ATOL):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for i, (x, y) in enumerate(zip(wa, wb)):
        np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64), rtol=rtol, atol=atol,
                                   err_msg=f"weight {i} ({a.weights[i].name}) differs traced vs eager")


def _assert_same_history(he, ht, rtol=RTOL):
    assert sorted(he.history) == sorted(ht.history)
    for key in he.history:
        np.testing.assert_allclose(ht.history[key], he.history[key], rtol=rtol, atol=1e-7,
                                   err_msg=f"history[{key!r}] differs traced vs eager")
        assert all(math.isfinite(v) for v in ht.history[key])


def _fit_pair(eager, traced, x, y, **fit_kwargs):
    """fit both (the same arguments), checking that the traced step is a tf.function that
    traced during the first epoch (per batch shape) and only replayed in the later ones."""
    counts = TracingCounts()
    he = eager.fit(x, y, verbose=0, shuffle=False, callbacks=[TracingCounts()], **fit_kwargs)
    ht = traced.fit(x, y, verbose=0, shuffle=False, callbacks=[counts], **fit_kwargs)
    _assert_traced(traced)
    assert not isinstance(eager.train_function, Function)
    assert counts.counts[0] >= 1 and len(set(counts.counts)) == 1, \
        f"tracing counts per epoch {counts.counts}: later epochs retraced the train step"
    _assert_fit_replayed_traces(traced, x, y, fit_kwargs)
    return he, ht


def _assert_fit_replayed_traces(model, x, y, fit_kwargs):
    """fit's batches (full and partial) each have a concrete function already, a graph that
    reads and assigns the weights through the optimizer's update ops."""
    step = model.train_function
    count = step.experimental_get_tracing_count()
    arrays = [data_adapter.to_tensors(x, features=True), data_adapter.to_tensors(y, features=False),
              data_adapter.to_tensors(fit_kwargs.get("sample_weight"), features=False)]
    adapter = data_adapter.ArrayDataAdapter(*arrays, batch_size=fit_kwargs["batch_size"],
                                            class_weight=fit_kwargs.get("class_weight"))
    shapes = {}
    for _, batch in adapter.batches():
        shapes.setdefault(tuple(tuple(t.shape) for t in batch), batch)
    assert len(shapes) == 2, "these tests end with a partial batch"
    weights = {v.name for v in model.trainable_variables}
    for batch in shapes.values():
        graph = step.get_concrete_function(batch).graph
        assert step.experimental_get_tracing_count() == count, "fit did not trace this batch shape"
        ops = graph.get_operations()
        assert weights <= {op.attrs["variable"] for op in ops if op.type == "ReadVariableOp"}
        assert weights <= {op.attrs["variable"] for op in ops if op.type == "AssignVariableOp"}
        assert any(op.type.startswith("Apply") for op in ops)


def _mlp(inputs=5, hidden=16, classes=3):
    def build():
        return keras.Sequential([keras.Input(shape=(inputs,)), keras.layers.Dense(hidden, activation="relu"),
                                 keras.layers.Dense(classes, activation="softmax")])
    return build


_SIZES = {"numpy": dict(n=37, batch=16, inputs=5, hidden=16), "python": dict(n=21, batch=8, inputs=4, hidden=6)}


@pytest.mark.parametrize("weighting", ["none", "class_weight", "sample_weight"])
def test_fit_mlp_adam_traced_equals_eager(device, weighting):
    """An MLP with Adam, a final partial batch (37 = 16 + 16 + 5 samples), class_weight or
    sample_weight: the same history and final weights traced and eagerly."""
    size = _SIZES[device]
    rng = np.random.default_rng(0)
    x, y = _data(rng, size["n"], (size["inputs"],), 3)
    eager, traced = _twins(_mlp(size["inputs"], size["hidden"]))
    initial = [np.asarray(w) for w in traced.get_weights()]
    _compile_pair(eager, traced, lambda: keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    kwargs = {"batch_size": size["batch"], "epochs": 3}
    if weighting == "class_weight":
        kwargs["class_weight"] = {0: 1.0, 1: 2.5, 2: 0.5}
    elif weighting == "sample_weight":
        kwargs["sample_weight"] = rng.uniform(0.1, 2.0, size=size["n"]).astype(np.float32)
    he, ht = _fit_pair(eager, traced, x, y, **kwargs)
    assert len(ht.history["loss"]) == 3
    _assert_same_history(he, ht)
    _assert_same_weights(eager, traced)
    on_backend(traced.weights[0].value(), device)
    # the weights moved: a fit that trained nothing would pass the comparison trivially
    assert not np.allclose(np.asarray(traced.get_weights()[0]), initial[0])


def test_fit_shuffled_traced_equals_eager(device):
    """shuffle=True after the same keras.utils.set_random_seed: tracing draws nothing from the
    global random sequence, so both fits see the same batches and end equal."""
    size = _SIZES[device]
    rng = np.random.default_rng(7)
    x, y = _data(rng, size["n"], (size["inputs"],), 3)
    eager, traced = _twins(_mlp(size["inputs"], size["hidden"]))
    _compile_pair(eager, traced, lambda: keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    histories = []
    for model in (eager, traced):
        keras.utils.set_random_seed(99)
        histories.append(model.fit(x, y, batch_size=size["batch"], epochs=2, shuffle=True, verbose=0))
    _assert_traced(traced)
    _assert_same_history(*histories)
    _assert_same_weights(eager, traced)


def test_fit_cnn_sgd_momentum_traced_equals_eager(device):
    """Conv2D + MaxPooling2D + Flatten + Dense with SGD momentum, partial last batch."""
    small = device == "python"
    shape, n, batch = ((5, 5, 1), 12, 8) if small else ((8, 7, 2), 37, 16)

    def build():
        return keras.Sequential([keras.Input(shape=shape), keras.layers.Conv2D(2 if small else 4, 3, activation="relu",
                                                                             padding="same"),
                                 keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(3)])
    rng = np.random.default_rng(1)
    x, y = _data(rng, n, shape, 3)
    y = keras.utils.to_categorical(y, 3)
    eager, traced = _twins(build)
    _compile_pair(eager, traced, lambda: keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    he, ht = _fit_pair(eager, traced, x, y, batch_size=batch, epochs=2)
    _assert_same_history(he, ht)
    _assert_same_weights(eager, traced)
    assert he.history["loss"][0] != he.history["loss"][1]


def test_fit_batch_normalization_traced_equals_eager(device):
    """BatchNormalization (batch statistics in training, moving averages assigned at every
    step, non-trainable weights compared too) with RMSprop and a partial batch."""
    small = device == "python"
    n, batch, features = (13, 8, 3) if small else (37, 16, 6)

    def build():
        return keras.Sequential([keras.Input(shape=(features,)), keras.layers.Dense(5),
                                 keras.layers.BatchNormalization(momentum=0.8), keras.layers.ReLU(),
                                 keras.layers.Dense(1)])
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((n, features)) * 3 + 1).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) * 0.3).astype(np.float32)
    eager, traced = _twins(build)
    _compile_pair(eager, traced, lambda: keras.optimizers.RMSprop(0.01), loss="mse", metrics=["mae"])
    he, ht = _fit_pair(eager, traced, x, y, batch_size=batch, epochs=2)
    _assert_same_history(he, ht)
    _assert_same_weights(eager, traced)
    bn = traced.layers[1]
    moving_mean = np.asarray(bn.moving_mean.numpy())
    assert not np.allclose(moving_mean, 0.0), "the traced step never assigned the moving mean"
    np.testing.assert_allclose(traced.evaluate(x, y, batch_size=batch, verbose=0),
                               eager.evaluate(x, y, batch_size=batch, verbose=0), rtol=RTOL)


def test_fit_with_dropout_and_batch_norm_draws_new_masks_every_step(device):
    """BatchNormalization + Dropout: the traced train step replays (one trace) with a new
    dropout mask at every step. With a zero learning rate the weights stay put, so
    different losses on the same batch can only come from different masks."""
    features = 4 if device == "python" else 8
    model = keras.Sequential([keras.Input(shape=(features,)), keras.layers.Dense(16),
                              keras.layers.BatchNormalization(), keras.layers.Dropout(0.5),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, features)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    losses = [model.train_on_batch(x, y) for _ in range(4)]
    step = _assert_traced(model)
    count = step.experimental_get_tracing_count()
    losses += [model.train_on_batch(x, y) for _ in range(2)]
    assert step.experimental_get_tracing_count() == count, "train_on_batch retraced"
    assert all(math.isfinite(v) for v in losses), losses
    assert len(set(losses)) == len(losses), f"the same dropout mask at several steps: losses {losses}"
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])
    # inference has no dropout: the traced predict gives the same values twice
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(np.asarray(p1), np.asarray(p2))
    _assert_traced(model, "predict_function")


def test_evaluate_and_predict_traced_equal_eager(device):
    """evaluate() and predict() (with a partial last batch) on twin models: equal results."""
    size = _SIZES[device]
    rng = np.random.default_rng(5)
    x, y = _data(rng, size["n"], (size["inputs"],), 3)
    eager, traced = _twins(_mlp(size["inputs"], size["hidden"]))
    _compile_pair(eager, traced, lambda: "adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="xent")])
    batch = size["batch"]
    le = eager.evaluate(x, y, batch_size=batch, verbose=0, return_dict=True)
    lt = traced.evaluate(x, y, batch_size=batch, verbose=0, return_dict=True)
    assert sorted(le) == sorted(lt) == ["accuracy", "loss", "xent"]
    for key in le:
        np.testing.assert_allclose(lt[key], le[key], rtol=RTOL, err_msg=key)
    _assert_traced(traced, "test_function")
    pe = eager.predict(x, batch_size=batch, verbose=0)
    pt = traced.predict(x, batch_size=batch, verbose=0)
    assert tuple(np.shape(pt)) == (size["n"], 3)
    np.testing.assert_allclose(np.asarray(pt, np.float64), np.asarray(pe, np.float64), rtol=RTOL, atol=ATOL)
    step = _assert_traced(traced, "predict_function")
    assert step.experimental_get_tracing_count() >= 2, "a full and a partial batch are two shapes"
    assert not isinstance(eager.predict_function, Function)
    # and the numbers are the model's: a NumPy forward pass of the same weights
    k1, b1, k2, b2 = (np.asarray(w, np.float64) for w in traced.get_weights())
    logits = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(np.asarray(pt, np.float64), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lt["loss"], -np.log(probs[np.arange(len(y)), y]).mean(), rtol=1e-5)


# ---------------------------------------------------------------- random numbers per replay

def test_random_ops_draw_fresh_numbers_at_every_replay(device):
    uniform = tf.function(lambda: tf.random.uniform([4]))
    normal = tf.function(lambda: tf.random.normal([4], mean=1.0, stddev=2.0))
    for fn in (uniform, normal):
        draws = [values(fn()) for _ in range(3)]
        assert fn.experimental_get_tracing_count() == 1
        for i in range(3):
            for j in range(i):
                assert not np.array_equal(draws[i], draws[j]), f"calls {j} and {i} drew the same numbers"
    assert all(((d >= 0) & (d < 1)).all() for d in (values(uniform()) for _ in range(2)))


def test_dropout_in_a_tf_function_draws_a_new_mask_at_every_call(device):
    layer = keras.layers.Dropout(0.5)
    f = tf.function(lambda x: layer(x, training=True))
    x = tf.ones([64])
    masks = [values(f(x)) for _ in range(3)]
    assert f.experimental_get_tracing_count() == 1
    for m in masks:
        assert set(np.unique(m)) <= {0.0, 2.0} and 5 < (m == 0).sum() < 59   # kept values scaled by 1/(1-rate)
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    np.testing.assert_array_equal(values(tf.function(lambda x: layer(x, training=False))(x)), np.ones(64))


def test_set_seed_reproduces_the_sequence_of_traced_draws(device):
    """After tf.random.set_seed(s) the same sequence of calls gives the same numbers, eagerly
    and traced (a traced op's seed is fixed at trace time; each replay takes its next numbers)."""
    def eager_sequence():
        return [values(tf.random.uniform([4])) for _ in range(3)] + [values(tf.random.normal([3]))]

    tf.random.set_seed(42)
    first = eager_sequence()
    tf.random.set_seed(42)
    np.testing.assert_array_equal(np.concatenate(eager_sequence()), np.concatenate(first))

    f = tf.function(lambda: (tf.random.uniform([4]), tf.random.normal([3])))
    tf.random.set_seed(42)
    run1 = [tuple(values(t) for t in f()) for _ in range(3)]
    tf.random.set_seed(42)
    run2 = [tuple(values(t) for t in f()) for _ in range(3)]
    assert f.experimental_get_tracing_count() == 1
    for a, b in zip(run1, run2):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(run1[0][0], run1[1][0])
    # a new trace after set_seed starts where the first trace did: the first draw is eager's first
    tf.random.set_seed(42)
    g = tf.function(lambda: tf.random.uniform([4]))
    np.testing.assert_array_equal(values(g()), first[0])


# ---------------------------------------------------------------- the graph API

def _check_graph(graph):
    """Every op input is an earlier op's output in this graph (or a placeholder); names unique."""
    ops = graph.get_operations()
    names = [op.name for op in ops]
    assert len(set(names)) == len(names), "op names must be unique"
    produced = set()
    for op in ops:
        assert isinstance(op.type, str) and op.type
        for v in op.inputs:
            assert id(v) in produced, f"{op.name} reads {v.name}, which no earlier op produces"
            assert v.op.graph is graph
            assert graph.get_tensor_by_name(v.name) is v
        for i, v in enumerate(op.outputs):
            assert v.op is op and v.index == i and v.name == f"{op.name}:{i}"
            produced.add(id(v))
        assert graph.get_operation_by_name(op.name) is op
    for v in graph.inputs:
        assert v.op.type == "Placeholder"
    for v in graph.outputs:
        assert id(v) in produced
    return ops


def test_graph_operations_json_and_dot_are_consistent(device):
    @tf.function
    def f(x, w):
        with tf.GradientTape() as tape:
            tape.watch(w)
            y = tf.nn.softmax(tf.matmul(x, w) + 1.0)
            loss = tf.reduce_sum(y[:, :2])
        return y, tape.gradient(loss, w)

    x = tf.constant(np.ones((3, 4), np.float32))
    w = tf.constant(np.arange(20, dtype=np.float32).reshape(4, 5) / 20)
    concrete = f.get_concrete_function(x, w)
    assert f.experimental_get_tracing_count() == 1
    graph = concrete.graph
    ops = _check_graph(graph)
    types = [op.type for op in ops]
    assert types.count("Placeholder") == 2 and "BatchMatMulV2" in types and "Exp" in types
    assert [tuple(v.shape) for v in graph.inputs] == [(3, 4), (4, 5)]
    y, grad = concrete(x, w)
    assert f.experimental_get_tracing_count() == 1, "get_concrete_function's trace is the one called"
    assert [tuple(v.shape) for v in graph.outputs] == [tuple(y.shape), tuple(grad.shape)] == [(3, 5), (4, 5)]
    assert [v.dtype for v in graph.outputs] == [y.dtype, grad.dtype]
    np.testing.assert_allclose(values(y), values(f.python_function(x, w)[0]), rtol=RTOL)
    # every intermediate shape is the shape the eager op gives: the gradient ends (4, 5)
    # (matmul's transposed backward), the slice (3, 2)
    shapes = {tuple(v.shape) for op in ops for v in op.outputs}
    assert {(3, 5), (3, 2), (4, 5)} <= shapes

    data = json.loads(concrete.graph.as_json())
    assert data["name"] == graph.name
    assert [n["name"] for n in data["nodes"]] == [op.name for op in ops]
    assert [n["type"] for n in data["nodes"]] == types
    edges = [(src, n["name"]) for n in data["nodes"] for src in n["inputs"]]
    assert len(edges) == sum(len(op.inputs) for op in ops) > 0
    node_names = {n["name"] for n in data["nodes"]}
    assert all(src.rsplit(":", 1)[0] in node_names for src, _ in edges)
    for n, op in zip(data["nodes"], ops):
        assert [o["shape"] for o in n["outputs"]] == [list(v.shape) for v in op.outputs]
    assert data["inputs"] == [v.name for v in graph.inputs]
    assert data["outputs"] == [v.name for v in graph.outputs]

    dot = graph.to_dot()
    assert dot.startswith("digraph")
    assert dot.rstrip().endswith("}")
    assert dot.count("->") == len(edges)
    assert all(f'"{op.name}"' in dot for op in ops)


def test_train_step_graph_reads_and_assigns_variables(device):
    """A GradientTape + optimizer.apply_gradients step: its graph reads the variables, has the
    gradient ops and the optimizer's update, assigns the variables; replays train like eager."""
    def build():
        return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="tanh"),
                                 keras.layers.Dense(1)])
    eager_model, model = _twins(build)
    rng = np.random.default_rng(6)
    x = tf.constant(rng.standard_normal((6, 4)).astype(np.float32))
    y = tf.constant(rng.standard_normal((6, 1)).astype(np.float32))

    def make_step(model, optimizer):
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss
        return train_step

    eager_step = make_step(eager_model, keras.optimizers.Adam(0.05))
    optimizer = keras.optimizers.Adam(0.05)
    step = tf.function(make_step(model, optimizer))
    losses, eager_losses = [], []
    for _ in range(4):
        losses.append(float(step(x, y)))
        eager_losses.append(float(eager_step(x, y)))
    np.testing.assert_allclose(losses, eager_losses, rtol=RTOL)
    assert losses[-1] < losses[0]
    _assert_same_weights(eager_model, model)
    count = step.experimental_get_tracing_count()
    graph = step.get_concrete_function(x, y).graph
    assert step.experimental_get_tracing_count() == count, "the call's trace exists already"
    ops = _check_graph(graph)
    reads = {op.attrs["variable"]: op for op in ops if op.type == "ReadVariableOp"}
    assigns = {op.attrs["variable"]: op for op in ops if op.type == "AssignVariableOp"}
    weights = {v.name: v for v in model.trainable_variables}
    assert set(weights) <= set(reads)
    state = {v.name: v for v in list(model.variables) + list(optimizer.variables)}
    assert set(assigns) <= set(state), f"assigns of unknown variables: {set(assigns) - set(state)}"
    assert set(weights) <= set(assigns), "the optimizer update must assign every weight"
    assert any("iteration" in name for name in assigns), "the optimizer's step count is assigned"
    for name, op in assigns.items():
        assert op.outputs == () and len(op.inputs) == 1
        assert tuple(op.inputs[0].shape) == tuple(state[name].shape)
    for name, var in weights.items():
        update = assigns[name].inputs[0].op   # the weight's new value comes from the optimizer's update op
        assert update.type == "ApplyAdam", update
        assert update.inputs[0] is reads[name].outputs[0], "the update starts from the variable's read"
        gradient = update.inputs[1].op   # the gradient op: a transposed matmul (kernel) or a sum (bias)
        if len(var.shape) == 2:
            assert gradient.type == "BatchMatMulV2" and gradient.attrs["transpose_a"], gradient
        else:
            assert gradient.type == "Sum", gradient
    assert "Tanh" in [op.type for op in ops]


# ---------------------------------------------------------------- errors

def test_reading_a_traced_tensor_raises_a_clear_error(device):
    x = tf.constant([1.0, 2.0])

    @tf.function
    def to_float(x):
        return float(tf.reduce_sum(x))

    with pytest.raises(OperatorNotAllowedInGraphError) as info:
        to_float(x)
    message = str(info.value)
    assert "symbolic tensor" in message and "tf.function" in message
    assert "test_graph_parity.py" in message and "float(tf.reduce_sum(x))" in message
    assert "from op 'Sum'" in message and "shape ()" in message   # which tensor, made by which op

    @tf.function
    def to_numpy(x):
        return (x * 2.0).numpy()

    with pytest.raises(AttributeError, match="'Mul:0' is a symbolic tensor inside tf.function"):
        to_numpy(x)

    @tf.function(autograph=False)
    def python_if(x):
        if tf.reduce_sum(x) > 0:
            return x
        return -x

    with pytest.raises(OperatorNotAllowedInGraphError) as info:
        python_if(x)
    message = str(info.value)
    assert "symbolic tensor" in message and "tf.cond" in message and "if tf.reduce_sum(x) > 0" in message
    assert "from op 'Greater'" in message and "bool" in message

    @tf.function
    def to_list(x):
        return x.tolist()

    with pytest.raises(OperatorNotAllowedInGraphError, match="symbolic tensor"):
        to_list(x)
    # eagerly, and with run_functions_eagerly, the same code reads values
    assert to_float.python_function(x) == 3.0
    tf.config.run_functions_eagerly(True)
    try:
        assert to_float(x) == 3.0 and python_if(x).numpy().tolist() == [1.0, 2.0]
    finally:
        tf.config.run_functions_eagerly(False)


# ---------------------------------------------------------------- flat memory over 500 replays

_CPU_MEASURE = """
import collections, gc, json, sys
import numpy as np
import pykernel as tf
from pykernel import backends, keras
if DEVICE == "python":
    from pykernel.backends.python_backend import PythonBackend
    backends.register("python", PythonBackend)
    tf.config.set_device("python")

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6

def snapshot():
    gc.collect()
    return rss_mb(), collections.Counter(type(o).__name__ for o in gc.get_objects())

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(INPUTS,)), keras.layers.Dense(HIDDEN, activation="relu"),
                          keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(0.01)
rng = np.random.default_rng(0)
x = tf.constant(rng.standard_normal((BATCH, INPUTS)).astype(np.float32).tolist())
y = tf.constant(rng.standard_normal((BATCH, 1)).astype(np.float32).tolist())

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

for _ in range(50):
    first = float(train_step(x, y))
snapshot()
rss0, types0 = snapshot()
for _ in range(500):
    loss = train_step(x, y)
last = float(loss)
rss1, types1 = snapshot()
grown = types1 - types0
print(json.dumps({"rss_mb": rss1 - rss0, "objects": sum(types1.values()) - sum(types0.values()),
                  "grown_types": grown.most_common(6), "first": first, "last": last,
                  "traces": train_step.experimental_get_tracing_count(),
                  "backend": type(model.weights[0].value().backend).__name__}))
"""


def _measure_cpu(device, inputs, hidden, batch):
    script = _CPU_MEASURE.replace("DEVICE", repr(device)).replace("INPUTS", str(inputs)) \
        .replace("HIDDEN", str(hidden)).replace("BATCH", str(batch))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                         timeout=300, cwd=REPO, env={**os.environ, "PYKERNEL_DEVICE": "cpu"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend_name,inputs,hidden,batch", [("numpy", 16, 32, 16), ("python", 4, 8, 4)])
def test_500_replayed_train_steps_keep_memory_flat(backend_name, inputs, hidden, batch):
    """A tf.function train step (GradientTape + Adam) replayed 500 times after 50 warm-up
    steps, in a fresh interpreter: RSS and the Python object count stay flat."""
    report = _measure_cpu(backend_name, inputs, hidden, batch)
    print(f"\n{backend_name}: RSS {report['rss_mb']:+.2f} MB, objects {report['objects']:+d} over 500 replays")
    assert report["backend"] == _BACKEND_CLASS[backend_name].__name__
    assert report["traces"] <= 2, "the step must replay, not retrace"   # 2: a first trace creating Adam's slots
    assert math.isfinite(report["last"]) and report["last"] < report["first"]
    assert report["rss_mb"] < 4, f"RSS grew {report['rss_mb']:.2f} MB over 500 replayed steps"
    grown = ", ".join(f"{name} +{n}" for name, n in report["grown_types"])
    assert report["objects"] < 100, f"{report['objects']} Python objects more after 500 replays: {grown}"
