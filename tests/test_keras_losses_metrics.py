"""keras.losses and keras.metrics against hand-computed NumPy values."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import keras

EPS = 1e-7
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1], [1.0, 0.0, 0.0]], "float32")
LABELS = np.array([0, 2, 0, 1])
LOGITS = np.array([[2.0, 1.0, -1.0], [0.5, 0.1, 3.0], [-1.0, 2.0, 0.0], [4.0, -2.0, 1.0]], "float32")


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _one_hot(labels, n=3):
    return np.eye(n, dtype="float32")[labels]


def test_sparse_categorical_crossentropy_probabilities_and_logits():
    expected = -np.log(np.clip(PROBS[np.arange(4), LABELS], EPS, 1 - EPS))  # last row: p=0 clipped to 1e-7
    loss = keras.losses.SparseCategoricalCrossentropy()
    assert float(loss(LABELS, PROBS)) == pytest.approx(expected.mean(), rel=1e-5)
    per_sample = keras.losses.sparse_categorical_crossentropy(LABELS, PROBS).numpy()
    np.testing.assert_allclose(per_sample, expected, rtol=1e-5)
    expected_logits = -np.log(_softmax(LOGITS)[np.arange(4), LABELS])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(LABELS, LOGITS)) == pytest.approx(expected_logits.mean(), rel=1e-5)
    # labels shaped (batch, 1) and given as floats work too
    assert float(loss(LABELS.reshape(-1, 1).astype("float32"), LOGITS)) == pytest.approx(expected_logits.mean(),
                                                                                       rel=1e-5)


def test_categorical_crossentropy_probabilities_and_logits():
    y = _one_hot(LABELS)
    unnormalized = PROBS * 2.0  # Keras renormalizes each row first
    expected = -(y * np.log(np.clip(PROBS, EPS, 1 - EPS))).sum(-1)
    assert float(keras.losses.CategoricalCrossentropy()(y, unnormalized)) == pytest.approx(expected.mean(),
                                                                                          rel=1e-5)
    expected_logits = -(y * np.log(_softmax(LOGITS))).sum(-1)
    got = keras.losses.CategoricalCrossentropy(from_logits=True)(y, LOGITS)
    assert float(got) == pytest.approx(expected_logits.mean(), rel=1e-5)
    smoothed = y * 0.9 + 0.1 / 3
    got = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(y, LOGITS)
    assert float(got) == pytest.approx((-(smoothed * np.log(_softmax(LOGITS))).sum(-1)).mean(), rel=1e-5)


def test_binary_crossentropy_probabilities_and_logits():
    y = np.array([[1.0], [0.0], [1.0], [0.0]], "float32")
    p = np.array([[0.9], [0.2], [1.0], [0.6]], "float32")
    clipped = np.clip(p, EPS, 1 - EPS)
    expected = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean()
    assert float(keras.losses.BinaryCrossentropy()(y, p)) == pytest.approx(expected, rel=1e-4)
    # labels of shape (batch,) line up with predictions of shape (batch, 1)
    assert float(keras.losses.binary_crossentropy(y[:, 0], p).numpy().mean()) == pytest.approx(expected, rel=1e-4)
    z = np.array([[2.0], [-1.0], [0.5], [3.0]], "float32")
    sig = 1 / (1 + np.exp(-z))
    expected = -(y * np.log(sig) + (1 - y) * np.log(1 - sig)).mean()
    assert float(keras.losses.BinaryCrossentropy(from_logits=True)(y, z)) == pytest.approx(expected, rel=1e-5)


def test_regression_losses_and_reductions():
    y = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    p = np.array([[1.5, 1.0], [2.0, 6.0]], "float32")
    per_sample = ((p - y) ** 2).mean(-1)
    assert float(keras.losses.MeanSquaredError()(y, p)) == pytest.approx(per_sample.mean())
    assert float(keras.losses.get("mse")(y, p).numpy().sum()) == pytest.approx(per_sample.sum())
    assert float(keras.losses.MeanAbsoluteError()(y, p)) == pytest.approx(np.abs(p - y).mean())
    assert float(keras.losses.MeanSquaredError(reduction="sum")(y, p)) == pytest.approx(per_sample.sum())
    np.testing.assert_allclose(keras.losses.MeanSquaredError(reduction=None)(y, p).numpy(), per_sample)
    weights = np.array([2.0, 0.5], "float32")
    got = keras.losses.MeanSquaredError()(y, p, sample_weight=weights)
    assert float(got) == pytest.approx((per_sample * weights).sum() / 2)
    # (batch,) targets against (batch, 1) predictions: no accidental (batch, batch) broadcast
    assert float(keras.losses.MeanSquaredError()(np.array([1.0, 2.0]), np.array([[1.0], [4.0]]))) == pytest.approx(2.0)


def test_loss_lookup_errors_list_valid_names():
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        keras.losses.get("sparse_categorical_crossentropyy")
    assert keras.losses.get("BinaryCrossentropy").from_logits is False


def test_mean_metric_accumulates_on_device_and_resets():
    m = keras.metrics.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state(tf.constant([10.0]))
    assert isinstance(m.result(), tf.Tensor)
    assert float(m.result()) == pytest.approx(4.0)
    m.update_state([100.0], sample_weight=[0.0])
    assert float(m.result()) == pytest.approx(4.0)
    m.reset_state()
    assert float(m.result()) == 0.0


def test_accuracy_metrics():
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state(LABELS, PROBS)  # predictions 0, 2, 1, 0 -> two right
    assert float(m.result()) == pytest.approx(0.5)
    m.update_state(LABELS.reshape(-1, 1), PROBS)
    assert float(m.result()) == pytest.approx(0.5)
    m = keras.metrics.CategoricalAccuracy()
    m.update_state(_one_hot(LABELS), PROBS)
    assert float(m.result()) == pytest.approx(0.5)
    m = keras.metrics.BinaryAccuracy()
    m.update_state([[1], [0], [1], [0]], [[0.7], [0.2], [0.4], [0.6]])
    assert float(m.result()) == pytest.approx(0.5)
    m = keras.metrics.Accuracy()
    m.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    assert float(m.result()) == pytest.approx(0.75)
    m = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state(LABELS, PROBS)  # label ranks: 1st, 1st, 2nd, 2nd (ties broken favourably)
    assert float(m.result()) == pytest.approx(1.0)


def test_metric_lookup_errors_list_valid_names():
    with pytest.raises(ValueError, match="sparse_categorical_accuracy"):
        keras.metrics.get("accuracyy")


def test_accuracy_string_is_resolved_from_the_loss():
    def compiled_metric(loss, y, out_units):
        model = keras.Sequential([keras.layers.Dense(out_units, activation="sigmoid", input_shape=(2,))])
        model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
        model.evaluate(np.zeros((4, 2)), y, verbose=0)
        return model.metrics[1]

    assert isinstance(compiled_metric("sparse_categorical_crossentropy", np.zeros(4), 3),
                      keras.metrics.SparseCategoricalAccuracy)
    assert isinstance(compiled_metric("categorical_crossentropy", np.eye(3)[[0, 1, 2, 0]], 3),
                      keras.metrics.CategoricalAccuracy)
    assert isinstance(compiled_metric(keras.losses.BinaryCrossentropy(), np.zeros((4, 1)), 1),
                      keras.metrics.BinaryAccuracy)
    assert isinstance(compiled_metric("mse", np.zeros((4, 1)), 1), keras.metrics.BinaryAccuracy)  # by shape
    metric = compiled_metric("sparse_categorical_crossentropy", np.zeros(4), 3)
    assert metric.name == "accuracy"
