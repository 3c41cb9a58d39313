"""pykernel in Pyodide in real Chromium: the browser WebGPU device (browser.py +
web/gpu_runtime.js) against the pure-Python cpu backend in the same worker, plus errors,
interrupts and output through the worker protocol (web/worker.js, web/python.js).

A bare page on the server's origin (so it is cross-origin isolated) drives PythonWorker
directly: these tests do not depend on the playground's UI.
"""
import json
import math
import time

import pytest

from conftest import READY_TIMEOUT_MS, ConsoleWatch, save_artifacts

pytestmark = pytest.mark.xdist_group("browser")

HARNESS = """<!doctype html><meta charset="utf-8"><title>pykernel worker harness</title>
<script type="module">
import { PythonWorker } from "/python.js";
window.messages = [];
window.python = new PythonWorker({ onMessage: (m) => window.messages.push(m) });
window.python.ready.then((info) => { window.info = info; }, (e) => { window.info = { fatal: String(e) }; });
window.runPython = (code, globals) => window.python.run(code, globals).then(
  (value) => ({ value }), (e) => ({ error: e.message, traceback: e.traceback, interrupted: e.interrupted }));
</script>"""


ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def open_harness(browser, base_url, isolated=True):
    context = browser.new_context()
    page = context.new_page()
    watch = ConsoleWatch(page)
    # the harness is not a file of the app: serve it on the app's origin with the app's headers
    page.route(f"{base_url}/__harness.html", lambda route: route.fulfill(
        body=HARNESS, content_type="text/html", headers=ISOLATION if isolated else {}))
    page.goto(f"{base_url}/__harness.html")
    page.wait_for_function("() => window.info", timeout=READY_TIMEOUT_MS)
    info = page.evaluate("window.info")
    assert "fatal" not in info, info
    return context, page, watch


@pytest.fixture(scope="module")
def worker_page(browser, base_url):
    context, page, watch = open_harness(browser, base_url)
    yield page
    save_artifacts(page, watch, "browser_device")
    context.close()
    assert not watch.errors(), "\n".join(watch.errors())


def run(page, code, globals=None, timeout=60_000):
    page.set_default_timeout(timeout)
    return page.evaluate("([code, globals]) => window.runPython(code, globals)", [code, globals])


def test_worker_reports_webgpu_and_a_cross_origin_isolated_page(worker_page):
    info = worker_page.evaluate("window.info")
    assert info["backend"] == "webgpu" and info["adapter"]
    assert info["python"].startswith("3.") and info["pykernel"]
    assert info["timings"]["ready"] > 0
    assert worker_page.evaluate("crossOriginIsolated") is True
    assert run(worker_page, "import sys, pykernel\n(sys.platform, pykernel.config.get_device())")["value"] == \
        ["emscripten", "webgpu"]


# Each case: inputs (shapes), a function of them; forward and gradient are compared.
PARITY = r'''
import json, math, random
import pykernel as tf

rng = random.Random(7)

def rand(*shape):
    n = math.prod(shape)
    return tf.reshape(tf.constant([rng.uniform(-1.0, 1.0) for _ in range(n)], dtype=tf.float32), shape)

cases = {
    "matmul_odd": ([(37, 50), (50, 23)], lambda a, b: tf.matmul(a, b)),
    "matmul_batched_transposed": ([(3, 17, 9), (3, 13, 9)], lambda a, b: tf.matmul(a, b, transpose_b=True)),
    "conv2d_same_stride2": ([(2, 9, 11, 3), (3, 3, 3, 5)],
                            lambda x, k: tf.nn.conv2d(x, k, strides=2, padding="SAME")),
    "conv2d_valid": ([(1, 8, 7, 2), (2, 3, 2, 4)], lambda x, k: tf.nn.conv2d(x, k, strides=1, padding="VALID")),
    "max_pool": ([(2, 7, 9, 3)], lambda x: tf.nn.max_pool2d(x, 2, 2, "SAME")),
    "avg_pool": ([(2, 7, 9, 3)], lambda x: tf.nn.avg_pool2d(x, 3, 2, "VALID")),
    "reductions": ([(5, 70, 3)], lambda x: tf.reduce_sum(x, axis=[0, 2]) + tf.reduce_max(x, axis=[0, 2])
                   + tf.reduce_mean(x, axis=[0, 2])),
    "softmax_xent": ([(13, 10)], lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([i % 10 for i in range(13)]), logits=z)),
    "elementwise_broadcast": ([(4, 1, 6), (5, 1)], lambda a, b: tf.tanh(a * b) + tf.exp(-tf.abs(b)) * tf.sigmoid(a)),
    "gather_concat_pad": ([(9, 4)], lambda x: tf.pad(tf.concat([tf.gather(x, [3, 0, 8, 3]), x[1:6:2]], 0),
                                                    [[1, 0], [0, 2]])),
    "transpose_slice": ([(4, 5, 6)], lambda x: tf.transpose(x, [2, 0, 1])[::-1, 1:, ::2]),
}

def run_on(device, shapes, fn, seed):
    global rng
    rng = random.Random(seed)
    with tf.device(device):
        inputs = [tf.identity(rand(*s)) for s in shapes]
        with tf.GradientTape() as tape:
            for x in inputs:
                tape.watch(x)
            out = fn(*inputs)
            # random upstream weights: the gradient check is not blurred by a loss's own
            # transcendental functions (WGSL allows sin/cos an absolute error of 2**-11)
            loss = tf.reduce_sum(out * rand(*out.shape))
        grads = tape.gradient(loss, inputs)
    return [out.tolist()] + [g.tolist() for g in grads], out.device

def flat(x):
    return [v for item in x for v in flat(item)] if isinstance(x, list) else [x]

report = {}
for name, (shapes, fn) in cases.items():
    seed = rng.randrange(1 << 30)
    gpu, gpu_device = run_on("webgpu", shapes, fn, seed)
    cpu, cpu_device = run_on("cpu", shapes, fn, seed)
    errors = []
    for g, c in zip(gpu, cpu):
        g, c = flat(g), flat(c)
        assert len(g) == len(c), (name, len(g), len(c))
        scale = max(1.0, max(abs(v) for v in c))
        errors.append(max(abs(a - b) for a, b in zip(g, c)) / scale)
    report[name] = {"errors": errors, "devices": [gpu_device, cpu_device]}
json.dumps(report)
'''


def test_browser_webgpu_matches_the_cpu_backend_forward_and_gradient(worker_page):
    result = run(worker_page, PARITY, timeout=180_000)
    assert "error" not in result, result.get("traceback")
    report = json.loads(result["value"])
    assert len(report) == 11
    for name, case in report.items():
        assert case["devices"] == ["WebGPU:0", "CPU:0"], name
        assert max(case["errors"]) < 2e-5, (name, case["errors"])


def test_random_streams_are_identical_on_both_devices(worker_page):
    code = """
import pykernel as tf
out = []
for device in ("webgpu", "cpu"):
    tf.random.set_seed(3)
    with tf.device(device):
        out.append(tf.random.uniform([1001], seed=4).tolist())
out[0] == out[1], out[0][:3]
"""
    result = run(worker_page, code)
    assert "error" not in result, result.get("traceback")
    same, head = result["value"]
    assert same is True and all(0 <= v < 1 for v in head)


def test_a_keras_model_trains_on_browser_webgpu(worker_page):
    code = """
import pykernel as tf
from pykernel import keras
keras.utils.set_random_seed(1)
(x, y), _ = keras.datasets.playground.load_data("xor", n_samples=256, seed=1)
model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(16, activation="tanh"),
                          keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
(model.layers[0].kernel.device, history.history["accuracy"])
"""
    result = run(worker_page, code, timeout=180_000)
    assert "error" not in result, result.get("traceback")
    device, accuracy = result["value"]
    assert device == "WebGPU:0"
    assert accuracy[-1] > 0.85 and accuracy[-1] > accuracy[0] + 0.1, accuracy
    names = [m["name"] for m in worker_page.evaluate("window.messages") if m["type"] == "event"]
    assert names.count("epoch") >= 8 and "train_begin" in names and "train_end" in names


def test_prepared_programs_train_like_the_python_replay_in_the_page(worker_page):
    """A traced step replayed as a prepared program (one runtime call per step) gives the same
    history and weights as the Python replay of the same graph, fused and unfused."""
    code = """
import time
import pykernel as tf
from pykernel import keras
from pykernel.graph import replay
(x, y), _ = keras.datasets.playground.load_data("circle", n_samples=96, seed=3)
def train(prepared, fused):
    replay.set_prepared_programs(prepared)
    replay.set_fusion(fused)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    start = time.perf_counter()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    ms = (time.perf_counter() - start) * 1000 / 18
    concrete = list(model.train_function._concrete.values())[0]
    return history.history, [w.value().tolist() for w in model.weights], ms, concrete._program.prepared is not None
try:
    runs = {(p, f): train(p, f) for p, f in ((False, False), (False, True), (True, True))}
finally:
    replay.set_prepared_programs(True)
    replay.set_fusion(True)
{f"{p},{f}": r for (p, f), r in runs.items()}
"""
    result = run(worker_page, code, timeout=300_000)
    assert "error" not in result, result.get("traceback")
    runs = result["value"]
    reference_history, reference_weights, _, _ = runs["False,False"]
    for name, (history, weights, ms, prepared) in runs.items():
        print(f"prepared,fused={name}: {ms:.1f} ms per step")
        assert prepared == name.startswith("True")
        assert history["accuracy"] == reference_history["accuracy"], name
        for a, b in zip(history["loss"], reference_history["loss"]):
            assert abs(a - b) <= 1e-5 * max(1, abs(b)), (name, history, reference_history)
        flat = [v for w in weights for v in (w if isinstance(w, list) else [w])]
        ref = [v for w in reference_weights for v in (w if isinstance(w, list) else [w])]
        assert len(flat) == len(ref)


def test_shape_errors_are_python_exceptions_at_the_call_site(worker_page):
    result = run(worker_page, "import pykernel as tf\ntf.matmul(tf.ones([2, 3]), tf.ones([4, 5]))")
    assert "InvalidArgumentError" in result["error"] and "matmul" in result["error"]
    assert 'File "<exec>", line 2' in result["traceback"]
    assert run(worker_page, "1 + 1")["value"] == 2   # the worker is fine afterwards


def test_a_buffer_over_the_device_limit_is_resource_exhausted(worker_page):
    code = """
import pykernel as tf
try:
    tf.zeros([2**30 + 1])   # 4 GiB of float32
except tf.errors.ResourceExhaustedError as e:
    message = str(e)
message"""
    assert "exceeds this device's limit" in run(worker_page, code)["value"]
    assert run(worker_page, "import pykernel as tf\ntf.reduce_sum(tf.ones([1000])).item()")["value"] == 1000


def test_a_bad_label_fails_fit_in_the_browser(worker_page):
    """The label check runs on the GPU and surfaces at fit's next read, in the page too."""
    code = """
import pykernel as tf
from pykernel import keras
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
try:
    model.fit(tf.zeros((8, 2)), tf.constant([0, 1, 2, 3] * 2), batch_size=4, verbose=0)
    message = "no error"
except tf.errors.InvalidArgumentError as e:
    message = str(e)
message"""
    assert run(worker_page, code)["value"].startswith(
        "Received a label value of 3 which is outside the valid range of [0, 3)")


def test_nan_and_infinities_in_the_browser(worker_page):
    """SwiftShader's WGSL builtins give their own answers for NaN (log(NaN) was 89.1, so a NaN
    loss looked finite); the kernels pin NumPy's, as tests/webgpu/test_nonfinite.py does natively."""
    import numpy as np
    special = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0, 0.5, -2.0]
    unary = ["exp", "log", "sqrt", "tanh", "sigmoid", "sign", "abs", "floor", "round", "erf", "cos"]
    code = f"""
import pykernel as tf
from pykernel import backends
gpu = backends.get("webgpu")
x = gpu.from_list([float(v) for v in {[repr(v) for v in special]!r}], ({len(special)},), tf.float32)
y = gpu.from_list([1.0] * {len(special)}, ({len(special)},), tf.float32)
out = {{op: [repr(v) for v in gpu.to_list(gpu.unary(op, x))] for op in {unary!r}}}
out["not_equal"] = [repr(v) for v in gpu.to_list(gpu.binary("not_equal", x, y))]
out["pow"] = [repr(v) for v in gpu.to_list(gpu.binary("pow", x, gpu.from_list([0.5] * {len(special)}, ({len(special)},), tf.float32)))]
out["any"] = repr(gpu.to_list(gpu.reduce("any", gpu.from_list([0.0, float("nan")], (2,), tf.float32), (0,), False)))
out"""
    reply = run(worker_page, code)
    assert "value" in reply, reply
    got = reply["value"]
    cpu = backends_cpu()
    xs = np.array(special, np.float32)
    with np.errstate(all="ignore"):
        wants = {op: cpu.unary(op, xs) for op in unary}
        wants["pow"] = cpu.binary("pow", xs, np.full_like(xs, 0.5))
    wrong = [f"{op}({x}) = {g}, NumPy {w}" for op, want in wants.items()
             for x, g, w in zip(special, (float(v) for v in got[op]), want.tolist())
             if not same_float(g, w, 2**-11 if op == "cos" else 0)]   # WGSL's cos: absolute error 2^-11
    assert not wrong, wrong
    assert got["not_equal"] == [repr(bool(v != 1.0)) for v in special]
    assert got["any"] == "[True]"


def backends_cpu():
    from pykernel import backends
    return backends.get("cpu")


def same_float(got, want, atol=0):
    if math.isnan(got) or math.isnan(want):
        return math.isnan(got) and math.isnan(want)
    return got == want or abs(got - want) <= 2e-6 * abs(want) + atol


def test_int64_is_exact_in_the_browser(worker_page):
    """The int64 kernels (two 32-bit words each) compile under Chrome's Tint and agree with
    Python's integers: sums past 2**32, floor division and modulo by negatives, casts."""
    code = """
import pykernel as tf
x = tf.constant([2**40 + 3, -2**35, 7, -7])
y = tf.constant([3, 7, -2, 2], dtype=tf.int64)
[int(tf.reduce_sum(tf.constant([2**30] * 4, dtype=tf.int64))), (x // y).tolist(), (x % y).tolist(),
 (x * y).tolist(), int(tf.cast(tf.constant(3e9), tf.int64)), int(tf.argmax(x)), int(tf.reduce_max(x)),
 tf.cast(x, tf.float32).tolist(), tf.gather(x, [3, 0]).tolist()]"""
    a, b = [2**40 + 3, -2**35, 7, -7], [3, 7, -2, 2]
    assert run(worker_page, code)["value"] == [
        2**32, [p // q for p, q in zip(a, b)], [p % q for p, q in zip(a, b)], [p * q for p, q in zip(a, b)],
        3_000_000_000, 0, 2**40 + 3, [float(v) for v in (2**40, -2**35, 7, -7)], [-7, 2**40 + 3]]


def test_device_memory_has_a_budget_in_the_browser(worker_page):
    """A loop keeping 64 MiB tensors stops at the budget with ResourceExhaustedError (it once
    took 15.5 GiB of host RAM through SwiftShader); the default comes from the adapter's limits."""
    code = """
import pykernel as tf
from pykernel.backends.webgpu.buffers import default_budget
gpu = tf.config.list_physical_devices("GPU")[0]
backend = tf.zeros([1]).backend
default = backend.memory_stats()["budget_bytes"]
tf.config.set_logical_device_configuration(gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=256)])
keep = []
try:
    for i in range(64):
        keep.append(tf.zeros([2**24]))   # 64 MiB of float32 each
    message = "no error"
except tf.errors.ResourceExhaustedError as e:
    message = str(e)
kept = len(keep)
del keep
backend.pool.trim()
backend.pool.budget = default
after = tf.reduce_sum(tf.ones([1000])).item()
[message, kept, default, default_budget(backend.device.max_buffer_size), after]"""
    message, kept, default, expected_default, after = run(worker_page, code)["value"]
    assert "OOM when allocating a tensor of shape [16777216] and type float32" in message, message
    assert "budget of 256 MiB" in message and kept == 3
    assert default == expected_default and 512 * 2**20 <= default <= 4096 * 2**20
    assert after == 1000


TRAIN_FOREVER = """
from pykernel import keras
(x, y), _ = keras.datasets.playground.load_data("circle", n_samples=128)
net = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(1)])
net.compile(optimizer="sgd", loss="mse")
net.fit(x, y, epochs=10_000, batch_size=16, verbose=0)
"""


@pytest.mark.parametrize("loop", ["while True: pass", TRAIN_FOREVER], ids=["busy", "training"])
def test_stop_interrupts_running_python_and_keeps_its_state(worker_page, loop):
    run(worker_page, "kept = 41")
    seen = worker_page.evaluate("window.messages.length")
    worker_page.evaluate("(code) => { window.pending = window.runPython(code); }", loop)
    if "fit" in loop:   # stop mid-training: after the first batches (the first step compiles kernels)
        worker_page.wait_for_function(f"() => window.messages.slice({seen}).some((m) => m.name === 'batch')")
    worker_page.wait_for_timeout(500)
    assert worker_page.evaluate("window.python.busy") is True
    started = time.monotonic()
    worker_page.evaluate("window.python.stop()")
    result = worker_page.evaluate("window.pending")
    assert result["interrupted"] is True, result
    assert time.monotonic() - started < 5
    assert run(worker_page, "kept + 1")["value"] == 42


def test_print_output_is_streamed(worker_page):
    run(worker_page, "print('hello from pykernel'); import sys; print('to stderr', file=sys.stderr)")
    messages = worker_page.evaluate("window.messages")
    assert {"type": "stdout", "text": "hello from pykernel"} in messages
    assert {"type": "stderr", "text": "to stderr"} in messages


def test_a_lost_device_is_a_clear_python_error(browser, base_url):
    context, page, watch = open_harness(browser, base_url)   # its own worker: this one loses its GPU
    code = """
import js
import pykernel as tf
before = tf.reduce_sum(tf.ones([100]) * 2.0).item()
js.pykernelGpu.device.destroy()
errors = []
for attempt in range(2):
    try:
        tf.reduce_sum(tf.ones([10]) * 3.0).item()
    except tf.errors.UnavailableError as e:
        errors.append(str(e))
[before, errors]"""
    before, errors = run(page, code)["value"]
    context.close()
    assert before == 200
    assert len(errors) == 2 and all("GPU device was lost" in e and "reload the page" in e for e in errors), errors


def test_without_cross_origin_isolation_stop_restarts_the_worker(browser, base_url):
    # embedded in a page that is not cross-origin isolated there is no SharedArrayBuffer:
    # Stop must terminate the worker and start a fresh one
    context, page, watch = open_harness(browser, base_url, isolated=False)
    assert page.evaluate("crossOriginIsolated") is False
    assert run(page, "import pykernel\npykernel.config.get_device()")["value"] == "webgpu"
    page.evaluate("() => { window.pending = window.runPython('while True: pass'); }")
    page.wait_for_timeout(300)
    page.evaluate("window.python.stop()")
    result = page.evaluate("window.pending")
    assert result["interrupted"] is True and "restarted" in result["error"]
    page.evaluate("window.python.ready")
    assert run(page, "'kept' in globals(), 6 * 7")["value"] == [False, 42]   # a fresh namespace
    context.close()
    assert not watch.errors(), "\n".join(watch.errors())
