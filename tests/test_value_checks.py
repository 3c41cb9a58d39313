"""Values TF rejects from inside a kernel are rejected here too, on every backend: labels
outside [0, classes), gather indices out of range, integer division by zero (issue 9: they
gave a zero loss, a wrapped index and a 0 quotient). The CPU backends raise at the op; the
WebGPU backend at the next read (tests/webgpu/test_value_checks_on_webgpu.py)."""
import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from pykernel.errors import InvalidArgumentError

from without_numpy import run_without_numpy


def logits(rows, classes=3):
    return tf.constant(np.random.default_rng(0).standard_normal((rows, classes)).astype(np.float32))


@pytest.mark.parametrize("bad", [3, 5, -1])
def test_sparse_crossentropy_rejects_labels_outside_the_classes(bad):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(InvalidArgumentError, match=rf"Received a label value of {bad} which is outside the "
                       r"valid range of \[0, 3\)"):
        loss(tf.constant([0, bad, 1]), logits(3))
    with pytest.raises(InvalidArgumentError, match=rf"label value of {bad}"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, bad, 1], logits=logits(3))
    with pytest.raises(InvalidArgumentError, match=rf"label value of {bad}"):   # probabilities, float labels
        keras.losses.sparse_categorical_crossentropy(np.array([0.0, bad, 1.0]), tf.nn.softmax(logits(3)))


def test_sparse_crossentropy_still_accepts_valid_and_ignored_labels():
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    value = loss(tf.constant([0, -1, 2]), logits(3)).numpy()
    assert np.isfinite(value) and value > 0
    per_sample = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 2, 1], logits=logits(3)).numpy()
    x = logits(3).numpy()
    expected = -np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True))[[0, 1, 2], [0, 2, 1]]
    np.testing.assert_allclose(per_sample, expected, rtol=1e-5)


def test_fit_with_a_bad_label_raises_instead_of_fitting_perfectly():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x = np.random.default_rng(1).random((64, 4)).astype(np.float32)
    with pytest.raises(InvalidArgumentError, match=r"label value of 5 which is outside the valid range of \[0, 3\)"):
        model.fit(x, np.array([0, 1, 2, 5] * 16), epochs=1, verbose=0)
    with pytest.raises(InvalidArgumentError, match="label value of -1"):
        model.evaluate(x, np.array([0, -1, 2, 1] * 16), verbose=0)


@pytest.mark.parametrize("index", [3, 7, -1])
def test_gather_rejects_indices_out_of_range(index):
    with pytest.raises(InvalidArgumentError, match=rf"gather: .*indices hold {index}, which is not in \[0, 3\)"):
        tf.gather(tf.constant([1.0, 2.0, 3.0]), [0, index])
    with pytest.raises(InvalidArgumentError, match=r"not in \[0, 2\) \(axis 1 of params with shape \[3, 2\]\)"):
        tf.gather(tf.zeros((3, 2)), [[0], [index if index != 3 else 2]], axis=1)


def test_gather_in_range_and_its_gradient_are_unchanged():
    x = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    with tf.GradientTape() as tape:
        y = tf.gather(x, [3, 0, 3], axis=0)
        loss = tf.reduce_sum(y * y)
    np.testing.assert_array_equal(y.numpy(), np.arange(12, dtype=np.float32).reshape(4, 3)[[3, 0, 3]])
    grad = tape.gradient(loss, x).numpy()
    expected = np.zeros((4, 3), np.float32)
    expected[3] = 4 * x.numpy()[3]
    expected[0] = 2 * x.numpy()[0]
    np.testing.assert_array_equal(grad, expected)


def test_array_indexing_out_of_bounds_is_an_index_error():
    x = tf.zeros((3, 4))
    with pytest.raises(IndexError, match="index 3 is out of bounds for an axis with size 3"):
        x[[0, 3]]
    with pytest.raises(IndexError, match="index -4 is out of bounds for an axis with size 3"):
        x[[0, -4]]
    np.testing.assert_array_equal(tf.constant([10, 20, 30])[[-1, 0]].numpy(), [30, 10])


@pytest.mark.parametrize("op", ["floordiv", "floormod"])
def test_integer_division_by_zero_raises(op):
    fn = getattr(tf.math, op)
    with pytest.raises(InvalidArgumentError, match=f"{op}: integer division by zero"):
        fn(tf.constant([4, 5]), tf.constant([1, 0]))
    with pytest.raises(InvalidArgumentError, match=f"{op}: integer division by zero"):
        fn(tf.constant([4, 5]), 0)
    with pytest.raises(InvalidArgumentError, match="integer division by zero"):
        tf.constant([4, 5], dtype=tf.uint8) // tf.constant([0, 1], dtype=tf.uint8) if op == "floordiv" \
            else tf.constant([4, 5], dtype=tf.uint8) % tf.constant([0, 1], dtype=tf.uint8)


def test_division_that_is_allowed_stays_allowed():
    np.testing.assert_array_equal((tf.constant([7, -7]) // 2).numpy(), [3, -4])
    np.testing.assert_array_equal((tf.constant([7, -7]) % tf.constant([3, 3])).numpy(), [1, 2])
    assert np.isinf((tf.constant([4.0, 5.0]) // 0.0).numpy()).all()   # floats: IEEE, as in TF
    np.testing.assert_array_equal(tf.math.divide_no_nan(tf.constant([4.0]), 0.0).numpy(), [0.0])


def test_checks_run_on_the_pure_python_backend():
    out = run_without_numpy("""
import pykernel as tf
from pykernel.errors import InvalidArgumentError
seen = []
for call in (lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 3], logits=tf.zeros((2, 3))),
             lambda: tf.gather(tf.constant([1.0, 2.0]), [2]),
             lambda: tf.constant([1, 2]) // tf.constant([0, 1])):
    try:
        call()
        seen.append("no error")
    except InvalidArgumentError as e:
        seen.append(str(e).split(":")[0].split(" which")[0])
print(seen)
""")
    assert out.strip() == "['Received a label value of 3', 'gather', 'floordiv']", out


# ------------------------------------------------------------------ errors already clearer than TF's
# (TF aborts or returns garbage on these; keep them clear)

def test_kept_clear_errors_where_tf_aborts():
    with pytest.raises(InvalidArgumentError, match=r"conv2d: input must be rank 4 .* got shape \(5, 5, 3\)"):
        tf.nn.conv2d(tf.zeros((5, 5, 3)), tf.zeros((3, 3, 3, 4)), 1, "SAME")
    with pytest.raises(InvalidArgumentError, match=r"filters of shape \(3, 3, 3, 4\) do not fit input"):
        tf.nn.conv2d(tf.zeros((1, 2, 2, 3)), tf.zeros((3, 3, 3, 4)), 1, "VALID")
    with pytest.raises(ValueError, match="Cannot convert 2147483648 to int32: out of range"):
        tf.constant([2**31], dtype=tf.int32)
    deep = [1.0]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="more than 64 levels deep"):
        tf.constant(deep)
    shallow = [1.0]
    for _ in range(63):
        shallow = [shallow]
    assert tf.constant(shallow).shape == (1,) * 64
