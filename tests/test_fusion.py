"""Fusion (graph/fuse.py): which nodes group, and fused == unfused on the CPU backends.

Random elementwise programs (broadcasting, comparisons, where, casts, literals, values read
twice) are traced once and replayed fused and unfused; the results must be identical, since
the CPU backends run a fused group's ops one by one. The WebGPU kernels that fuse for real
are checked against these in tests/webgpu/test_fused_programs.py.
"""
import random

import numpy as np
import pytest

import pykernel as tf
from pykernel import backends, keras
from pykernel.backends.python_backend import PythonBackend
from pykernel.graph import fuse, replay


@pytest.fixture(params=["numpy", "python"])
def device(request):
    """'numpy' is the default cpu device; 'python' the pure-Python backend, registered here only."""
    added = request.param == "python" and "python" not in backends.available()
    if added:
        backends.register("python", PythonBackend)
    previous = backends._default_name
    tf.config.set_device("cpu" if request.param == "numpy" else "python")
    try:
        yield request.param
    finally:
        backends.set_default(previous or "cpu")
        if added:
            backends._factories.pop("python", None)


def programs(graph, outputs):
    return replay.Program(graph, backends.default(), outputs, fuse=False), \
        replay.Program(graph, backends.default(), outputs, fuse=True)


def kinds(program):
    return [n.kind for n in program.nodes if n.kind[:1].islower()]


def test_a_dense_layer_and_its_activation_chain_fuse_into_one_node(device):
    @tf.function
    def f(x, b):
        return tf.tanh(tf.matmul(x, tf.ones((3, 4))) + b) * 2.0 - 1.0

    concrete = f.get_concrete_function(tf.TensorSpec((5, 3)), tf.TensorSpec((4,)))
    plain, fused = programs(concrete.graph, concrete.graph.outputs)
    assert kinds(plain) == ["matmul", "binary", "unary", "binary", "binary"]
    assert kinds(fused) == ["matmul", "fused_elementwise"]
    (node,) = [n for n in fused.nodes if n.kind == "fused_elementwise"]
    assert node.attrs["ops"] == ("binary/add", "unary/tanh", "binary/mul", "binary/sub")
    x, b = np.random.default_rng(0).standard_normal((5, 3)), np.arange(4.0)
    np.testing.assert_allclose(f(tf.constant(x, tf.float32), tf.constant(b, tf.float32)).numpy(),
                               np.tanh(x @ np.ones((3, 4)) + b) * 2 - 1, rtol=1e-5)


def test_a_value_a_reduction_also_reads_is_materialised_once(device):
    @tf.function
    def f(x):
        y = tf.exp(x) + 1.0          # read by the sum and by the chain below
        return tf.reduce_sum(y), tf.sqrt(y) * 3.0

    concrete = f.get_concrete_function(tf.TensorSpec((7,)))
    _, fused = programs(concrete.graph, concrete.graph.outputs)
    assert kinds(fused) == ["fused_elementwise", "reduce", "fused_elementwise"]
    first = [n for n in fused.nodes if n.kind == "fused_elementwise"][0]
    assert first.attrs["ops"] == ("unary/exp", "binary/add")


def test_an_output_stays_materialised_and_cheap_producers_are_recomputed_for_each_reader(device):
    @tf.function
    def f(x):
        clipped = tf.minimum(tf.maximum(x, 0.1), 0.9)   # read by two chains that both fuse it
        return tf.math.log(clipped) * 2.0, tf.math.log(1.0 - clipped), x + 1.0

    concrete = f.get_concrete_function(tf.TensorSpec((6,)))
    _, fused = programs(concrete.graph, concrete.graph.outputs)
    assert kinds(fused) == ["fused_elementwise", "fused_elementwise", "binary"]
    x = np.linspace(-1, 2, 6).astype(np.float32)
    a, b, c = (t.numpy() for t in f(tf.constant(x)))
    clipped = np.clip(x, 0.1, 0.9)
    np.testing.assert_allclose(a, np.log(clipped) * 2, rtol=1e-6)
    np.testing.assert_allclose(b, np.log(1 - clipped), rtol=1e-6)
    np.testing.assert_allclose(c, x + 1)


def test_groups_respect_the_kernel_binding_limit(device):
    @tf.function
    def f(*xs):
        total = xs[0]
        for x in xs[1:]:
            total = total * 0.5 + x
        return total

    specs = [tf.TensorSpec((4,)) for _ in range(12)]
    concrete = f.get_concrete_function(*specs)
    _, fused = programs(concrete.graph, concrete.graph.outputs)
    groups = [n for n in fused.nodes if n.kind == "fused_elementwise"]
    assert len(groups) >= 2 and all(len(n.inputs) <= fuse.MAX_INPUTS for n in groups)
    values = [np.full(4, float(k), np.float32) for k in range(12)]
    expected = values[0]
    for v in values[1:]:
        expected = expected * 0.5 + v
    np.testing.assert_allclose(f(*[tf.constant(v) for v in values]).numpy(), expected, rtol=1e-6)


def random_program(rng, depth):
    """A random elementwise function of three inputs of broadcastable shapes."""
    unary = [tf.tanh, tf.sigmoid, tf.abs, tf.negative, tf.exp, lambda t: tf.sqrt(tf.abs(t)),
             lambda t: tf.cast(tf.cast(t * 3.0, tf.int32), tf.float32)]
    binary = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum,
              lambda a, b: a / (tf.abs(b) + 1.0), lambda a, b: tf.where(a > b, a, b * 0.5)]
    plan = [(rng.randrange(3), rng.randrange(len(unary)), rng.randrange(len(binary)), rng.random())
            for _ in range(depth)]

    def program(a, b, c):
        values = [a, b, c]
        for which, u, op, literal in plan:
            x = values[-1]
            y = values[which]
            x = binary[op](unary[u](x), y) if literal < 0.7 else binary[op](x, literal * 2 - 1)
            values.append(x)
        return values[-1], values[len(values) // 2]
    return program


@pytest.mark.parametrize("seed", range(12))
def test_random_elementwise_programs_fused_equal_unfused(device, seed):
    rng = random.Random(seed)
    shapes = [(5, 4), (4,), (5, 1)] if seed % 2 else [(3, 1, 6), (1, 2, 1), (6,)]
    fn = random_program(rng, 4 if device == "python" else 9)
    concrete = tf.function(fn).get_concrete_function(*[tf.TensorSpec(s) for s in shapes])
    plain, fused = programs(concrete.graph, concrete.graph.outputs)
    assert len(fused.steps) < len(plain.steps)
    data = np.random.default_rng(seed)
    inputs = [backends.default().from_numpy(data.standard_normal(s).astype(np.float32), tf.float32) if
              device == "numpy" else backends.default().from_list(data.standard_normal(s).ravel().tolist(), s, tf.float32)
              for s in shapes]
    for a, b in zip(plain.run(inputs), fused.run(inputs)):
        assert backends.default().to_list(a) == backends.default().to_list(b)


def test_keras_fit_fused_and_unfused_give_identical_history_and_weights():
    def train(fused):
        replay.set_fusion(fused)
        try:
            keras.utils.set_random_seed(4)
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6, activation="relu"),
                                      keras.layers.Dense(3, activation="softmax")])
            model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
            data = np.random.default_rng(1)
            x, y = data.standard_normal((64, 3)).astype(np.float32), data.integers(0, 3, 64)
            history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history
            return history, [w.numpy() for w in model.weights]
        finally:
            replay.set_fusion(True)

    (h1, w1), (h2, w2) = train(False), train(True)
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_a_broadcast_feeding_a_chain_is_read_through_a_view_not_copied(device):
    @tf.function
    def f(x, y):
        return tf.broadcast_to(tf.exp(x), (4, 3)) * y + 1.0

    concrete = f.get_concrete_function(tf.TensorSpec((4, 1)), tf.TensorSpec((3,)))
    plain, fused = programs(concrete.graph, concrete.graph.outputs)
    assert "broadcast_to" in kinds(plain) and kinds(fused) == ["fused_elementwise"]
    x, y = np.arange(4.0).reshape(4, 1) / 4, np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(f(tf.constant(x, tf.float32), tf.constant(y, tf.float32)).numpy(),
                               np.exp(x) * y + 1, rtol=1e-6)


def test_tf_config_optimizer_remapping_switches_fusion():
    @tf.function
    def f(x):
        return tf.tanh(x) * 2.0

    try:
        tf.config.optimizer.set_experimental_options({"remapping": False})
        assert tf.config.optimizer.get_experimental_options() == {"remapping": False}
        unfused = f.get_concrete_function(tf.TensorSpec((3,)))._program
        assert "fused_elementwise" not in kinds(unfused)
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": True})

    @tf.function
    def g(x):
        return tf.tanh(x) * 2.0

    assert kinds(g.get_concrete_function(tf.TensorSpec((3,)))._program) == ["fused_elementwise"]
    with pytest.raises(TypeError, match="dict of option names"):
        tf.config.optimizer.set_experimental_options("remapping")
