"""TF 1 graph mode: tf.compat.v1 placeholders, graph tensors, variables, Session, optimizers."""
import collections

import numpy as np
import pytest

import pykernel as tf
from pykernel import keras
from tests.without_numpy import run_without_numpy

v1 = tf.compat.v1


@pytest.fixture(autouse=True)
def _eager_again_afterwards():
    yield
    v1.enable_eager_execution()
    v1.reset_default_graph()


@pytest.fixture
def graph_mode():
    v1.disable_eager_execution()
    v1.reset_default_graph()


# ---------------------------------------------------------------- eager Session

def test_eager_session_returns_values_of_eager_tensors():
    a = tf.constant([1.0, 2.0])
    b = tf.constant([3.0, 4.0])
    assert tf.executing_eagerly()
    with tf.Session() as sess:
        out = sess.run(tf.add(a, b))
        assert tf.executing_eagerly()   # the session does not switch eager code to graph building
        pair = sess.run({"sum": a + b, "both": (a, [b])})
    assert isinstance(out, np.ndarray) and out.tolist() == [4.0, 6.0]
    assert str(out) == "[4. 6.]"
    assert pair["sum"].tolist() == [4.0, 6.0] and pair["both"][1][0].tolist() == [3.0, 4.0]
    assert tf.Session is v1.Session and "compat.v1" in (tf.Session.__doc__ or "") + v1.Session.__doc__


# ---------------------------------------------------------------- graph building and feeding

def test_placeholder_arithmetic_matches_numpy(graph_mode):
    assert not tf.executing_eagerly() and not v1.executing_eagerly()
    x = v1.placeholder(tf.float32, [None, 3], name="x")
    y = v1.placeholder(tf.float32, [None, 3], name="y")
    z = x * y + 2.0 - tf.exp(x) / (y + 1.0)
    w = tf.reduce_sum(tf.maximum(x, y) ** 2, axis=1) - np.float32(1.5) * tf.constant(2.0)
    r = 3.0 - x          # reflected operators
    n = np.ones(3, np.float32) * x
    m = (x > y) | (x < 0.0)
    assert isinstance(z, tf.Tensor) and tf.is_tensor(z)
    xv = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], np.float32)
    yv = np.array([[2.0, 1.0, 0.25], [4.0, -0.5, 2.0]], np.float32)
    with v1.Session() as sess:
        zo, wo, ro, no, mo = sess.run([z, w, r, n, m], feed_dict={x: xv, y: yv})
    np.testing.assert_allclose(zo, xv * yv + 2.0 - np.exp(xv) / (yv + 1.0), rtol=1e-6)
    np.testing.assert_allclose(wo, (np.maximum(xv, yv) ** 2).sum(1) - 3.0, rtol=1e-6)
    np.testing.assert_allclose(ro, 3.0 - xv)
    np.testing.assert_allclose(no, xv)
    assert mo.tolist() == ((xv > yv) | (xv < 0)).tolist()


def test_none_dim_placeholders_take_any_batch_and_shapes_are_static(graph_mode):
    x = v1.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.ones([784, 10]) * 0.01)
    y = tf.matmul(x, W)
    assert tuple(y.shape) == (None, 10) and y.shape.as_list() == [None, 10]
    assert str(y) == 'Tensor("MatMul:0", shape=(None, 10), dtype=float32)'
    assert repr(y) == "<tf.Tensor 'MatMul:0' shape=(None, 10) dtype=float32>"
    assert y.name == "MatMul:0" and y.op.type == "MatMul" and y.dtype is tf.float32
    assert [t.name for t in y.op.inputs] == ["Placeholder:0"]
    assert y.graph is v1.get_default_graph()
    assert y.get_shape().num_elements() is None
    images = tf.reshape(x, [-1, 28, 28, 1])
    assert tuple(images.shape) == (None, 28, 28, 1)
    assert tuple(x[1:].shape) == (None, 784) and tuple(x[:, :5].shape) == (None, 5)
    assert tuple(tf.reduce_mean(y, axis=0).shape) == (10,) and tuple(tf.reduce_mean(y).shape) == ()
    assert tuple(tf.shape(x).shape) == (2,) and tf.argmax(y, 1).dtype is tf.int64
    assert tuple(tf.concat([x, x], axis=0).shape) == (None, 784)
    assert tuple(tf.reshape(x, [-1]).shape) == (None,)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        for n in (1, 5, 17):
            out, size = sess.run([y, tf.shape(x)[0]], feed_dict={x: np.ones((n, 784), np.float32)})
            assert out.shape == (n, 10) and int(size) == n
            np.testing.assert_allclose(out, np.full((n, 10), 7.84), rtol=1e-4)


def test_unknown_rank_placeholder(graph_mode):
    x = v1.placeholder(tf.float32, name="anything")
    assert x.shape.rank is None and str(x.shape) == "<unknown>"
    y = x * 2.0 + 1.0
    assert y.shape.rank is None and y.dtype is tf.float32
    assert (x + tf.ones([3])).shape.rank is None and tuple(tf.reduce_sum(x).shape) == ()
    with v1.Session() as sess:
        assert sess.run(y, {x: 1.0}) == 3.0
        assert sess.run(y, {x: [[1.0, 2.0]]}).tolist() == [[3.0, 5.0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed a value for placeholder tensor "
                                                             "'anything' with dtype float$"):
        v1.Session().run(y)


def test_eager_tensors_and_variables_mix_with_graph_tensors():
    e = tf.constant([1.0, 2.0])
    ev = tf.Variable([5.0, 6.0])       # made before graph mode: read when the graph runs
    v1.disable_eager_execution()
    x = v1.placeholder(tf.float32, [2])
    outs = [e + x, e < x, x - e, ev * x, tf.add(ev, x)]
    assert all(isinstance(o, v1.GraphTensor) for o in outs)
    with v1.Session() as sess:
        add, less, sub, mul, add2 = sess.run(outs, {x: [3.0, 0.0]})
        assert add.tolist() == [4.0, 2.0] and less.tolist() == [True, False] and sub.tolist() == [2.0, -2.0]
        assert mul.tolist() == [15.0, 0.0] and add2.tolist() == [8.0, 6.0]
    assert ev.numpy().tolist() == [5.0, 6.0]


def test_tf1_spellings_keep_prob_dropout_and_reduction_indices(graph_mode):
    x = v1.placeholder(tf.float32, [None, 1000])
    keep_prob = v1.placeholder(tf.float32)
    dropped = v1.nn.dropout(x, keep_prob)
    total = v1.reduce_sum(x, reduction_indices=[1], keep_dims=True)
    assert tuple(dropped.shape) == (None, 1000) and tuple(total.shape) == (None, 1)
    ones = np.ones((4, 1000), np.float32)
    with v1.Session() as sess:
        assert sess.run(dropped, {x: ones, keep_prob: 1.0}).tolist() == ones.tolist()
        half = sess.run(dropped, {x: ones, keep_prob: 0.5})
        assert set(np.unique(half).tolist()) == {0.0, 2.0} and 0.4 < (half == 0).mean() < 0.6
        assert sess.run(total, {x: ones}).tolist() == [[1000.0]] * 4


def test_nested_fetches_and_names(graph_mode):
    a = v1.placeholder(tf.float32, [2], name="a")
    b = tf.multiply(a, 2.0, name="double")
    c = tf.reduce_sum(b)
    noop = tf.no_op()
    Pair = collections.namedtuple("Pair", "first second")
    feed = {a: [1.0, 2.0]}
    with v1.Session() as sess:
        out = sess.run({"b": b, "rest": [c, (a, noop)], "pair": Pair(c, b)}, feed_dict=feed)
        assert out["b"].tolist() == [2.0, 4.0]
        assert out["rest"][0] == 6.0 and isinstance(out["rest"], list)
        assert isinstance(out["rest"][1], tuple) and out["rest"][1][0].tolist() == [1.0, 2.0]
        assert out["rest"][1][1] is None                          # an Operation fetches None
        assert isinstance(out["pair"], Pair) and out["pair"].first == 6.0
        assert sess.run("double:0", feed_dict={"a:0": [3.0, 4.0]}).tolist() == [6.0, 8.0]
        assert sess.run(noop) is None
        assert sess.run([b, b], feed)[1].tolist() == [2.0, 4.0]
        assert sess.run(b, {a: [1.0, 1.0], b: [9.0, 9.0]}).tolist() == [9.0, 9.0]   # a fed tensor overrides
    graph = v1.get_default_graph()
    assert graph.get_tensor_by_name("double:0") is b and graph.get_operation_by_name("double") is b.op
    assert "double" in [op.name for op in graph.get_operations()]
    with pytest.raises(KeyError):
        graph.get_tensor_by_name("nothing:0")


def test_graph_context_in_eager_mode():
    outside = tf.constant(1.0) + 1.0
    assert outside.numpy() == 2.0
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        assert not tf.executing_eagerly()
        x = v1.placeholder(tf.float32, [])
        y = x + 1.0
        assert isinstance(y, v1.GraphTensor) and y.graph is graph
        with v1.Session() as sess:
            assert sess.run(y, {x: 41.0}) == 42.0
            assert y.eval({x: 1.0}) == 2.0
    assert tf.executing_eagerly()
    assert (tf.constant(1.0) * 3.0).numpy() == 3.0
    with v1.Session(graph=graph) as sess:
        assert sess.run(y, {x: 2.0}) == 3.0
    with pytest.raises(ValueError, match="not an element of this graph"):
        v1.Session().run(y, {x: 2.0})


# ---------------------------------------------------------------- errors

def test_errors_name_the_problem(graph_mode):
    x = v1.placeholder(tf.float32, [None, 784], name="x")
    labels = v1.placeholder(tf.int64, [None], name="labels")
    y = tf.reduce_sum(x, axis=1)
    sess = v1.Session()
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        sess.run(y)
    assert str(info.value) == "You must feed a value for placeholder tensor 'x' with dtype float and shape [?,784]"
    with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3, 5\) for Tensor x:0, which has shape "
                                         r"\(None, 784\)"):
        sess.run(y, {x: np.zeros((3, 5), np.float32)})
    with pytest.raises(TypeError, match="Tensor labels:0 of dtype int64"):
        sess.run(labels, {labels: [0.5, 1.5]})
    assert sess.run(labels, {labels: np.array([1.0, 2.0])}).dtype == np.int64
    with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
        sess.run(y, {x: x})
    with pytest.raises(TypeError, match="Fetch argument None"):
        sess.run([y, None], {x: np.zeros((1, 784))})
    with pytest.raises(TypeError, match="`tf.Tensor` as a Python `bool` is not allowed in Graph execution"):
        bool(x)
    with pytest.raises(TypeError, match="`tf.Tensor` as a Python `bool`"):
        if y > 0:
            pass
    with pytest.raises(TypeError, match="Iterating over a symbolic `tf.Tensor`"):
        iter(x)
    with pytest.raises(NotImplementedError, match="x:0"):
        np.asarray(x)
    with pytest.raises(ValueError):   # a shape error is found while building, as in TF
        tf.matmul(x, tf.ones([10, 3]))
    sess.close()
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session."):
        sess.run(y, {x: np.zeros((1, 784))})
    v1.get_default_graph().finalize()
    with pytest.raises(RuntimeError, match="Graph is finalized"):
        x + 1.0


def test_uninitialized_variable_is_an_error(graph_mode):
    v = tf.Variable([1.0, 2.0], name="weights")
    with v1.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(v * 2.0)
        sess.run(v.initializer)
        assert sess.run(v * 2.0).tolist() == [2.0, 4.0]


# ---------------------------------------------------------------- variables

def test_variables_initializer_and_assign_ops(graph_mode):
    v = tf.Variable([1.0, 2.0])
    c = v1.Variable(tf.zeros([], tf.int32), name="counter")
    assert isinstance(v, tf.Variable) and isinstance(v, v1.Variable)
    assert repr(v) == "<tf.Variable 'Variable:0' shape=(2,) dtype=float32>"
    assert [x.name for x in v1.global_variables()] == ["Variable:0", "counter:0"]
    assert [x.name for x in v1.trainable_variables()] == ["Variable:0", "counter:0"]
    add = v.assign_add([1.0, 1.0])
    sub = v1.assign_sub(v, [0.5, 0.5])
    put = v1.assign(v, tf.constant([7.0, 8.0]))
    tick = c.assign_add(1, read_value=False)
    double = v * 2.0
    init = v1.global_variables_initializer()
    assert isinstance(tick, v1.Operation) and init.name == "init"
    with v1.Session() as sess:
        sess.run(init)
        assert sess.run(v).tolist() == [1.0, 2.0]
        assert sess.run(add).tolist() == [2.0, 3.0]
        assert sess.run(add).tolist() == [3.0, 4.0]
        assert sess.run(sub).tolist() == [2.5, 3.5]
        assert sess.run(double).tolist() == [5.0, 7.0]
        for _ in range(3):
            tick.run()
        assert c.eval() == 3
        sess.run(init)                           # re-running the initializer resets
        assert sess.run([v, c])[0].tolist() == [1.0, 2.0] and sess.run(c) == 0
        assert sess.run(put).tolist() == [7.0, 8.0] and v.eval().tolist() == [7.0, 8.0]
        with tf.control_dependencies([add]):
            after = tf.identity(v)
        assert sess.run(after).tolist() == [8.0, 9.0]
        both = tf.group(add, tick)
        assert sess.run(both) is None and sess.run(v).tolist() == [9.0, 10.0] and sess.run(c) == 1


def test_random_initial_values_are_drawn_when_initialized(graph_mode):
    tf.random.set_seed(1)
    w = tf.Variable(tf.random.normal([3, 4], stddev=0.1))
    noise = tf.random.uniform([2])
    assert tuple(w.shape) == (3, 4) and isinstance(noise, v1.GraphTensor)
    with v1.Session() as sess:
        sess.run(w.initializer)
        first = sess.run(w)
        assert first.shape == (3, 4) and 0 < np.abs(first).max() < 1.0
        assert not np.array_equal(sess.run(noise), sess.run(noise))   # a fresh draw per run
        assert np.array_equal(sess.run(w), first)


def test_placeholder_with_default_and_eval(graph_mode):
    rate = v1.placeholder_with_default(0.5, shape=[])
    x = v1.placeholder(tf.float32, [None])
    y = x * rate
    with v1.Session() as sess:
        assert sess.run(y, {x: [2.0]}).tolist() == [1.0]
        assert sess.run(y, {x: [2.0], rate: 2.0}).tolist() == [4.0]
        assert v1.get_default_session() is sess
        assert y.eval({x: [4.0]}).tolist() == [2.0]
    assert v1.get_default_session() is None
    with pytest.raises(ValueError, match="No default session"):
        y.eval({x: [1.0]})
    sess = v1.InteractiveSession()
    try:
        assert y.eval({x: [6.0]}).tolist() == [3.0]
    finally:
        sess.close()
    other = v1.Session()
    with other.as_default():
        assert v1.get_default_session() is other and rate.eval() == 0.5


def test_symbolic_gradients(graph_mode):
    x = v1.placeholder(tf.float32, [None])
    w = tf.Variable(3.0)
    y = tf.reduce_sum(w * x * x)
    gw, gx, none = v1.gradients(y, [w, x, tf.Variable(1.0)])
    assert none is None and tuple(gx.shape) == (None,)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        out_w, out_x = sess.run([gw, gx], {x: [1.0, 2.0]})
    assert out_w == 5.0 and out_x.tolist() == [6.0, 12.0]


# ---------------------------------------------------------------- training

def _separable(seed, n, features=8, classes=4):
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).normal(size=(classes, features)) * 3.0
    labels = rng.integers(0, classes, n)
    return (centers[labels] + rng.normal(size=(n, features))).astype(np.float32), labels.astype(np.int64)


def test_softmax_regression_matches_eager_keras_sgd(graph_mode):
    batches = [_separable(i, 16 + 8 * (i % 3)) for i in range(30)]
    x = v1.placeholder(tf.float32, [None, 8])
    y_ = v1.placeholder(tf.int64, [None])
    W = tf.Variable(tf.zeros([8, 4]))
    b = tf.Variable(tf.zeros([4]))
    y = tf.matmul(x, W) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train = v1.train.GradientDescentOptimizer(0.5).minimize(loss)
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), y_), tf.float32))
    graph_losses = []
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        for bx, by in batches:
            before = sess.run(loss, {x: bx, y_: by})
            value, none = sess.run([loss, train], {x: bx, y_: by})
            assert none is None and value == before        # the loss before the update
            graph_losses.append(float(value))
        test_x, test_y = _separable(1000, 400)
        accuracy = sess.run(acc, {x: test_x, y_: test_y})
        assert sess._tracing_count() == 1 + 3 + 3 + 1    # init, loss and [loss, train] per batch size, acc
    assert accuracy > 0.95
    v1.enable_eager_execution()
    We, be = tf.Variable(tf.zeros([8, 4])), tf.Variable(tf.zeros([4]))
    opt = keras.optimizers.SGD(0.5)
    eager_losses = []
    for bx, by in batches:
        with tf.GradientTape() as tape:
            logits = tf.matmul(tf.constant(bx), We) + be
            value = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=by, logits=logits))
        opt.apply_gradients(zip(tape.gradient(value, [We, be]), [We, be]))
        eager_losses.append(float(value))
    np.testing.assert_allclose(graph_losses, eager_losses, atol=1e-5)
    assert graph_losses[-1] < graph_losses[0] / 5


def test_replay_traces_once_per_feed_shape(graph_mode):
    x = v1.placeholder(tf.float32, [None, 3])
    w = tf.Variable(tf.ones([3, 1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
    train = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
    with v1.Session() as sess:
        sess.run(w.initializer)
        for i in range(50):
            sess.run(train, {x: np.full((2 + i % 2, 3), 0.1 * (i % 5), np.float32)})
        assert sess._tracing_count() == 1 + 2             # the initializer, then one trace per batch size
        (plan,) = [p for p in sess._plans.values() if p.function.experimental_get_tracing_count() == 2]
        assert plan.function.experimental_get_tracing_count() == 2


def _quadratic_problem():
    x = v1.placeholder(tf.float32, [None, 2])
    target = v1.placeholder(tf.float32, [None])
    w = tf.Variable([0.5, -1.0])
    loss = tf.reduce_mean(tf.square(tf.reduce_sum(x * w, axis=1) - target))
    return x, target, w, loss


def _numpy_grad(w, xv, tv):
    return 2.0 * ((xv @ w - tv)[:, None] * xv).mean(0)


def _reference(name, steps, xv, tv, lr):
    """TF 1's update formulas in NumPy, in float32 as the variables are."""
    f = np.float32
    w = np.array([0.5, -1.0], f)
    m, v, mom, ms, acc = np.zeros(2, f), np.zeros(2, f), np.zeros(2, f), np.ones(2, f), np.full(2, 0.1, f)
    lr = f(lr)
    for t in range(1, steps + 1):
        g = (f(2.0) * ((xv @ w - tv)[:, None] * xv).mean(0)).astype(f)
        if name == "adam":   # bias correction folded into the rate, epsilon (1e-8) added to sqrt(v)
            m = f(0.9) * m + f(0.1) * g
            v = f(0.999) * v + f(0.001) * g * g
            lr_t = lr * np.sqrt(f(1) - f(0.999) ** t) / (f(1) - f(0.9) ** t)
            w = w - lr_t * m / (np.sqrt(v) + f(1e-8))
        elif name == "momentum":
            mom = f(0.9) * mom + g
            w = w - lr * mom
        elif name == "rmsprop":   # ms starts at ones, epsilon 1e-10 inside the sqrt
            ms = f(0.9) * ms + f(0.1) * g * g
            w = w - lr * g / np.sqrt(ms + f(1e-10))
        elif name == "adagrad":   # the accumulator starts at 0.1, no epsilon
            acc = acc + g * g
            w = w - lr * g / np.sqrt(acc)
    return w


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop", "adagrad"])
def test_tf1_optimizers_match_numpy_references(graph_mode, name):
    make = {"adam": lambda: v1.train.AdamOptimizer(0.1),
            "momentum": lambda: v1.train.MomentumOptimizer(0.05, 0.9),
            "rmsprop": lambda: v1.train.RMSPropOptimizer(0.05),
            "adagrad": lambda: v1.train.AdagradOptimizer(0.3)}[name]
    lr = {"adam": 0.1, "momentum": 0.05, "rmsprop": 0.05, "adagrad": 0.3}[name]
    x, target, w, loss = _quadratic_problem()
    step = v1.train.get_or_create_global_step()
    train = make().minimize(loss, global_step=step)
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(6, 2)).astype(np.float32)
    tv = rng.normal(size=6).astype(np.float32)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        for _ in range(5):
            sess.run(train, {x: xv, target: tv})
        np.testing.assert_allclose(sess.run(w), _reference(name, 5, xv, tv, lr), rtol=1e-5, atol=1e-6)
        assert sess.run(step) == 5
        sess.run(v1.global_variables_initializer())     # resets the variables, the slots and the step
        for _ in range(2):
            sess.run(train, {x: xv, target: tv})
        np.testing.assert_allclose(sess.run(w), _reference(name, 2, xv, tv, lr), rtol=1e-5, atol=1e-6)
        assert sess.run(step) == 2


def test_compute_and_apply_gradients(graph_mode):
    x, target, w, loss = _quadratic_problem()
    opt = v1.train.GradientDescentOptimizer(0.1)
    pairs = opt.compute_gradients(loss)
    assert len(pairs) == 1 and pairs[0][1] is w
    clipped = [(tf.clip_by_value(grad, -0.01, 0.01), var) for grad, var in pairs]
    train = opt.apply_gradients(clipped)
    xv, tv = np.array([[1.0, 0.0]], np.float32), np.array([10.0], np.float32)
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        grad = sess.run(pairs[0][0], {x: xv, target: tv})
        np.testing.assert_allclose(grad, [2 * (0.5 - 10.0), 0.0])
        sess.run(train, {x: xv, target: tv})
        np.testing.assert_allclose(sess.run(w), [0.5 + 0.001, -1.0], rtol=1e-6)


def test_compat_v1_module_namespace(graph_mode):
    import pykernel.compat.v1 as tf1
    assert tf1.placeholder is v1.placeholder and tf1.add is tf.add and tf1.nn.relu is tf.nn.relu
    assert tf.compat.v2.matmul is tf.matmul and tf.add is tf.math.add
    assert tf.add.__name__ == "add"
    a = tf1.placeholder(tf1.float32, [None])
    out = tf1.nn.relu(a - 1.0)
    with tf1.Session() as sess:
        assert sess.run(out, {a: [0.0, 3.0]}).tolist() == [0.0, 2.0]


def test_executing_eagerly_inside_tf_function_unchanged():
    seen = []

    @tf.function
    def f(x):
        seen.append(tf.executing_eagerly())
        return x + 1

    assert f(tf.constant(1.0)).numpy() == 2.0 and seen == [False]
    assert tf.executing_eagerly()
    v1.disable_eager_execution()
    assert not tf.executing_eagerly()
    v1.enable_eager_execution()
    assert tf.executing_eagerly() and (tf.constant(2.0) * 2.0).numpy() == 4.0


def test_graph_mode_without_numpy():
    out = run_without_numpy("""
        import pykernel as tf
        tf.compat.v1.disable_eager_execution()
        x = tf.compat.v1.placeholder(tf.float32, [None, 2])
        w = tf.Variable([[1.0], [2.0]])
        y = tf.matmul(x, w) + 1.0
        loss = tf.reduce_mean(tf.square(y))
        train = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            print(sess.run(y, {x: [[1.0, 1.0], [0.0, 2.0]]}))
            before = sess.run(loss, {x: [[1.0, 1.0]]})
            sess.run(train, {x: [[1.0, 1.0]]})
            print(type(before).__name__, sess.run(loss, {x: [[1.0, 1.0]]}) < before)
    """)
    assert out.splitlines() == ["[[4.0], [5.0]]", "float True"]
