"""keras.layers: shapes and parameter counts as in Keras, forward values against NumPy,
initializer statistics, regularization losses, input checks and augmentation layers."""
import math

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from pykernel.keras import layers


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()  # default layer names start again at "dense", "conv2d", ...


def _built(layer, input_shape):
    """Build `layer` symbolically for (None,) + input_shape and return the output shape."""
    return tuple(layer(keras.Input(shape=input_shape)).shape)


# ---------------------------------------------------------------- shapes and parameter counts

@pytest.mark.parametrize("layer, input_shape, output_shape, params", [
    (lambda: layers.Dense(128), (784,), (None, 128), 784 * 128 + 128),
    (lambda: layers.Dense(5, use_bias=False), (7,), (None, 5), 35),
    (lambda: layers.Dense(4), (3, 6), (None, 3, 4), 6 * 4 + 4),
    (lambda: layers.Conv2D(32, 3), (28, 28, 1), (None, 26, 26, 32), 3 * 3 * 1 * 32 + 32),
    (lambda: layers.Conv2D(16, (5, 3), padding="same"), (28, 28, 3), (None, 28, 28, 16), 5 * 3 * 3 * 16 + 16),
    (lambda: layers.Conv2D(8, 3, strides=2), (28, 28, 3), (None, 13, 13, 8), 3 * 3 * 3 * 8 + 8),
    (lambda: layers.Conv2D(8, 3, strides=2, padding="same"), (27, 27, 3), (None, 14, 14, 8), 224),
    (lambda: layers.Conv2D(4, 3, dilation_rate=2), (10, 10, 2), (None, 6, 6, 4), 3 * 3 * 2 * 4 + 4),
    (lambda: layers.MaxPooling2D(), (28, 28, 32), (None, 14, 14, 32), 0),
    (lambda: layers.MaxPooling2D(), (27, 27, 3), (None, 13, 13, 3), 0),
    (lambda: layers.MaxPooling2D(3, strides=2, padding="same"), (27, 27, 3), (None, 14, 14, 3), 0),
    (lambda: layers.AveragePooling2D(pool_size=(2, 3)), (8, 9, 4), (None, 4, 3, 4), 0),
    (lambda: layers.GlobalAveragePooling2D(), (8, 9, 4), (None, 4), 0),
    (lambda: layers.Flatten(), (28, 28), (None, 784), 0),
    (lambda: layers.Flatten(), (5, 5, 64), (None, 1600), 0),
    (lambda: layers.Reshape((7, 4, 28)), (28, 28), (None, 7, 4, 28), 0),
    (lambda: layers.Reshape((-1, 2)), (3, 4), (None, 6, 2), 0),
    (lambda: layers.BatchNormalization(), (10,), (None, 10), 40),
    (lambda: layers.BatchNormalization(), (6, 6, 8), (None, 6, 6, 8), 32),
    (lambda: layers.Dropout(0.5), (12,), (None, 12), 0),
])
def test_output_shape_and_param_count(layer, input_shape, output_shape, params):
    layer = layer()
    assert _built(layer, input_shape) == output_shape
    assert layer.count_params() == params
    # the eager call agrees with the symbolic shape
    out = layer(np.zeros((2,) + input_shape, dtype="float32"))
    assert tuple(out.shape) == (2,) + output_shape[1:]


def test_batch_normalization_weights_split_trainable_and_not():
    bn = layers.BatchNormalization()
    bn.build((None, 6))
    assert [w.name for w in bn.weights] == ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                                            "batch_normalization/moving_mean:0",
                                            "batch_normalization/moving_variance:0"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2


def test_count_params_of_an_unbuilt_layer_is_an_error():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(3).count_params()


def test_sequential_summary_matches_keras_counts():
    model = keras.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(128, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 784)" in text and "(None, 128)" in text and "100,480" in text and "1,290" in text
    assert "Total params: 101,770 (397.54 KB)" in text
    assert "Non-trainable params: 0 (0.00 B)" in text
    assert model.count_params() == 101_770


# ---------------------------------------------------------------- forward values

def test_dense_forward_matches_numpy():
    layer = layers.Dense(5, activation="relu")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    out = layer(x).numpy()
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def _conv2d_reference(x, kernel, bias, stride, padding):
    kh, kw, _, filters = kernel.shape
    if padding == "same":
        out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
        pad_h = max((out_h - 1) * stride + kh - x.shape[1], 0)
        pad_w = max((out_w - 1) * stride + kw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(window, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


@pytest.mark.parametrize("stride, padding", [(1, "valid"), (1, "same"), (2, "valid"), (2, "same")])
def test_conv2d_forward_matches_numpy(stride, padding):
    layer = layers.Conv2D(4, 3, strides=stride, padding=padding, bias_initializer="random_normal")
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 3)).astype("float32")
    out = layer(x).numpy()
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, _conv2d_reference(x, kernel, bias, stride, padding), rtol=1e-4, atol=1e-5)


def test_pooling_forward_matches_numpy():
    x = np.random.default_rng(2).normal(size=(2, 4, 6, 3)).astype("float32")
    blocks = x.reshape(2, 2, 2, 3, 2, 3)
    np.testing.assert_allclose(layers.MaxPooling2D()(x).numpy(), blocks.max(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_allclose(layers.AveragePooling2D()(x).numpy(), blocks.mean(axis=(2, 4)), rtol=1e-5)


def test_batch_normalization_training_and_inference():
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(64, 4)).astype("float32")
    out = bn(x, training=True).numpy()
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    moving_mean, moving_var = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    np.testing.assert_allclose(moving_mean, 0.1 * x.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * x.var(0), rtol=1e-4)
    # inference uses the moving statistics and does not update them
    out = bn(x, training=False).numpy()
    np.testing.assert_allclose(out, (x - moving_mean) / np.sqrt(moving_var + 1e-3), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean)
    # a frozen BatchNormalization runs in inference mode even with training=True
    bn.trainable = False
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean)


def test_dropout_only_in_training():
    x = np.ones((200, 50), dtype="float32")
    drop = layers.Dropout(0.4)
    np.testing.assert_array_equal(drop(x).numpy(), x)
    np.testing.assert_array_equal(drop(x, training=False).numpy(), x)
    out = drop(x, training=True).numpy()
    kept = out != 0
    assert 0.5 < kept.mean() < 0.7
    np.testing.assert_allclose(out[kept], 1 / 0.6, rtol=1e-6)


def test_training_flag_reaches_nested_layers():
    model = keras.Sequential([layers.Dropout(0.5, input_shape=(100,))])
    x = np.ones((10, 100), dtype="float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert (model(x, training=True).numpy() == 0).any()


def test_activation_layers_and_functions():
    x = np.linspace(-3, 3, 13).astype("float32")[None, :]
    np.testing.assert_allclose(layers.ReLU()(x).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(layers.ReLU(max_value=1.0)(x).numpy(), np.clip(x, 0, 1))
    np.testing.assert_allclose(layers.Activation("tanh")(x).numpy(), np.tanh(x), rtol=1e-6)
    soft = layers.Softmax()(x).numpy()
    np.testing.assert_allclose(soft, np.exp(x) / np.exp(x).sum(), rtol=1e-5)
    np.testing.assert_allclose(keras.activations.get("sigmoid")(tf.constant(x)).numpy(), 1 / (1 + np.exp(-x)),
                               rtol=1e-6)
    np.testing.assert_allclose(keras.activations.leaky_relu(tf.constant(x)).numpy(), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(keras.activations.elu(tf.constant(x)).numpy(), np.where(x > 0, x, np.exp(x) - 1),
                               rtol=1e-6)
    np.testing.assert_allclose(keras.activations.softplus(tf.constant(x)).numpy(), np.log1p(np.exp(x)), rtol=1e-5)
    np.testing.assert_allclose(keras.activations.swish(tf.constant(x)).numpy(), x / (1 + np.exp(-x)), rtol=1e-5)
    assert keras.activations.get(None) is keras.activations.linear


# ---------------------------------------------------------------- initializers

def test_glorot_uniform_limits_and_variance():
    fan_in, fan_out = 400, 200
    w = keras.initializers.GlorotUniform()((fan_in, fan_out)).numpy()
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert w.min() >= -limit and w.max() <= limit
    assert w.max() > 0.98 * limit and w.min() < -0.98 * limit
    assert abs(w.std() - limit / math.sqrt(3)) < 0.02 * limit


def test_he_normal_std_is_corrected_for_truncation():
    fan_in = 50
    w = keras.initializers.get("he_normal")((3, 3, fan_in, 300)).numpy()  # conv kernel: fan_in = 3*3*50
    expected_std = math.sqrt(2 / (3 * 3 * fan_in))
    assert abs(w.std() - expected_std) < 0.03 * expected_std
    bound = 2 * expected_std / 0.87962566103423978
    assert np.abs(w).max() <= bound * (1 + 1e-5)  # truncated at two (uncorrected) std


def test_other_initializers():
    assert np.all(keras.initializers.get("zeros")((3, 2)).numpy() == 0)
    assert np.all(keras.initializers.Ones()((4,)).numpy() == 1)
    assert np.all(keras.initializers.Constant(2.5)((2, 2)).numpy() == 2.5)
    w = keras.initializers.RandomNormal(stddev=0.05)((300, 300)).numpy()
    assert abs(w.std() - 0.05) < 0.002 and abs(w.mean()) < 0.002
    w = keras.initializers.get("random_uniform")((300, 300)).numpy()
    assert w.min() >= -0.05 and w.max() <= 0.05
    w = keras.initializers.HeUniform()((500, 100)).numpy()
    assert np.abs(w).max() <= math.sqrt(6 / 500)
    w = keras.initializers.GlorotNormal()((500, 300)).numpy()
    assert abs(w.std() - math.sqrt(2 / 800)) < 0.03 * math.sqrt(2 / 800)
    with pytest.raises(ValueError, match="glorot_uniform"):
        keras.initializers.get("glorot")


def test_dense_default_initializers():
    layer = layers.Dense(300)
    layer.build((None, 500))
    kernel, bias = layer.get_weights()
    assert np.abs(kernel).max() <= math.sqrt(6 / 800) and np.all(bias == 0)


# ---------------------------------------------------------------- regularizers and losses

def test_regularization_losses_are_collected_and_trained():
    model = keras.Sequential([
        layers.Dense(4, input_shape=(3,), kernel_regularizer=keras.regularizers.l2(0.1)),
        layers.Dense(1, kernel_regularizer="l1", bias_regularizer=keras.regularizers.L1L2(l1=0.5, l2=0.25)),
    ])
    k1, _, k2, b2 = model.get_weights()
    expected = 0.1 * (k1 ** 2).sum() + 0.01 * np.abs(k2).sum() + 0.5 * np.abs(b2).sum() + 0.25 * (b2 ** 2).sum()
    assert len(model.losses) == 3
    assert float(tf.add_n(model.losses)) == pytest.approx(expected, rel=1e-5)
    # the compiled loss includes them: with zero error the loss is the penalty alone
    model.set_weights([k1, np.zeros(4, "float32"), k2, np.full(1, 0.5, "float32")])
    x = np.random.rand(8, 3).astype("float32")
    y = model.predict(x, verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    penalty = float(tf.add_n(model.losses))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(penalty, rel=1e-4)
    # ... and training shrinks the penalized weights
    model.fit(x, y, epochs=20, verbose=0)
    assert float(tf.add_n(model.losses)) < penalty


def test_regularizer_lookup_errors_list_names():
    with pytest.raises(ValueError, match="l1_l2"):
        keras.regularizers.get("l3")


def test_activity_regularizer_adds_a_loss_per_call():
    layer = layers.Dense(2, activity_regularizer=keras.regularizers.L1(0.5), kernel_initializer="ones")
    out = layer(np.ones((1, 3), "float32"))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(0.5 * np.abs(out.numpy()).sum())


# ---------------------------------------------------------------- input checks

def test_conv2d_rank_error_names_layer_expected_ndim_and_shape():
    model = keras.Sequential([layers.Conv2D(4, 3, name="my_conv")])
    with pytest.raises(ValueError) as err:
        model(np.zeros((2, 28, 28), "float32"))
    message = str(err.value)
    assert '"my_conv"' in message and "expected ndim=4" in message and "(None, 28, 28)" in message
    with pytest.raises(ValueError, match=r'"conv2d".*expected ndim=4, found ndim=3.*\(2, 28, 28\)'):
        layers.Conv2D(4, 3)(np.zeros((2, 28, 28), "float32"))


def test_dense_last_axis_mismatch_is_reported():
    layer = layers.Dense(3, name="head")
    layer(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r'"head".*axis -1.*value 5.*\(2, 7\)'):
        layer(np.zeros((2, 7), "float32"))


def test_symbolic_rank_error_at_model_construction():
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        keras.Sequential([keras.Input(shape=(28, 28)), layers.Conv2D(8, 3)])


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="relu.*sigmoid|sigmoid.*relu"):
        layers.Dense(3, activation="rleu")


def test_layer_constructor_rejects_unknown_arguments():
    with pytest.raises(TypeError, match="unitz"):
        layers.Dense(3, unitz=4)


# ---------------------------------------------------------------- custom layers

def test_custom_layer_with_add_weight_trains_in_a_model():
    class Linear(keras.layers.Layer):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                     trainable=True)
            self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")  # tf.keras 2 style
            self.frozen = self.add_weight("frozen", shape=(1,), initializer="ones", trainable=False)

        def call(self, inputs):
            return tf.matmul(inputs, self.w) + self.b

    layer = Linear(2)
    model = keras.Sequential([keras.Input(shape=(3,)), layer])
    assert layer.built and len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 1
    x = np.random.rand(64, 3).astype("float32")
    y = x @ np.array([[1.0, -1.0], [2.0, 0.0], [0.5, 3.0]], "float32")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_trainable_false_freezes_weights():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    frozen = model.layers[0].get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.random.rand(16, 3), np.random.rand(16, 1), epochs=2, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------- augmentation

def _images(n=8, size=6, channels=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, size, size, channels)).astype("float32")


@pytest.mark.parametrize("layer", [
    layers.RandomFlip("horizontal"), layers.RandomRotation(0.2), layers.RandomTranslation(0.2, 0.3),
    layers.RandomZoom(0.3),
])
def test_augmentation_is_identity_at_inference(layer):
    x = _images()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    model = keras.Sequential([keras.Input(shape=x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_random_flip_flips_some_samples_in_training():
    tf.random.set_seed(1)
    x = _images(n=32)
    out = layers.RandomFlip("horizontal")(x, training=True).numpy()
    assert out.shape == x.shape
    flipped = [np.array_equal(o, s[:, ::-1]) for o, s in zip(out, x)]
    unchanged = [np.array_equal(o, s) for o, s in zip(out, x)]
    assert all(f or u for f, u in zip(flipped, unchanged))
    assert 4 < sum(flipped) < 28
    out = layers.RandomFlip("vertical")(x, training=True).numpy()
    assert all(np.array_equal(o, s[::-1]) or np.array_equal(o, s) for o, s in zip(out, x))


@pytest.mark.parametrize("layer", [
    layers.RandomRotation(0.0), layers.RandomTranslation(0.0, 0.0), layers.RandomZoom(0.0),
    layers.RandomRotation(0.0, fill_mode="constant", interpolation="nearest"),
])
def test_zero_factor_warps_are_identity(layer):
    x = _images()
    np.testing.assert_allclose(layer(x, training=True).numpy(), x, rtol=0, atol=1e-6)


def test_rotation_by_90_degrees_turns_counter_clockwise():
    image = np.zeros((1, 5, 5, 1), "float32")
    image[0, 0, 4, 0] = 1.0  # top-right corner
    rotate = layers.RandomRotation((0.25, 0.25), fill_mode="constant")
    out = rotate(image, training=True).numpy()[0, :, :, 0]
    assert out[0, 0] == pytest.approx(1.0, abs=1e-5)  # counter-clockwise: top-right -> top-left
    assert out.sum() == pytest.approx(1.0, abs=1e-4)


def test_translation_moves_content_right_and_down():
    image = np.zeros((1, 6, 6, 1), "float32")
    image[0, 1, 1, 0] = 1.0
    shift = layers.RandomTranslation((1 / 3, 1 / 3), (0.5, 0.5), fill_mode="constant")
    out = shift(image, training=True).numpy()[0, :, :, 0]
    assert out[3, 4] == pytest.approx(1.0, abs=1e-5)  # 2 rows down, 3 columns right
    assert out.sum() == pytest.approx(1.0, abs=1e-4)


def test_zoom_in_magnifies_the_center():
    image = np.zeros((1, 9, 9, 1), "float32")
    image[0, 3:6, 3:6, 0] = 1.0
    out = layers.RandomZoom((-0.5, -0.5), fill_mode="constant")(image, training=True).numpy()[0, :, :, 0]
    assert out[1:8, 1:8].min() > 0.2 and out.sum() > image.sum() * 2


@pytest.mark.parametrize("layer", [
    layers.RandomRotation(0.3, fill_mode="constant"), layers.RandomTranslation(0.3, 0.3, fill_mode="constant"),
    layers.RandomZoom((-0.4, 0.4), fill_mode="constant"), layers.RandomRotation(0.5),  # reflect
])
def test_warped_values_stay_in_the_input_range(layer):
    x = _images(n=16, size=10)
    out = layer(x, training=True).numpy()
    assert out.shape == x.shape
    assert out.min() >= -1e-6 and out.max() <= x.max() + 1e-5
    assert not np.allclose(out, x)


def test_augmentation_accepts_a_single_image():
    x = _images(n=1)[0]
    assert layers.RandomRotation(0.1)(x, training=True).shape == x.shape


# ---------------------------------------------------------------- config

@pytest.mark.parametrize("layer", [
    layers.Dense(3, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01), input_shape=(4,)),
    layers.Conv2D(8, (3, 5), strides=2, padding="same", activation="elu"),
    layers.MaxPooling2D(3, strides=1), layers.AveragePooling2D(), layers.Flatten(), layers.Reshape((2, -1)),
    layers.Dropout(0.3, seed=5), layers.BatchNormalization(momentum=0.9), layers.Activation("softmax"),
    layers.ReLU(max_value=6.0), layers.Softmax(axis=1), layers.RandomFlip("vertical"),
    layers.RandomRotation(0.1, fill_mode="constant"), layers.RandomZoom(0.2, 0.1),
])
def test_get_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
