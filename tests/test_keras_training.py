"""Training end to end: the Keras examples a TF user runs (unchanged except the import line),
the Model APIs around fit/evaluate/predict, and the errors a user gets for bad input."""
import time

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras

from without_numpy import run_without_numpy


@pytest.fixture(scope="module")
def mnist():
    return keras.datasets.mnist.load_data()


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(1234)
    keras.backend.clear_session()


def _report(name, seconds, accuracy):
    print(f"\n{name}: test accuracy {accuracy:.4f} in {seconds:.1f}s")


# ---------------------------------------------------------------- the seed examples

def test_keras_mnist_example(mnist):
    """The tf.keras beginner example: >= 92% on the 2000 test digits after 5 epochs."""
    start = time.time()
    (x_train, y_train), (x_test, y_test) = mnist
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test), verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    _report("MNIST MLP, 5 epochs", time.time() - start, accuracy)
    assert accuracy >= 0.92
    assert history.history["val_accuracy"][-1] == pytest.approx(accuracy)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    predictions = model.predict(x_test[:5], verbose=0)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (5, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_keras_convnet_example(mnist):
    """Keras's 'simple MNIST convnet' (fewer epochs, Keras's default batch size): >= 95%."""
    start = time.time()
    (x_train, y_train), (x_test, y_test) = mnist
    num_classes = 10
    input_shape = (28, 28, 1)
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=3, validation_split=0.1, verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    _report("MNIST convnet, 3 epochs", time.time() - start, score[1])
    assert score[1] >= 0.95


def test_custom_training_loop_with_tf_function(mnist):
    start = time.time()
    (x_train, y_train), (x_test, y_test) = mnist
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10),
    ])
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.Adam()
    train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy()

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        train_accuracy.update_state(y, logits)
        return loss

    def test_accuracy():
        logits = model(x_test, training=False)
        return float(np.mean(np.argmax(logits.numpy(), axis=1) == y_test))

    before = test_accuracy()
    losses = [float(train_step(x_train[i:i + 64], y_train[i:i + 64])) for i in range(0, len(x_train), 64)]
    after = test_accuracy()
    _report("custom loop, 1 epoch", time.time() - start, after)
    assert np.mean(losses[-20:]) < 0.25 * np.mean(losses[:5])
    assert before < 0.3 and after > 0.85
    assert float(train_accuracy.result()) > 0.75
    assert int(optimizer.iterations) == len(losses)


# ---------------------------------------------------------------- model kinds

def _toy_classification(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("int64")  # XOR-like quadrants
    return x, y


def test_functional_model_trains():
    x, y = _toy_classification()
    inputs = keras.Input(shape=(2,))
    hidden = keras.layers.Dense(16, activation="tanh")(inputs)
    hidden = keras.layers.Dense(16, activation="tanh")(hidden)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert isinstance(model, keras.Model) and len(model.layers) == 4
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_subclassed_model_trains_and_uses_training_flag():
    calls = []

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(16, activation="relu")
            self.dropout = keras.layers.Dropout(0.1)
            self.out = keras.layers.Dense(2)

        def call(self, inputs, training=False):
            calls.append(training)
            return self.out(self.dropout(self.hidden(inputs), training=training))

    x, y = _toy_classification()
    model = Classifier()
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert calls[0] is True
    model.predict(x, verbose=0)
    assert calls[-1] is False
    assert len(model.trainable_weights) == 4 and model.count_params() == 2 * 16 + 16 + 16 * 2 + 2


def test_sequential_add_pop_and_deferred_build():
    model = keras.Sequential()
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dense(3))
    assert not model.built
    out = model(np.zeros((5, 4), "float32"))
    assert tuple(out.shape) == (5, 3) and model.built
    assert [w.shape for w in model.get_weights()] == [(4, 8), (8,), (8, 3), (3,)]
    popped = model.pop()
    assert popped.units == 3 and len(model.layers) == 1
    model.build((None, 4))
    assert tuple(model(np.zeros((2, 4))).shape) == (2, 8)
    with pytest.raises(ValueError, match="unique names"):
        model.add(keras.layers.Dense(2, name=model.layers[0].name))


def test_nested_sequential_models():
    encoder = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(6,))])
    model = keras.Sequential([encoder, keras.layers.Dense(2)])
    assert len(model.trainable_weights) == 4
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.random.rand(16, 6), np.random.rand(16, 2), epochs=1, verbose=0)


def test_python_lists_and_int_arrays_are_accepted():
    model = keras.Sequential([keras.layers.Dense(8, activation="tanh", input_shape=(2,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    xor_x = [[0, 0], [0, 1], [1, 0], [1, 1]]
    xor_y = [0, 1, 1, 0]
    model.fit(xor_x, xor_y, epochs=200, batch_size=4, verbose=0)
    assert model.evaluate(xor_x, xor_y, verbose=0)[1] == 1.0
    predictions = model.predict(np.array(xor_x, dtype="uint8"), verbose=0)
    assert predictions.dtype == np.float32 and (predictions.round().ravel() == xor_y).all()
    assert tuple(model(tf.constant(xor_x)).shape) == (4, 1)


# ---------------------------------------------------------------- fit / evaluate / predict API

def test_evaluate_predict_and_batch_methods():
    x, y = _toy_classification(64)
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    result = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 2 and all(isinstance(v, float) for v in result)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "accuracy"] and as_dict["loss"] == pytest.approx(result[0], rel=1e-6)
    assert model.metrics_names == ["loss", "accuracy"]
    # predict batches agree with one big call
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), model(x).numpy(), rtol=1e-6)
    assert isinstance(model.predict_on_batch(x[:3]), np.ndarray)
    loss, acc = model.train_on_batch(x, y)
    assert isinstance(loss, float) and 0 <= acc <= 1
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    no_metrics = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    no_metrics.compile(optimizer="sgd", loss="mse")
    assert isinstance(no_metrics.evaluate(x, y, verbose=0), float)


def test_validation_split_uses_the_last_samples():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.zeros((10, 1), "float32")
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,), kernel_initializer="ones",
                                                 bias_initializer="zeros", trainable=False)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    expected_val = np.mean(x[8:].sum(axis=1) ** 2)  # frozen model: the loss is just the prediction squared
    assert history.history["val_loss"][0] == pytest.approx(expected_val, rel=1e-6)
    assert history.history["loss"][0] == pytest.approx(np.mean(x[:8].sum(axis=1) ** 2), rel=1e-6)


def test_shuffling_is_seeded_and_steps_per_epoch_limits_batches():
    def run():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer="sgd", loss="mse")
        seen = []
        model.fit(np.random.rand(40, 2), np.random.rand(40, 1), batch_size=8, epochs=2, steps_per_epoch=3,
                  verbose=0, callbacks=[keras.callbacks.LambdaCallback(
                      on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))])
        return seen, model.get_weights()
    first, weights_a = run()
    second, weights_b = run()
    assert len(first) == 6 and first == second
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_sample_weight_and_class_weight():
    x = np.ones((4, 1), "float32")
    y = np.array([[0.0], [0.0], [2.0], [2.0]], "float32")
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(1,), kernel_initializer="zeros",
                                                 use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    # weighted towards the samples with target 2: the prediction is pulled up to ~2
    model.fit(x, y, sample_weight=np.array([0.0, 0.0, 1.0, 1.0]), epochs=150, verbose=0)
    assert model.predict(x[:1], verbose=0)[0, 0] == pytest.approx(2.0, abs=0.05)
    labels = np.array([0, 0, 1, 1])
    clf = keras.Sequential([keras.layers.Dense(2, input_shape=(1,), kernel_initializer="zeros")])
    clf.compile(optimizer=keras.optimizers.SGD(0.5),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clf.fit(x, labels, class_weight={0: 1.0, 1: 3.0}, epochs=50, verbose=0)
    probabilities = tf.nn.softmax(clf(x[:1])).numpy()[0]
    assert probabilities[1] == pytest.approx(0.75, abs=0.02)  # the weighted class frequency


def test_fit_reads_values_back_once_per_epoch_not_per_batch(monkeypatch):
    """Metrics and losses stay on the device: the number of device reads during fit does not
    grow with the number of batches (reads happen per epoch: shuffling order, epoch logs)."""
    backend = tf.constant(0.0).backend
    reads = []
    for name in ("to_list", "to_numpy"):
        original = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *args, _original=original: reads.append(1) or _original(*args))

    def reads_during_fit(samples):
        model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        x, y = tf.random.normal((samples, 3)), tf.constant([0, 1] * (samples // 2))
        reads.clear()
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        return len(reads)
    assert reads_during_fit(40) == reads_during_fit(400) <= 2 * 3


def test_get_and_set_weights_round_trip():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), keras.layers.BatchNormalization()])
    weights = model.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights) and len(weights) == 6
    new = [w + 1.0 for w in weights]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    other = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), keras.layers.BatchNormalization()])
    other.set_weights(model.get_weights())
    x = np.random.rand(4, 2).astype("float32")
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_variables_properties():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), keras.layers.BatchNormalization()])
    assert len(model.trainable_variables) == 4 and len(model.non_trainable_variables) == 2
    assert len(model.variables) == len(model.weights) == 6
    assert all(isinstance(v, tf.Variable) for v in model.variables)


def test_to_categorical():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2, 1], 3), np.eye(3)[[0, 2, 1]])
    np.testing.assert_array_equal(keras.utils.to_categorical(np.array([[1], [0]])), [[0, 1], [1, 0]])
    assert keras.utils.to_categorical(np.array([3]), 5).shape == (1, 5)


# ---------------------------------------------------------------- errors

def test_fit_with_mismatched_lengths_names_both():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"'x' sizes: 100.*'y' sizes: 99"):
        model.fit(np.zeros((100, 3)), np.zeros((99, 1)), verbose=0)


def test_fit_before_compile_is_an_error():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 1)))


def test_wrong_input_shape_names_the_layer():
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"sequential.*expected shape=\(None, 28, 28\).*found shape=\(8, 784\)"):
        model.fit(np.zeros((8, 784)), np.zeros((8, 10)), verbose=0)


@pytest.mark.parametrize("kwargs, names", [
    ({"optimizer": "adamm", "loss": "mse"}, "adam, adagrad|adagrad, adam"),
    ({"optimizer": "adam", "loss": "mean_squared_eror"}, "mean_squared_error"),
    ({"optimizer": "adam", "loss": "mse", "metrics": ["acuracy"]}, "accuracy"),
])
def test_unknown_names_in_compile_list_the_valid_ones(kwargs, names):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match=names):
        model.compile(**kwargs)


def test_set_weights_validates_count_and_shapes():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])
    kernel, bias = model.get_weights()
    with pytest.raises(ValueError, match="length 1.*expecting 2 weights"):
        model.set_weights([kernel])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        model.set_weights([kernel.T, bias])
    np.testing.assert_array_equal(model.get_weights()[0], kernel)  # nothing was half-applied


def test_graph_disconnected_is_reported():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    out = keras.layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)


def test_summary_of_an_unbuilt_model_is_an_error():
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([keras.layers.Dense(2)]).summary()


# ---------------------------------------------------------------- packaging

def test_keras_imports_without_numpy():
    stdout = run_without_numpy("""
        from pykernel import keras
        from pykernel.keras import layers, losses, metrics, optimizers, callbacks, models, utils
        assert keras.Sequential and keras.Model and layers.RandomRotation and optimizers.get
        assert "numpy" not in sys.modules
        print("ok")
    """)
    assert stdout.strip() == "ok"


def test_training_never_needs_numpy():
    """fit/evaluate/predict/get_weights with NumPy blocked, on a backend that has no NumPy (the
    pure-Python one): the training path itself must not touch NumPy."""
    stdout = run_without_numpy("""
        import pykernel as tf
        from pykernel import backends
        if "python" not in backends.available():
            try:
                from pykernel.backends.python_backend import PythonBackend
            except ImportError:
                print("skip: no NumPy-free backend")
                raise SystemExit(0)
            backends.register("python", PythonBackend)
        backends.set_default("python")
        from pykernel import keras
        keras.utils.set_random_seed(0)
        x, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=100, verbose=0, validation_data=(x, y),
                            callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=3)])
        assert history.history["accuracy"][-1] == 1.0, history.history
        assert model.evaluate(x, y, verbose=0)[1] == 1.0
        predictions = model.predict(x, verbose=0)
        assert isinstance(predictions, tf.Tensor) and predictions.shape == (4, 1)
        model.set_weights(model.get_weights())
        keras.layers.RandomRotation(0.1)(tf.ones((1, 4, 4, 1)), training=True)
        assert "numpy" not in sys.modules
        print("ok")
    """, timeout=300)
    assert stdout.strip() == "ok"


def test_demo_runs(capsys):
    from pykernel import demo
    accuracy = demo.main(["--epochs", "1", "--verbose", "0", "--seed", "0"])
    out = capsys.readouterr().out
    assert "Test accuracy:" in out and accuracy > 0.85


def test_steps_per_execution_groups_steps_between_callbacks_and_trains_the_same():
    """compile(steps_per_execution=N): callbacks see one batch per N steps (first and last step
    of each execution), as in Keras; the training itself is unchanged."""
    import pykernel as tf
    from pykernel import keras

    class Seen(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.ends = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.begins.append(batch)

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(batch)

    def train(steps_per_execution):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
        model.compile("adam", "mse", steps_per_execution=steps_per_execution)
        seen = Seen()
        x = tf.reshape(tf.range(30.0), (10, 3)) / 30.0
        history = model.fit(x, tf.ones((10, 1)), batch_size=1, epochs=2, verbose=0, callbacks=[seen])
        return history.history, [w.numpy() for w in model.weights], seen

    (h1, w1, s1), (h4, w4, s4) = train(1), train(4)
    assert s1.begins == s1.ends == list(range(10)) * 2
    assert s4.begins == [0, 4, 8] * 2 and s4.ends == [3, 7, 9] * 2
    assert h1 == h4
    for a, b in zip(w1, w4):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="steps_per_execution must be a positive integer"):
        keras.Sequential([keras.layers.Dense(1)]).compile("sgd", "mse", steps_per_execution=0)
