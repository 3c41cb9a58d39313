"""tf.function's tracing rules on pykernel's own terms: what traces, what the graph holds,
what is an error. (tests/test_tf_oracle_function.py runs the same kind of programs on real
TensorFlow and compares the output; these also look inside the graphs.)"""
import pytest

import pykernel as tf


def op_types(concrete):
    return [op.type for op in concrete.graph.get_operations()]


def test_equal_python_numbers_share_a_trace_and_bools_convert_like_tf():
    @tf.function
    def f(x, n):
        return x + n

    x = tf.constant(1.0)
    assert [f(x, n).item() for n in (1, 1.0, True)] == [2.0, 2.0, 2.0]
    assert f.experimental_get_tracing_count() == 1
    assert f(x, False).item() == 1.0 and f.experimental_get_tracing_count() == 2
    assert (tf.constant([1.0, 2.0]) * True).tolist() == [1.0, 2.0]
    assert tf.constant([True, False], dtype=tf.float32).tolist() == [1.0, 0.0]


def test_a_variable_created_on_the_first_call_retraces_once_then_replays():
    class Counter:
        def __init__(self):
            self.v = None
            self.traces = 0

        @tf.function
        def __call__(self, x):
            self.traces += 1
            if self.v is None:
                self.v = tf.Variable(0.0)
            self.v.assign_add(x)
            return self.v.read_value()

    c = Counter()
    assert [c(tf.constant(2.0)).item() for _ in range(3)] == [2.0, 4.0, 6.0]
    assert c.traces == 2 and c.__call__.experimental_get_tracing_count() == 2   # as TF: once more, without creating
    ops = op_types(c.__call__.get_concrete_function(tf.constant(2.0)))
    assert "ReadVariableOp" in ops and "AssignVariableOp" in ops


def test_creating_a_variable_at_every_call_is_tfs_error_naming_the_line():
    @tf.function
    def f(x):
        v = tf.Variable(1.0)
        return x + v

    with pytest.raises(ValueError, match=r"singleton tf.Variables created on the first call.*test_function_tracing.py:\d+"):
        f(tf.constant(1.0))

    @tf.function
    def g(x):   # variables on a later trace (a new shape) are the same error
        if x.shape[0] == 3:
            tf.Variable(0.0)
        return x * 2.0

    assert g(tf.constant([1.0, 2.0])).tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="singleton"):
        g(tf.constant([1.0, 2.0, 3.0]))


def test_a_tf_function_called_while_another_traces_is_inlined_with_its_own_cache():
    scale = tf.Variable(3.0)
    traces = []

    @tf.function
    def inner(x):
        traces.append("inner")
        scale.assign_add(1.0)
        tf.print("inner sees", x)
        return x * scale

    @tf.function
    def outer(x):
        traces.append("outer")
        return inner(x) + 1.0

    assert outer(tf.constant(1.0)).item() == 5.0       # scale 4
    assert outer(tf.constant(2.0)).item() == 11.0      # scale 5: the assign is replayed inside outer
    assert inner(tf.constant(1.0)).item() == 6.0       # inner's own trace, made while outer traced
    assert traces == ["outer", "inner"]
    assert inner.experimental_get_tracing_count() == 1 and outer.experimental_get_tracing_count() == 1
    ops = op_types(outer.get_concrete_function(tf.constant(0.0)))
    assert ops.count("AssignVariableOp") == 1 and "PrintV2" in ops and "Mul" in ops


def test_inner_function_under_a_tape_inside_a_trace_is_differentiated():
    @tf.function
    def square(x):
        return x * x

    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = square(x)
        return tape.gradient(y, x)

    assert grad(tf.constant([1.0, -3.0])).tolist() == [2.0, -6.0]


def test_concrete_function_converts_values_and_rejects_other_dtypes_and_shapes():
    @tf.function
    def f(x, k=2):
        return x * k

    cf = f.get_concrete_function(tf.TensorSpec([3], tf.float32))
    assert cf([1.0, 2.0, 3.0]).tolist() == [2.0, 4.0, 6.0]
    assert f(tf.constant([1.0, 1.0, 1.0])).tolist() == [2.0, 2.0, 2.0]
    assert f.experimental_get_tracing_count() == 1     # the spec's trace serves tensors of its shape
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"int32 tensor of shape \[3\], expected float32\[3\]"):
        cf(tf.constant([1, 2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[2\]"):
        cf(tf.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="traced with the Python value 2, got 5"):
        cf(tf.constant([1.0, 2.0, 3.0]), k=5)


def test_input_signature_takes_python_lists_for_a_tensor_spec():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32), (tf.TensorSpec([], tf.int32),)])
    def f(x, pair):
        return tf.reduce_sum(x) * tf.cast(pair[0], tf.float32)

    assert f([1.0, 2.0], (3,)).item() == 9.0
    with pytest.raises(TypeError, match=r"argument 1 has structure"):
        f([1.0], 3)
    with pytest.raises(TypeError, match=r"argument 0 .*does not match"):
        f([[1.0]], (3,))


def test_a_symbolic_tensor_has_no_numpy_attribute():
    seen = []

    @tf.function
    def f(x):
        seen.append(hasattr(x, "numpy"))
        return x.numpy()

    with pytest.raises(AttributeError, match="symbolic tensor inside tf.function"):
        f(tf.constant([1.0]))
    assert seen == [False] and hasattr(tf.constant(1.0), "numpy")


def test_module_finds_variables_through_attributes_and_submodules():
    class Dense(tf.Module):
        def __init__(self, units, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = tf.Variable(tf.ones([2, units]), name="w")
                self.b = tf.Variable(tf.zeros([units]), name="b")

        @tf.function
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w) + self.b)

    class MLP(tf.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Dense(2, name="first"), Dense(1, name="second")]
            self.steps = tf.Variable(0, trainable=False)

    model = MLP()
    assert model.name == "mlp" and Dense(3).name == "dense"
    assert [v.name for v in model.variables] == [model.steps.name, "first/b:0", "first/w:0", "second/b:0",
                                                "second/w:0"]
    assert [v.name for v in model.trainable_variables] == ["first/b:0", "first/w:0", "second/b:0", "second/w:0"]
    assert model.non_trainable_variables == (model.steps,)
    assert model.submodules == tuple(model.layers)
    first = model.layers[0]
    assert first(tf.constant([[1.0, 2.0]])).tolist() == [[3.0, 3.0]]
    first.b.assign([1.0, -5.0])
    assert first(tf.constant([[1.0, 2.0]])).tolist() == [[4.0, 0.0]]
    assert first.__call__.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="not a valid module name"):
        tf.Module(name="has space")


def test_module_holding_keras_layers_sees_their_weights():
    from pykernel import keras

    class Wrapper(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)
            self.dense.build((None, 4))

    w = Wrapper()
    assert {id(v) for v in w.trainable_variables} == {id(v) for v in w.dense.trainable_weights}
    assert len(w.trainable_variables) == 2


def test_name_scopes_nest_and_absolute_names_replace_them():
    with tf.name_scope("outer"):
        with tf.name_scope("inner") as scope:
            assert scope == "outer/inner/"
            v = tf.Variable(1.0, name="v")
        with tf.name_scope("top/"):
            u = tf.Variable(1.0, name="u")
    assert v.name == "outer/inner/v:0" and u.name == "top/u:0"
    assert tf.Variable(1.0, name="plain").name == "plain:0"
