"""tf.cond, tf.while_loop, tf.TensorArray and the AutoGraph rewrite, eager and traced.

Every traced result is checked against the same Python computed eagerly (or by hand), at
several inputs per trace, so that a graph that froze the first call's values fails.
"""
import io
import sys

import numpy as np
import pytest

import pykernel as tf
from pykernel.errors import OperatorNotAllowedInGraphError


def values(t):
    return np.asarray(t.numpy())


def test_cond_without_side_effects_is_one_trace_for_both_branches():
    @tf.function
    def f(x):
        return tf.cond(tf.reduce_sum(x) > 0, lambda: x * x, lambda: -x * 3.0)

    for data in ([1.0, 2.0], [-1.0, -5.0], [3.0, -1.0]):
        x = tf.constant(data)
        expected = np.square(data) if sum(data) > 0 else -np.asarray(data) * 3.0
        np.testing.assert_allclose(values(f(x)), expected)
    assert f.experimental_get_tracing_count() == 1
    kinds = {op.kind for op in f.get_concrete_function(tf.constant([1.0, 2.0])).graph.get_operations()}
    assert "where" in kinds and "If" not in kinds   # selected on the device: no host read


def test_cond_with_a_python_predicate_traces_only_the_branch_taken():
    calls = []

    @tf.function
    def f(x, flag):
        return tf.cond(flag, lambda: calls.append("t") or x + 1.0, lambda: calls.append("f") or x - 1.0)

    assert float(f(tf.constant(1.0), True)) == 2.0 and calls == ["t"]
    assert float(f(tf.constant(1.0), False)) == 0.0 and calls == ["t", "f"]


def test_cond_that_assigns_runs_only_the_branch_taken_at_every_call():
    v = tf.Variable(0.0)
    log = io.StringIO()

    @tf.function
    def f(x):
        def up():
            v.assign_add(x)
            tf.print("up", output_stream=log)
            return tf.constant(1)

        def down():
            v.assign_sub(1.0)
            return tf.constant(-1)
        return tf.cond(x > 0, up, down), v.read_value()

    results = [(int(r), float(value)) for r, value in (f(tf.constant(x)) for x in (2.0, -7.0, 5.0))]
    assert results == [(1, 2.0), (-1, 1.0), (1, 6.0)]
    assert float(v.numpy()) == 6.0 and log.getvalue() == "up\nup\n"
    assert f.experimental_get_tracing_count() == 1
    assert "If" in {op.type for op in f.get_concrete_function(tf.constant(1.0)).graph.get_operations()}


def test_gradient_through_a_traced_cond():
    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * x, lambda: x * 3.0)
        return tape.gradient(y, x)

    np.testing.assert_allclose(values(grad(tf.constant([1.0, 2.0]))), [2.0, 4.0])
    np.testing.assert_allclose(values(grad(tf.constant([-1.0, -2.0]))), [3.0, 3.0])


def test_cond_branches_must_agree():
    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: tf.ones((2,)), lambda: tf.ones((3,)))

    with pytest.raises(ValueError, match="one shape and dtype"):
        f(tf.constant(1.0))
    with pytest.raises(TypeError, match="callables"):
        tf.cond(tf.constant(True), 1, 2)


def test_while_loop_eager_and_traced():
    def body(i, total):
        return i + 1, total + tf.cast(i, tf.float32)

    eager = tf.while_loop(lambda i, total: i < 5, body, [tf.constant(0), tf.constant(0.0)])
    assert int(eager[0]) == 5 and float(eager[1]) == 10.0

    @tf.function
    def f(n):
        _, total = tf.while_loop(lambda i, total: i < n, body, [tf.constant(0), tf.constant(0.0)])
        return total

    assert [float(f(tf.constant(n))) for n in (5, 10, 0, 1)] == [10.0, 45.0, 0.0, 0.0]
    assert f.experimental_get_tracing_count() == 1
    assert "While" in {op.type for op in f.get_concrete_function(tf.constant(3)).graph.get_operations()}


def test_while_loop_maximum_iterations_and_captured_tensors():
    @tf.function
    def f(x, scale):
        return tf.while_loop(lambda v: tf.reduce_sum(v) < 1000.0, lambda v: v * scale, [x], maximum_iterations=4)

    (out,) = f(tf.constant([1.0, 1.0]), tf.constant(2.0))
    np.testing.assert_allclose(values(out), [16.0, 16.0])
    (out,) = f(tf.constant([1.0, 1.0]), tf.constant(10.0))
    np.testing.assert_allclose(values(out), [1000.0, 1000.0])   # stops when the sum reaches 1000 (2 steps)


def test_while_loop_body_must_keep_shapes():
    @tf.function
    def f(x):
        return tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: tf.concat([v, v], 0), [x])

    with pytest.raises(ValueError, match="static shapes"):
        f(tf.constant([1.0]))


def test_tensor_array_write_read_stack_unstack():
    ta = tf.TensorArray(tf.float32, size=3)
    for i in range(3):
        ta = ta.write(i, tf.constant([float(i), 1.0]))
    np.testing.assert_array_equal(values(ta.stack()), [[0, 1], [1, 1], [2, 1]])
    np.testing.assert_array_equal(values(ta.read(1)), [1, 1])
    assert int(ta.size()) == 3
    grown = tf.TensorArray(tf.int32, size=0, dynamic_size=True).unstack(tf.constant([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(values(grown.gather([1, 0])), [[3, 4], [1, 2]])
    np.testing.assert_array_equal(values(grown.concat()), [1, 2, 3, 4])
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds"):
        tf.TensorArray(tf.float32, size=1).write(3, 1.0)

    @tf.function
    def squares(x):
        ta = tf.TensorArray(tf.float32, size=4)
        for i in range(4):
            ta = ta.write(i, x * float(i))
        return ta.stack()

    np.testing.assert_allclose(values(squares(tf.constant(2.0))), [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(values(squares(tf.constant(-1.0))), [0.0, -1.0, -2.0, -3.0])


# ---------------------------------------------------------------- AutoGraph


def test_autograph_if_else_on_a_tensor():
    @tf.function
    def f(x):
        if tf.reduce_sum(x) > 0:
            y = x * x
        else:
            y = -x // 2
        return y

    np.testing.assert_array_equal(values(f(tf.constant([1, 2]))), [1, 4])
    np.testing.assert_array_equal(values(f(tf.constant([-3, -4]))), [1, 2])
    assert f.experimental_get_tracing_count() == 1


def test_autograph_if_with_returns():
    @tf.function
    def f(x):
        if x > 10.0:
            return x - 10.0
        elif x > 0.0:
            return x * 2.0
        return -x

    assert [float(f(tf.constant(v))) for v in (15.0, 3.0, -4.0)] == [5.0, 6.0, 4.0]
    assert f.experimental_get_tracing_count() == 1


def test_autograph_for_over_tf_range_with_a_tensor_bound():
    @tf.function
    def total(n):
        s = tf.constant(0)
        for i in tf.range(n):
            s += i
        return s

    assert [int(total(tf.constant(n))) for n in (5, 10, 0)] == [10, 45, 0]
    assert total.experimental_get_tracing_count() == 1

    @tf.function
    def stepped(n):
        s = 0
        for i in tf.range(2, n, 3):
            s += i
        return s

    assert [int(stepped(tf.constant(n))) for n in (12, 3)] == [sum(range(2, 12, 3)), 2]


def test_autograph_while_on_a_tensor():
    @tf.function
    def halve(x):
        while tf.reduce_sum(x) > 1.0:
            x = x / 2.0
        return x

    np.testing.assert_allclose(values(halve(tf.constant([8.0, 8.0]))), [0.5, 0.5])
    np.testing.assert_allclose(values(halve(tf.constant([100.0]))), [0.78125])


def test_autograph_fizzbuzz_prints_at_every_call():
    out = io.StringIO()

    @tf.function
    def fizzbuzz(n):
        for i in tf.range(1, n + 1):
            if i % 15 == 0:
                tf.print("FizzBuzz", output_stream=out)
            elif i % 3 == 0:
                tf.print("Fizz", output_stream=out)
            elif i % 5 == 0:
                tf.print("Buzz", output_stream=out)
            else:
                tf.print(i, output_stream=out)

    fizzbuzz(tf.constant(15))
    expected = ["FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i)
                for i in range(1, 16)]
    assert out.getvalue().split() == expected
    out.truncate(0), out.seek(0)
    fizzbuzz(tf.constant(5))
    assert out.getvalue().split() == expected[:5]
    assert fizzbuzz.experimental_get_tracing_count() == 1


def test_autograph_keeps_python_control_flow_on_python_values():
    trace_notes = []

    @tf.function
    def f(x, n):
        out = x
        for i in range(n):      # a Python loop over a Python int unrolls
            if i % 2 == 0:      # a Python condition runs as Python
                out = out + float(i)
                trace_notes.append(i)
        return out

    assert float(f(tf.constant(1.0), 5)) == 1.0 + 0 + 2 + 4
    assert trace_notes == [0, 2, 4]
    assert float(f(tf.constant(2.0), 5)) == 2.0 + 6   # replayed: Python did not run again
    assert trace_notes == [0, 2, 4]


def test_autograph_variable_assign_in_a_tensor_if():
    v = tf.Variable(0)

    @tf.function
    def k(x):
        for i in range(3):
            if x > i:
                v.assign_add(1)
        return v.read_value()

    assert int(k(tf.constant(2))) == 2
    assert int(k(tf.constant(0))) == 2
    assert int(k(tf.constant(9))) == 5


def test_autograph_name_defined_in_one_branch_only_is_an_error_when_used():
    @tf.function
    def f(x):
        if x > 0:
            y = x + 1.0
        else:
            z = x - 1.0   # noqa: F841
        return y

    with pytest.raises(ValueError, match="only inside some branches"):
        f(tf.constant(1.0))


def test_unconvertible_code_names_the_line():
    @tf.function
    def f(x):
        for i in range(3):
            if x > i:   # a `break` inside: left as Python, so the tensor condition is an error
                break
        return x

    with pytest.raises(OperatorNotAllowedInGraphError, match=r"test_graph_control_flow\.py:\d+ \(`if x > i:"):
        f(tf.constant(1.0))


def test_autograph_off_leaves_python_semantics():
    @tf.function(autograph=False)
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(OperatorNotAllowedInGraphError):
        f(tf.constant(1.0))


def test_tf_print_formats_like_tensorflow():
    out = io.StringIO()
    tf.print("ints", tf.constant([1, 2, 3]), "floats", tf.constant([1.0, 2.5]), tf.constant(True),
             output_stream=out)
    tf.print(tf.range(10), summarize=2, output_stream=out, sep="|", end="!\n")
    assert out.getvalue() == "ints [1 2 3] floats [1 2.5] 1\n[0 1 ... 8 9]!\n"
    tf.print(tf.constant([[1, 2], [3, 4]]), output_stream=out)
    assert out.getvalue().endswith("[[1 2]\n [3 4]]\n")
    saved = sys.stderr
    try:
        sys.stderr = captured = io.StringIO()
        tf.print("to stderr")
    finally:
        sys.stderr = saved
    assert captured.getvalue() == "to stderr\n"
