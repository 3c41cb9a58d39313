"""keras.optimizers: a few steps on a quadratic against a NumPy re-implementation of the
Keras formulas, and against torch.optim where the two formulas coincide."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import keras

TARGET = np.array([1.0, -2.0, 3.0, 0.5], "float32")
START = np.array([0.3, 0.4, -0.5, 2.0], "float32")
SCALE = np.array([1.0, 3.0, 0.5, 2.0], "float32")
STEPS = 6


def quadratic_grad(w):
    """Gradient of sum(SCALE * (w - TARGET)**2)."""
    return 2.0 * SCALE * (w - TARGET)


def run_pykernel(optimizer, steps=STEPS):
    w = tf.Variable(START.copy())
    path = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(SCALE * (w - TARGET) ** 2)
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        path.append(w.numpy().copy())
    return np.array(path)


# ---------------------------------------------------------------- NumPy references (Keras formulas)

def numpy_sgd(lr, momentum=0.0, nesterov=False, steps=STEPS):
    w, m, path = START.astype("float64"), np.zeros(4), []
    for _ in range(steps):
        g = quadratic_grad(w)
        if momentum:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
        else:
            w = w - lr * g
        path.append(w.copy())
    return np.array(path)


def numpy_adam(lr, beta_1=0.9, beta_2=0.999, eps=1e-7, amsgrad=False, steps=STEPS):
    w, m, v, v_hat, path = START.astype("float64"), np.zeros(4), np.zeros(4), np.zeros(4), []
    for t in range(1, steps + 1):
        g = quadratic_grad(w)
        alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        v_hat = np.maximum(v_hat, v)
        w = w - m * alpha / (np.sqrt(v_hat if amsgrad else v) + eps)
        path.append(w.copy())
    return np.array(path)


def numpy_adagrad(lr, initial=0.1, eps=1e-7, steps=STEPS):
    w, acc, path = START.astype("float64"), np.full(4, initial), []
    for _ in range(steps):
        g = quadratic_grad(w)
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
        path.append(w.copy())
    return np.array(path)


def numpy_rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False, steps=STEPS):
    w, vel, avg, buf, path = START.astype("float64"), np.zeros(4), np.zeros(4), np.zeros(4), []
    for _ in range(steps):
        g = quadratic_grad(w)
        vel = rho * vel + (1 - rho) * g * g
        if centered:
            avg = rho * avg + (1 - rho) * g
            denominator = vel - avg * avg + eps
        else:
            denominator = vel + eps
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            buf = momentum * buf + increment
            w = w - buf
        else:
            w = w - increment
        path.append(w.copy())
    return np.array(path)


@pytest.mark.parametrize("optimizer, reference", [
    (lambda: keras.optimizers.SGD(0.05), lambda: numpy_sgd(0.05)),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9), lambda: numpy_sgd(0.05, 0.9)),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), lambda: numpy_sgd(0.05, 0.9, True)),
    (lambda: keras.optimizers.Adam(0.1), lambda: numpy_adam(0.1)),
    (lambda: keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9, amsgrad=True),
     lambda: numpy_adam(0.1, 0.5, 0.9, amsgrad=True)),
    (lambda: keras.optimizers.Adagrad(0.3), lambda: numpy_adagrad(0.3)),
    (lambda: keras.optimizers.Adagrad(0.3, initial_accumulator_value=1.0), lambda: numpy_adagrad(0.3, 1.0)),
    (lambda: keras.optimizers.RMSprop(0.01), lambda: numpy_rmsprop(0.01)),
    (lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
     lambda: numpy_rmsprop(0.01, momentum=0.5, centered=True)),
])
def test_optimizer_matches_keras_formula(optimizer, reference):
    opt = optimizer()
    np.testing.assert_allclose(run_pykernel(opt), reference(), rtol=2e-5, atol=1e-5)  # float32 vs float64
    assert int(opt.iterations) == STEPS


# ---------------------------------------------------------------- torch.optim where formulas coincide

try:
    import torch
except ImportError:  # the NumPy comparisons above still run
    torch = None


def run_torch(make_optimizer, steps=STEPS):
    w = torch.tensor(START.astype("float64"), requires_grad=True)
    opt = make_optimizer([w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (torch.tensor(SCALE, dtype=torch.float64) * (w - torch.tensor(TARGET, dtype=torch.float64)) ** 2).sum()
        loss.backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("ours, theirs", [
    # Keras keeps m = -lr * (torch's buffer): identical paths for a constant learning rate
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    # Adam: Keras adds epsilon to sqrt(v), torch to sqrt(v / (1 - beta_2^t)); with a tiny epsilon
    # next to gradients of order 1 the paths agree to float32 precision
    (lambda: keras.optimizers.Adam(0.1, epsilon=1e-9), lambda p: torch.optim.Adam(p, lr=0.1, eps=1e-9)),
    (lambda: keras.optimizers.Adam(0.1, epsilon=1e-9, amsgrad=True),
     lambda p: torch.optim.Adam(p, lr=0.1, eps=1e-9, amsgrad=True)),
    # RMSprop: epsilon inside vs outside the square root, negligible here
    (lambda: keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-12),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-12)),
])
@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_optimizer_matches_torch(ours, theirs):
    np.testing.assert_allclose(run_pykernel(ours()), run_torch(theirs), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- learning rates and API

def test_exponential_decay_values():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    for step in (0, 5, 10, 25):
        assert float(schedule(step)) == pytest.approx(0.1 * 0.5 ** (step / 10), rel=1e-6)
    stairs = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [round(float(stairs(s)), 6) for s in (0, 9, 10, 19, 20)] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_inverse_time_decay_values_and_bad_steps():
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    for step in (0, 5, 10, 25):
        assert float(schedule(step)) == pytest.approx(0.1 / (1 + 0.5 * step / 10), rel=1e-6)
    for name in ("ExponentialDecay", "InverseTimeDecay"):
        with pytest.raises(ValueError, match="decay_steps.*> 0"):
            getattr(keras.optimizers.schedules, name)(0.1, decay_steps=0, decay_rate=0.5)


def test_piecewise_constant_decay_values():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [float(schedule(s)) for s in (0, 100, 101, 200, 201, 1000)] == \
        pytest.approx([1.0, 1.0, 0.5, 0.5, 0.1, 0.1])


def test_optimizer_follows_its_schedule():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.01])
    opt = keras.optimizers.SGD(schedule)
    w = tf.Variable([0.0])
    for expected_lr in (0.1, 0.1, 0.1, 0.01):
        before = w.numpy()[0]
        opt.apply_gradients([(tf.constant([-1.0]), w)])
        assert w.numpy()[0] - before == pytest.approx(expected_lr)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5


def test_learning_rate_is_readable_and_settable():
    opt = keras.optimizers.Adam(learning_rate=0.01)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.5)
    assert float(keras.optimizers.SGD(lr=0.2).learning_rate) == pytest.approx(0.2)  # tf.keras 2 spelling


def test_none_gradients_are_skipped_and_slots_are_per_variable():
    opt = keras.optimizers.SGD(0.1, momentum=0.9)
    a, b = tf.Variable([1.0, 2.0]), tf.Variable([5.0])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf.constant([1.0, 1.0]), a), (None, b)])
    assert b.numpy().tolist() == [5.0]
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9])
    assert len(opt.variables) == 3  # iterations, learning rate, one momentum slot
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, a)])


def test_minimize_with_a_callable_loss():
    w = tf.Variable(10.0)
    opt = keras.optimizers.RMSprop(learning_rate=0.1)
    opt.minimize(lambda: (w ** 2) / 2.0, [w])
    assert float(w) == pytest.approx(9.683772, rel=1e-5)  # the value in Keras's RMSprop docstring


def test_gradient_clipping():
    w = tf.Variable([0.0, 0.0])
    keras.optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(tf.constant([3.0, 4.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.6, -0.8], rtol=1e-6)
    w = tf.Variable([0.0, 0.0])
    keras.optimizers.SGD(1.0, clipvalue=0.5).apply_gradients([(tf.constant([3.0, -0.2]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.2], rtol=1e-6)


def test_optimizer_lookup():
    assert isinstance(keras.optimizers.get("Adam"), keras.optimizers.Adam)
    assert float(keras.optimizers.get("sgd").learning_rate) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="adam.*rmsprop.*sgd"):
        keras.optimizers.get("adamw2")
