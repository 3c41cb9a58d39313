"""API misuse gets the exception TF / Keras raise, with a message naming what was wrong
(issue 9, item 10), and the valid neighbours of each case keep working.

References: tf.keras Dense.build ("The last dimension of the inputs to a Dense layer should
be defined. Found None."), Keras 3 keras/src/ops/function.py (duplicate operation names) and
backend/common/variables.py (no None in a weight's shape), tensorflow/python/eager/backprop.py
(GradientTape.gradient: TypeError for a None target; non-tensor sources fail dtypes.as_dtype
with TypeError), tf.keras predict (ValueError on empty batch_outputs)."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import keras


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(7)
    keras.backend.clear_session()


def _mlp(units=3, features=4):
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(units)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data(n=10, features=4, units=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)).astype("float32"), rng.normal(size=(n, units)).astype("float32")


# ---------------------------------------------------------------- predict on 0 samples

def test_predict_on_zero_samples_raises_value_error():
    model = _mlp()
    with pytest.raises(ValueError, match="0 samples") as info:
        model.predict(np.zeros((0, 4), "float32"), verbose=0)
    assert "(0, 4)" in str(info.value) and "at least one sample" in str(info.value)


def test_predict_on_one_sample_works():
    model = _mlp()
    out = model.predict(np.ones((1, 4), "float32"), verbose=0)
    assert out.shape == (1, 3)


def test_predict_on_batch_of_zero_samples_runs_the_model_like_keras():
    # Keras 3 runs predict_function on the (empty) batch: no StopIteration leaks out.
    out = _mlp().predict_on_batch(np.zeros((0, 4), "float32"))
    assert tuple(out.shape) == (0, 3)


def test_predict_with_steps_spreads_the_samples_over_the_steps():
    # Keras's array adapter: batch_size=None and steps=2 means batches of ceil(100 / 2).
    x = np.ones((100, 4), "float32")
    assert _mlp().predict(x, steps=2, verbose=0).shape == (100, 3)


# ---------------------------------------------------------------- Dense on an unknown last dim

def test_dense_after_input_with_unknown_last_dimension_raises_value_error():
    inputs = keras.Input(shape=(None,))
    with pytest.raises(ValueError, match="last dimension of the inputs to a Dense layer should be defined"
                                         ". Found None") as info:
        keras.layers.Dense(3)(inputs)
    assert "(None, None)" in str(info.value)


def test_dense_in_sequential_with_unknown_last_dimension_raises_value_error():
    with pytest.raises(ValueError, match="Dense layer should be defined"):
        keras.Sequential([keras.Input(shape=(5, None)), keras.layers.Dense(2)])


def test_dense_after_input_with_unknown_middle_dimension_works():
    inputs = keras.Input(shape=(None, 4))
    outputs = keras.layers.Dense(3)(inputs)
    assert tuple(outputs.shape) == (None, None, 3)
    model = keras.Model(inputs, outputs)
    out = model.predict(np.ones((2, 5, 4), "float32"), verbose=0)
    assert out.shape == (2, 5, 3)


def test_weight_with_unknown_dimension_raises_value_error_naming_it():
    layer = keras.layers.BatchNormalization()
    with pytest.raises(ValueError, match="fully-defined .*None") as info:
        layer(keras.Input(shape=(None,)))
    assert layer.name in str(info.value)


def test_add_weight_rejects_bad_shapes():
    layer = keras.layers.Layer(name="custom")
    with pytest.raises(ValueError, match="fully-defined"):
        layer.add_weight(shape=(None, 2), name="w")
    with pytest.raises(ValueError, match="invalid dimension 2.5"):
        layer.add_weight(shape=(2.5, 2), name="w")
    with pytest.raises(ValueError, match="Negative dimensions"):
        layer.add_weight(shape=(-1, 2), name="w")
    w = layer.add_weight(shape=(np.int64(2), 3), name="ok")
    assert tuple(w.shape) == (2, 3)


# ---------------------------------------------------------------- duplicate layer names

def test_functional_model_with_duplicate_layer_names_raises_value_error():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="dense_block")(inputs)
    outputs = keras.layers.Dense(2, name="dense_block")(hidden)
    with pytest.raises(ValueError, match='"dense_block" is used 2 times') as info:
        keras.Model(inputs, outputs)
    assert "All layer names should be unique" in str(info.value)


def test_functional_model_input_and_layer_sharing_a_name_raises_value_error():
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Dense(2, name="x")(inputs)
    with pytest.raises(ValueError, match='"x" is used 2 times'):
        keras.Model(inputs, outputs)


def test_functional_model_with_a_shared_layer_and_unique_names_works():
    shared = keras.layers.Dense(4, name="shared")
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, name="head")(shared(shared(inputs)))
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in model.layers][1:] == ["shared", "head"]
    assert model.predict(np.ones((3, 4), "float32"), verbose=0).shape == (3, 2)


# ---------------------------------------------------------------- batch_size

@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("batch_size", [0, -4])
def test_non_positive_batch_size_raises_value_error(method, batch_size):
    model, (x, y) = _mlp(), _data()
    args = (x,) if method == "predict" else (x, y)
    with pytest.raises(ValueError, match=f"`batch_size` must be a positive integer.*batch_size={batch_size}"):
        getattr(model, method)(*args, batch_size=batch_size, verbose=0)


@pytest.mark.parametrize("batch_size", [2.5, 4.0, "4", True])
def test_non_integer_batch_size_raises_type_error(batch_size):
    model, (x, y) = _mlp(), _data()
    with pytest.raises(TypeError, match="`batch_size` must be a positive integer") as info:
        model.fit(x, y, batch_size=batch_size, verbose=0)
    assert type(batch_size).__name__ in str(info.value)


def test_validation_batch_size_zero_raises_value_error():
    model, (x, y) = _mlp(), _data()
    with pytest.raises(ValueError, match="validation_batch_size"):
        model.fit(x, y, validation_split=0.2, validation_batch_size=0, verbose=0)


def test_valid_batch_sizes_work():
    model, (x, y) = _mlp(), _data()
    model.fit(x, y, batch_size=np.int64(4), verbose=0)
    assert model.predict(x, batch_size=3, verbose=0).shape == (10, 3)
    assert model.predict(x, verbose=0).shape == (10, 3)  # None: the default of 32


# ---------------------------------------------------------------- epochs / steps / validation

def test_zero_or_negative_epochs_train_nothing_like_keras():
    model, (x, y) = _mlp(), _data()
    before = [w.numpy().copy() for w in model.weights]
    for epochs in (0, -1):
        history = model.fit(x, y, epochs=epochs, verbose=0)
        assert history.history == {}
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))


@pytest.mark.parametrize("epochs", [2.5, "2", None])
def test_non_integer_epochs_raises_type_error(epochs):
    model, (x, y) = _mlp(), _data()
    with pytest.raises(TypeError, match="`epochs` must be an integer"):
        model.fit(x, y, epochs=epochs, verbose=0)


@pytest.mark.parametrize("name", ["steps_per_epoch", "validation_steps"])
@pytest.mark.parametrize("steps", [0, -1])
def test_non_positive_fit_steps_raise_value_error(name, steps):
    model, (x, y) = _mlp(), _data()
    with pytest.raises(ValueError, match=f"`{name}`.*{name}={steps}"):
        model.fit(x, y, validation_split=0.2, verbose=0, **{name: steps})


@pytest.mark.parametrize("method", ["evaluate", "predict"])
def test_non_positive_or_float_steps_raise(method):
    model, (x, y) = _mlp(), _data()
    args = (x,) if method == "predict" else (x, y)
    with pytest.raises(ValueError, match="`steps`.*steps=0"):
        getattr(model, method)(*args, steps=0, verbose=0)
    with pytest.raises(TypeError, match="`steps` must be a positive integer"):
        getattr(model, method)(*args, steps=1.5, verbose=0)


@pytest.mark.parametrize("split", [-0.1, 1.0, 1.5])
def test_validation_split_outside_0_1_raises_value_error(split):
    model, (x, y) = _mlp(), _data()
    with pytest.raises(ValueError, match=r"`validation_split` must be a float in \[0, 1\).*"
                                         f"validation_split={split}"):
        model.fit(x, y, validation_split=split, verbose=0)


def test_validation_split_of_wrong_type_raises_type_error():
    model, (x, y) = _mlp(), _data()
    with pytest.raises(TypeError, match="`validation_split` must be a float"):
        model.fit(x, y, validation_split="0.2", verbose=0)


def test_valid_validation_split_and_freq_work():
    model, (x, y) = _mlp(), _data()
    history = model.fit(x, y, epochs=2, validation_split=0.2, validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 2 and len(history.history["val_loss"]) == 1
    assert len(model.fit(x, y, validation_split=0.0, verbose=0).history["loss"]) == 1


@pytest.mark.parametrize("freq", [0, 1.5])
def test_bad_validation_freq_raises_value_error(freq):
    model, (x, y) = _mlp(), _data()
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, validation_split=0.2, validation_freq=freq, verbose=0)


# ---------------------------------------------------------------- GradientTape.gradient

def _tape_and_square():
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    return tape, x, y


def test_gradient_of_none_target_raises_type_error():
    tape, x, _ = _tape_and_square()
    with pytest.raises(TypeError, match="`target` should be a list or nested structure of Tensors.*"
                                        "received None"):
        tape.gradient(None, x)


def test_gradient_with_respect_to_a_python_number_raises_type_error():
    tape, _, y = _tape_and_square()
    with pytest.raises(TypeError, match="`sources` to be Tensors or Variables.*element 0 of `sources`.* "
                                        "is 1.0 of type float"):
        tape.gradient(y, [1.0])


@pytest.mark.parametrize("source", [None, 2.0, np.float32(2.0), np.ones(3)])
def test_gradient_with_non_tensor_source_raises_type_error(source):
    tape, _, y = _tape_and_square()
    with pytest.raises(TypeError, match="`sources` to be Tensors or Variables"):
        tape.gradient(y, source)


@pytest.mark.parametrize("target", [3.0, [None]])
def test_gradient_of_non_tensor_target_raises_type_error(target):
    tape, x, _ = _tape_and_square()
    with pytest.raises(TypeError, match="`target` to be Tensors or Variables"):
        tape.gradient(target, x)


def test_gradient_after_a_rejected_call_still_works():
    tape, x, y = _tape_and_square()
    with pytest.raises(TypeError):
        tape.gradient(y, [1.0])
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)


def test_gradient_of_real_targets_still_works():
    tape, x, y = _tape_and_square()
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(v * v)
    grads = tape.gradient(loss, {"v": v})
    np.testing.assert_allclose(grads["v"].numpy(), [2.0, 4.0])
    unrelated = tf.constant(1.0)
    with tf.GradientTape() as tape:
        tape.watch(unrelated)
        out = v * 2.0
    assert tape.gradient(out, unrelated) is None  # unconnected: None, as in TF


def test_jacobian_of_none_target_raises_type_error():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(TypeError, match="`target`"):
        tape.jacobian(None, x)
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), [[2.0, 0.0], [0.0, 4.0]])
