"""Tensor, Variable, GradientTape and tf.function semantics (TF 2 is the spec)."""

import numpy as np
import pytest

import pykernel as tf

from without_numpy import run_without_numpy


def test_seed_example_add():
    a = tf.constant([1.0, 2.0])
    b = tf.constant([3.0, 4.0])
    c = tf.add(a, b)
    assert c.tolist() == [4.0, 6.0]
    assert c.dtype is tf.float32 and c.shape == (2,)


@pytest.mark.parametrize("value, dtype, shape", [
    (1.5, tf.float32, ()),
    (3, tf.int32, ()),
    (True, tf.bool, ()),
    ([[1, 2], [3, 4]], tf.int32, (2, 2)),
    ([[1.0, 2], [3, 4]], tf.float32, (2, 2)),
    ([], tf.float32, (0,)),
    (2**40, tf.int64, ()),
    (np.zeros((2, 3), np.float64), tf.float64, (2, 3)),
    (np.arange(4, dtype=np.uint8), tf.uint8, (4,)),
    (np.int64(7), tf.int64, ()),
])
def test_constant_infers_dtype_and_shape_like_tf(value, dtype, shape):
    t = tf.constant(value)
    assert t.dtype is dtype
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), np.asarray(value))


def test_constant_with_dtype_and_shape():
    assert tf.constant(0.5, shape=(2, 3)).tolist() == [[0.5] * 3] * 2
    assert tf.constant([1, 2, 3, 4], shape=[2, 2], dtype=tf.float32).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tf.constant(bytes([1, 2, 255]), dtype=tf.uint8, shape=(3, 1)).tolist() == [[1], [2], [255]]
    with pytest.raises(TypeError, match="not an integer"):
        tf.constant([1.5], dtype=tf.int32)
    with pytest.raises(ValueError, match="ragged"):
        tf.constant([[1, 2], [3]])
    with pytest.raises(TypeError, match="Can't convert str"):
        tf.constant(["a"])


def test_tensor_reading_and_repr():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert t.ndim == 2 and t.shape.as_list() == [2, 2] and t.shape.num_elements() == 4
    assert repr(t) == ("<tf.Tensor: shape=(2, 2), dtype=float32, numpy=\n"
                       "array([[1., 2.],\n       [3., 4.]], dtype=float32)>")
    assert repr(tf.constant(3)) == "<tf.Tensor: shape=(), dtype=int32, numpy=3>"
    assert "shape=(2, 2), dtype=float32" in str(t)
    assert float(tf.constant(2.5)) == 2.5 and int(tf.constant(7)) == 7
    assert [row.tolist() for row in t] == [[1.0, 2.0], [3.0, 4.0]]
    assert len(t) == 2 and t.device == "CPU:0"
    assert np.asarray(t).sum() == 10.0
    with pytest.raises(TypeError, match="single-element"):
        float(t)
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_operators_broadcast_and_literals_take_tensor_dtype():
    x = tf.constant([[1.0], [2.0]])
    y = tf.constant([10.0, 20.0, 30.0])
    np.testing.assert_allclose((x + y).numpy(), [[11, 21, 31], [12, 22, 32]])
    assert (x * 2).dtype is tf.float32          # int literal adopts float32
    assert (2 ** tf.constant(3)).tolist() == 8   # int tensor stays int
    assert (np.float64(2.0) * x).dtype is tf.float32  # numpy scalar follows the tensor
    assert (tf.constant([1, 2]) / 2).dtype is tf.float32  # true division of ints gives floats
    assert (tf.constant([7, -7]) // 2).tolist() == [3, -4]
    assert (tf.constant([7, -7]) % 3).tolist() == [1, 2]
    assert (x > 1.5).tolist() == [[False], [True]]
    assert (-x).tolist() == [[-1.0], [-2.0]]


def test_dtype_and_shape_errors_name_what_was_wrong():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"float32 .*int32"):
        tf.add(tf.constant([1.0]), tf.constant([1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(2, 3\) and \(4,\)"):
        tf.ones((2, 3)) + tf.ones((4,))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(2, 3\).*\(4, 5\)"):
        tf.matmul(tf.ones((2, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError):  # InvalidArgumentError is also a ValueError
        tf.reshape(tf.ones((2, 3)), (4, 2))


def test_indexing_basic_and_integer_arrays():
    x = tf.reshape(tf.range(24), (2, 3, 4))
    ref = np.arange(24).reshape(2, 3, 4)
    for key in [0, -1, (1, 2), (slice(None), 1), (Ellipsis, -1), (slice(None, None, -1), None, 0),
                (0, slice(1, None), slice(None, None, 2)), ([1, 0, 1],), (0, [2, -1]), (slice(None), tf.constant([0, 2]))]:
        key = key if isinstance(key, tuple) else (key,)
        np_key = tuple(k.numpy() if isinstance(k, tf.Tensor) else k for k in key)
        np.testing.assert_array_equal(x[key].numpy(), ref[np_key])
    with pytest.raises(IndexError, match="out of bounds"):
        x[5]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0, 0]


def test_variable_assign_and_snapshot_semantics():
    v = tf.Variable([1.0, 2.0], name="w")
    before = v.read_value()
    v.assign_add([1.0, 1.0])
    assert before.tolist() == [1.0, 2.0]  # an earlier read keeps its value
    assert v.numpy().tolist() == [2.0, 3.0]
    v.assign_sub(tf.constant([2.0, 2.0]))
    assert v.tolist() == [0.0, 1.0]
    assert (v + 1).tolist() == [1.0, 2.0] and v.name == "w:0" and v.trainable
    assert not tf.Variable(1.0, trainable=False).trainable
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dtype int32"):
        v.assign(tf.constant([1, 2]))


def test_tape_watches_trainable_variables_and_explicit_tensors():
    w = tf.Variable(3.0)
    frozen = tf.Variable(5.0, trainable=False)
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        y = w * w * x + frozen
    gw, gx, gf = tape.gradient(y, [w, x, frozen])
    assert gw.item() == 12.0 and gx is None and gf is None
    assert tape.watched_variables() == (w,)

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x ** 3
    assert tape.gradient(y, x).item() == 12.0


def test_tape_structures_unconnected_and_persistence():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "pair": (b, c)})
    assert grads["a"].item() == 2.0 and grads["pair"][0].item() == 1.0 and grads["pair"][1] is None
    zeros = tape.gradient(y, [c], unconnected_gradients="zero")
    assert zeros[0].item() == 0.0  # persistent: a second call works
    with tf.GradientTape() as tape:
        y = a * b
    tape.gradient(y, a)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, a)


def test_gradient_of_intermediate_and_multiple_targets():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = x * 3.0
        y = tf.reduce_sum(h * h)
    np.testing.assert_allclose(tape.gradient(y, h).numpy(), [6.0, 12.0])
    np.testing.assert_allclose(tape.gradient([y, h], x).numpy(), [18 * 1 + 3, 18 * 2 + 3])
    np.testing.assert_allclose(tape.gradient(h, x, output_gradients=tf.constant([1.0, -1.0])).numpy(), [3, -3])


def test_higher_order_gradients_with_nested_tapes():
    x = tf.Variable(0.7)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.tanh(x) * x
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    t = np.tanh(0.7)
    assert dy.numpy() == pytest.approx(t + 0.7 * (1 - t * t), rel=1e-6)
    assert d2y.numpy() == pytest.approx(2 * (1 - t * t) - 2 * 0.7 * t * (1 - t * t), rel=1e-5)


def test_jacobian():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), np.diag([2.0, 4.0, 6.0]))


def test_stop_gradient_and_stop_recording():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * tf.stop_gradient(x * 5.0)
        with tape.stop_recording():
            z = x * 100.0
        total = y + z
    assert tape.gradient(total, x).item() == 10.0


def test_function_decorator_traces_and_calls():
    calls = []

    @tf.function
    def step(a, b):
        calls.append(1)
        return a * b + 1.0

    assert step(tf.constant(2.0), tf.constant(3.0)).item() == 7.0

    class Model:
        scale = 2.0

        @tf.function(jit_compile=True)
        def __call__(self, x):
            return x * self.scale

    assert Model()(tf.constant(4.0)).item() == 8.0

    w = tf.Variable([1.0, 1.0])

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w * x - 1.0) ** 2)
        (g,) = tape.gradient(loss, [w])
        w.assign_sub(0.4 * g)
        return loss

    losses = [train_step(tf.constant([0.5, 1.0])).item() for _ in range(30)]
    assert losses[-1] < 0.01 * losses[0]


def test_random_is_seeded_like_tf():
    tf.random.set_seed(42)
    a = [tf.random.normal([3]).tolist(), tf.random.uniform([2]).tolist()]
    tf.random.set_seed(42)
    b = [tf.random.normal([3]).tolist(), tf.random.uniform([2]).tolist()]
    assert a == b
    assert tf.random.uniform([4], seed=1).tolist() != tf.random.uniform([4], seed=1).tolist()


def test_import_without_numpy():
    stdout = run_without_numpy("""
        import pykernel as tf
        from pykernel import keras
        assert "numpy" not in sys.modules
        print("ok", tf.float32, tf.function, tf.GradientTape)
    """)
    assert stdout.startswith("ok")


def test_runs_without_numpy_on_the_pure_python_backend():
    """Offline Pyodide has no NumPy: the cpu device falls back to the pure-Python backend."""
    stdout = run_without_numpy("""
        import pykernel as tf
        from pykernel import keras
        assert type(tf.constant(1.0).backend).__name__ == "PythonBackend"
        (x, y), _ = keras.datasets.playground.load_data("xor", n_samples=200, seed=3)
        tf.random.set_seed(0)
        model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(2,)),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=25, batch_size=25, verbose=0)
        (digits, labels), _ = keras.datasets.mnist.load_data()
        assert "numpy" not in sys.modules
        print(history.history["accuracy"][-1])
        print(tuple(digits.shape))
        print(digits.dtype.name)
    """)
    accuracy, shape, dtype = stdout.splitlines()
    assert float(accuracy) > 0.85
    assert shape == "(8000, 28, 28)" and dtype == "uint8"
