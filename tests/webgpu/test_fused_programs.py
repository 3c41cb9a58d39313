"""Fused kernels and prepared programs on WebGPU (native device), against the references.

- Fused map kernels (graph/fuse.py -> elementwise.run_fused) == the same graph unfused on
  the NumPy backend, over random elementwise programs with broadcasting, literals (inf and
  NaN included), comparisons, where and casts.
- Prepared programs (webgpu/program.py) == the Python replay of the same graph: Keras fit of
  an MLP and a CNN gives the same history and weights; state semantics hold (a kept snapshot
  of a variable keeps its value, an assign between calls is seen, two functions share
  variables, a failing value check raises); memory stays flat over many replays.
"""
import gc
import random

import numpy as np
import pytest

import pykernel as tf
from pykernel import backends, keras
from pykernel.graph import replay


@pytest.fixture
def webgpu(gpu):
    previous = backends._default_name
    tf.config.set_device("webgpu")
    try:
        yield gpu
    finally:
        backends.set_default(previous or "cpu")
        replay.set_fusion(True)
        replay.set_prepared_programs(True)


def random_program(rng):
    unary = [tf.tanh, tf.sigmoid, tf.abs, tf.negative, tf.exp, lambda t: tf.sqrt(tf.abs(t)), tf.math.log,
             lambda t: tf.cast(tf.cast(t * 3.0, tf.int32), tf.float32), tf.math.floor, tf.math.sign]
    binary = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum,
              lambda a, b: a / (tf.abs(b) + 1.0), lambda a, b: tf.where(a > b, a, b * 0.5),
              lambda a, b: tf.cast(tf.logical_or(a < b, a > 1.0), tf.float32) + a,
              lambda a, b: tf.broadcast_to(a, np.broadcast_shapes(tuple(a.shape), tuple(getattr(b, "shape", ())))) - b]
    literals = [0.5, -2.0, 3.0, float("inf"), float("nan"), 1e-7]
    plan = [(rng.randrange(3), rng.randrange(len(unary)), rng.randrange(len(binary)), rng.choice(literals),
             rng.random()) for _ in range(10)]

    def program(a, b, c):
        values = [a, b, c]
        for which, u, op, literal, mode in plan:
            x, y = values[-1], values[which]
            x = binary[op](unary[u](x), y) if mode < 0.75 else binary[op](x, literal)
            values.append(x)
        return values[-1], values[4]
    return program


@pytest.mark.parametrize("seed", range(10))
def test_fused_kernels_match_the_unfused_numpy_graph(webgpu, ref, seed):
    rng = random.Random(seed)
    shapes = [(5, 4), (4,), (5, 1)] if seed % 2 else [(3, 1, 6), (1, 2, 1), (6,)]
    concrete = tf.function(random_program(rng)).get_concrete_function(*[tf.TensorSpec(s) for s in shapes])
    graph = concrete.graph
    fused = replay.Program(graph, webgpu, graph.outputs, fuse=True)
    assert any(n.kind == "fused_elementwise" for n in fused.nodes)
    assert any(n.kind == "literal" for n in fused.nodes) is False
    reference = replay.Program(graph, ref, graph.outputs, fuse=False)
    data = np.random.default_rng(seed)
    arrays = [data.standard_normal(s).astype(np.float32) * 2 for s in shapes]
    # the graph's constants live on the GPU; the reference reads them as NumPy arrays
    reference.constants = [(s, ref.from_numpy(webgpu.to_numpy(buf), webgpu.dtype(buf))) for s, buf in reference.constants]
    expected = reference.run([ref.from_numpy(a, tf.float32) for a in arrays])
    got = fused.run([webgpu.from_numpy(a, tf.float32) for a in arrays])
    for e, g in zip(expected, got):
        np.testing.assert_allclose(webgpu.to_numpy(g), ref.to_numpy(e), rtol=2e-5, atol=2e-6, equal_nan=True)


def test_a_literal_in_a_fused_kernel_is_code_not_an_input(webgpu):
    @tf.function
    def f(x):
        return tf.tanh(x * 0.25 + float("inf")) - 1e-3

    concrete = f.get_concrete_function(tf.TensorSpec((3,)))
    (node,) = [n for n in concrete._program.nodes if n.kind == "fused_elementwise"]
    assert len(node.inputs) == 1 and node.attrs["ops"].count("literal") == 3
    np.testing.assert_allclose(f(tf.constant([1.0, -2.0, 0.0])).numpy(), [1 - 1e-3] * 3, rtol=1e-6)


def test_a_fused_shape_seen_with_new_constants_reads_them_from_uniforms(webgpu, ref):
    """The first constants a fused program shape meets are code; from the second set on, one
    generic kernel reads them from the uniform, so a new batch size compiles nothing more."""
    def run(scale, shift):
        @tf.function
        def f(x):
            return tf.tanh(x * scale) + shift
        return f(tf.constant(x)).numpy()

    x = np.array([[0.5, -1.0, 2.0], [3.0, -0.25, 0.0]], np.float32)
    pipelines = webgpu.pipelines
    expected = lambda scale, shift: np.tanh(x * np.float32(scale)) + np.float32(shift)
    before = len(pipelines)
    np.testing.assert_allclose(run(0.25, 1.0), expected(0.25, 1.0), rtol=1e-6)
    folded = len(pipelines)
    np.testing.assert_allclose(run(1 / 32, float("-inf")), expected(1 / 32, float("-inf")), rtol=1e-6)
    generic = len(pipelines)
    for scale, shift in [(1 / 17, -3.5), (2.0, float("nan")), (0.25, 1.0)]:
        np.testing.assert_allclose(run(scale, shift), expected(scale, shift), rtol=1e-6, equal_nan=True)
    assert folded - before == 1 and generic - folded == 1 and len(pipelines) == generic


def _train(model_fn, x, y, prepared, fused=True, epochs=2, batch=16, loss="sparse_categorical_crossentropy"):
    replay.set_prepared_programs(prepared)
    replay.set_fusion(fused)
    try:
        keras.utils.set_random_seed(5)
        model = model_fn()
        model.compile(keras.optimizers.Adam(0.01), loss, metrics=["accuracy"])
        history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0).history
        concrete = list(model.train_function._concrete.values())[0]
        return history, [w.numpy() for w in model.weights], concrete._program
    finally:
        replay.set_prepared_programs(True)
        replay.set_fusion(True)


def _mlp():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(4, activation="softmax")])


def _dropout_mlp():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3),
                             keras.layers.Dense(4, activation="softmax")])


def _cnn():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(3)])


@pytest.mark.parametrize("model_fn, shape, classes", [(_mlp, (6,), 4), (_dropout_mlp, (6,), 4), (_cnn, (8, 8, 1), 3)],
                         ids=["mlp", "dropout", "cnn"])
def test_prepared_programs_train_exactly_like_the_python_replay(webgpu, model_fn, shape, classes):
    data = np.random.default_rng(2)
    x, y = data.standard_normal((48,) + shape).astype(np.float32), data.integers(0, classes, 48)
    loss = "sparse_categorical_crossentropy" if model_fn is not _cnn else \
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    h_python, w_python, p_python = _train(model_fn, x, y, prepared=False, loss=loss)
    h_prepared, w_prepared, p_prepared = _train(model_fn, x, y, prepared=True, loss=loss)
    h_unfused, w_unfused, _ = _train(model_fn, x, y, prepared=False, fused=False, loss=loss)
    assert p_python.prepared is None and p_prepared.prepared is not None
    assert p_prepared.prepared.runs == 6
    assert h_prepared == h_python
    for a, b, c in zip(w_prepared, w_python, w_unfused):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-6)   # fused kernels may contract a*b+c
    np.testing.assert_allclose(h_prepared["loss"], h_unfused["loss"], rtol=1e-5)


def test_prepared_state_semantics(webgpu):
    v = tf.Variable([1.0, 2.0, 3.0])
    steps = tf.Variable(0)

    @tf.function
    def bump(x):
        v.assign(v * 2.0 + x)
        steps.assign_add(1)
        return tf.reduce_sum(v)

    @tf.function
    def read():
        return v + 0.0

    one = tf.constant([1.0, 1.0, 1.0])
    assert bump(one).numpy() == 15.0            # recorded run
    kept = v.value()                             # a snapshot someone holds
    assert bump(one).numpy() == 33.0            # prepared run
    np.testing.assert_array_equal(kept.numpy(), [3.0, 5.0, 7.0])   # unchanged under it
    np.testing.assert_array_equal(v.numpy(), [7.0, 11.0, 15.0])
    v.assign([0.0, 0.0, 1.0])                   # assigned from outside: the next run sees it
    assert bump(one).numpy() == 5.0
    np.testing.assert_array_equal(read().numpy(), [1.0, 1.0, 3.0])   # another program, same variable
    np.testing.assert_array_equal(read().numpy(), [1.0, 1.0, 3.0])
    assert bump(one).numpy() == 13.0
    assert int(steps.numpy()) == 4
    program = list(bump._concrete.values())[0]._program
    assert program.prepared is not None and program.prepared.runs == 4


def test_a_failing_value_check_in_a_prepared_program_raises(webgpu):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = tf.zeros((8, 2))
    model.fit(x, tf.constant([0, 1, 2, 0] * 2), batch_size=4, verbose=0)   # records, then prepared runs
    assert list(model.train_function._concrete.values())[0]._program.prepared.runs == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 3"):
        model.fit(x, tf.constant([0, 1, 2, 3] * 2), batch_size=4, verbose=0)


def test_prepared_replays_keep_memory_flat(webgpu):
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    data = np.random.default_rng(3)
    x, y = data.standard_normal((16, 6)).astype(np.float32), data.integers(0, 4, 16)
    step = model.make_train_function()
    batch = (tf.constant(x), tf.constant(y))
    def stats(steps):
        for _ in range(steps):
            logs = step(batch)
        float(logs["loss"])
        gc.collect()
        return dict(webgpu.memory_stats()), len(webgpu.device._bind_groups)

    stats(150)   # warm-up: records the program
    stats(300)   # the pool settles (other tests' leftovers in this session's pool included)
    before = stats(300)
    after = stats(300)
    assert after[0]["allocated_buffers"] <= before[0]["allocated_buffers"] + 1, (before, after)
    assert after[0]["live_buffers"] <= before[0]["live_buffers"] + 1, (before, after)
    # bind groups outside the program: only the merges of the pending label checks (every 64
    # steps a concat of 64 buffers: ~10 dispatches), within the device's cache cap
    assert after[1] <= before[1] + 64, "prepared runs build no bind groups"
    # the program's own buffers are counted apart from the tensor pool, flat too, and given
    # back with the traced function
    assert after[0]["program_buffers"] == before[0]["program_buffers"] > 0
    assert after[0]["program_bytes"] >= 4 * (6 * 16 + 16 * 4)   # at least the kernels' copies
    programs = after[0]["prepared_programs"]
    del step, model
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")   # the Keras session keeps the last compiled model's steps
    gc.collect()
    assert webgpu.memory_stats()["prepared_programs"] < programs
