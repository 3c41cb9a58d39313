"""The Python half of the playground's worker (web/worker.js): start-up, training events
to the page, run results as JSON, and the device a model trains faster on (choose_device).
Only start() and the event hooks need the browser (Pyodide's `js`); the rest runs on CPython."""
import json
import math
import sys

from . import __version__, config
from .interrupts import set_stop_check
from .keras.callbacks import set_event_sink


def start(backend):
    """Select the device, prove it computes and reads back, and send Keras training
    events to the page. Returns what the page shows about this runtime (JSON)."""
    config.set_device(backend)
    import pykernel as tf
    check = tf.reduce_sum(tf.range(1, 5, dtype=tf.float32) * 2.0).item()
    if check != 20.0:
        raise RuntimeError(f"the {backend} device computed 2*(1+2+3+4) = {check}, not 20: it is not usable")
    set_event_sink(_emit)
    set_stop_check(_stop_requested)
    _quiet_keyboard_interrupts()
    return json.dumps({"python": sys.version.split()[0], "pykernel": __version__})


def _quiet_keyboard_interrupts():
    """Stop's SIGINT raises KeyboardInterrupt in the running code; asyncio's Task records it
    (the run fails with it, as it should) and then re-raises it into Pyodide's event loop,
    which throws it out of a JS callback: an uncaught error in the page's console. The
    loop's own hook for KeyboardInterrupt (private in this Pyodide) ends that second trip."""
    import asyncio
    loop = asyncio.get_event_loop()
    if getattr(loop, "_keyboard_interrupt_handler", "absent") is None:
        loop._keyboard_interrupt_handler = lambda: None


def _emit(name, data):
    import js
    js.pykernelEmit(name, json.dumps(data))


def _stop_requested():
    import js
    return bool(js.pykernelStopRequested())


# JSON has no NaN or Infinity; web/worker.js turns {FLOAT_TAG: "NaN" | "Infinity" |
# "-Infinity"} back into those numbers, so the page can show them.
FLOAT_TAG = "__pykernel_float__"
MAX_REPR_CHARS = 2000


def _plain(value):
    if hasattr(value, "tolist") and hasattr(value, "shape"):   # Tensor, Variable, ndarray
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def _tag_non_finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT_TAG: "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, list):
        return [_tag_non_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _tag_non_finite(v) for k, v in value.items()}
    return value


def _json(plain):
    text = json.dumps(plain)   # writes NaN and Infinity, which are not JSON
    if "NaN" in text or "Infinity" in text:   # (or a string holding those words: tagging is then a no-op)
        text = json.dumps(_tag_non_finite(plain), allow_nan=False)
    return text


def _repr(plain):
    text = repr(plain)
    return text if len(text) <= MAX_REPR_CHARS else text[:MAX_REPR_CHARS] + " …"


def to_json(value):
    """The JSON the page receives for a run's last expression (tensors as nested lists,
    NaN and +-inf tagged with FLOAT_TAG; anything else JSON cannot hold as its repr)."""
    return _json(_plain(value))


def result_for_page(value, with_repr=False):
    """[to_json(value), how Python writes that value (nan, inf, True, 1.0) or None]: what
    web/worker.js sends the page for a run's last expression."""
    plain = _plain(value)
    return [_json(plain), _repr(plain) if with_repr else None]


# -- which device trains this model faster ------------------------------------------------
# The page asks before training (web/app.js): a software WebGPU adapter (SwiftShader) costs
# ~0.4 ms a dispatch, so a 105-parameter net trains faster on the CPU, even on the pure-Python
# backend that offline Pyodide has; an MNIST-sized model trains faster on WebGPU. So the
# choice is measured: a fresh copy of the model takes one warm-up step (it traces, and on
# WebGPU compiles its pipelines), then a few timed steps, on each device worth trying.

# Measured in the page (headless Chromium 156, SwiftShader WebGPU, pure-Python CPU, 2 cores),
# ms per traced train step, Adam, CPU / WebGPU, before and after elementwise fusion and
# prepared programs (694fea6); WebGPU's first step (pipeline compiles) in brackets:
#   2-8-8-1 tanh, batch 16 (105 params x 16 = 1.7K)  2.3-3.4 / 25-38 (18 s)  ->  2.3-2.6 / 16-17 (1.2 s)
#   2-8-1, batch 1 (33 x 1)                          0.75    / 19           ->  1.2     / 8.0
#   2-32-32-1, batch 32 (1.2K x 32 = 38K)            27      / 42 (7 s)     ->  20      / 25
#   2-64-64-1, batch 64 (4.4K x 64 = 283K)           94      / 31           ->  96      / 33
#   2-128-128-1, batch 64 (17K x 64 = 1.1M)          353     / 44           ->  378     / 58
#   784-32-10, batch 32 (25K x 32 = 814K)            245     / 50           ->  269     / 66
#   784-128-10, batch 32 (102K x 32 = 3.3M)          1116    / 74           ->  1219    / 118
#   784-128-10, batch 128 (13M)                      2593    / 147          ->  3320    / 238
# So the CPU costs >= ~0.3 us per parameter x sample, and WebGPU on SwiftShader >= ~8 ms a step.

# params x batch size above which the pure-Python CPU is not even timed: its step is then
# >= ~50 ms, slower than WebGPU's on SwiftShader for every model above (and far slower than a
# hardware GPU's), while timing it would cost seconds. NumPy's CPU has no such limit.
PURE_PYTHON_MAX_WORK = 150_000
# On a software adapter a WebGPU step takes at least this (ms): half the fastest step measured
# on SwiftShader (8 ms, the 33-parameter net above), leaving room for more fusion. A model
# whose CPU step is faster keeps the CPU without timing WebGPU, whose first step compiles its
# pipelines (1-18 s on SwiftShader).
SOFTWARE_WEBGPU_MIN_STEP_MS = 4.0
PROBE_STEPS = 5          # timed steps per round, after the warm-up step
PROBE_ROUNDS = 3         # timed rounds per device: the fastest counts
PROBE_BUDGET_S = 2.0     # timing one device stops after this (the warm-up step not counted)
SOFTWARE_ADAPTER_WORDS = ("swiftshader", "llvmpipe", "lavapipe", "software", "fallback", "basic render")


def is_software_adapter(adapter):
    """Whether a WebGPU adapter's description names a CPU implementation (SwiftShader,
    llvmpipe/lavapipe, Microsoft Basic Render Driver, a fallback adapter)."""
    text = (adapter or "").lower()
    return any(word in text for word in SOFTWARE_ADAPTER_WORDS)


def cpu_kind():
    """'numpy' or 'python': what the 'cpu' device is here (pure Python without NumPy)."""
    from . import backends
    return "python" if type(backends.get("cpu")).__name__ == "PythonBackend" else "numpy"


def measure_train_step(build, x, y, batch_size, device, steps=PROBE_STEPS, rounds=PROBE_ROUNDS,
                       budget_s=PROBE_BUDGET_S, clock=None):
    """Milliseconds per traced Keras train step of a fresh model `build()` (built and compiled
    under `with tf.device(device)`) on the first `batch_size` samples of x, y, copied there.
    One warm-up step first (it traces; on WebGPU it compiles the pipelines) and one untimed
    round (in a fresh Pyodide the first replays run ~2x slower), then `rounds` rounds of
    `steps` steps, each ending with one read of the loss (so queued GPU work is timed too);
    the fastest round counts (a garbage-collector pause or another job only ever slows a
    round down). Timing stops early after `budget_s`. Returns {"ms": per step, "first_ms": the
    warm-up step, "steps": timed steps, "layers": layers with weights}. The model is thrown
    away, and Keras's layer-name counters are put back, so the user's model is still named
    'dense', 'dense_1', ..."""
    import gc
    import time
    import pykernel as tf
    from . import nest
    from .interrupts import check_stop
    from .keras import naming
    from .keras.models import data_adapter
    from .keras.models.logs import to_floats
    clock = clock or time.perf_counter
    counts = dict(naming._counts)
    try:
        with tf.device(device):
            model = build()
            n = min(int(batch_size), int(nest.flatten(x)[0].shape[0]))
            batch = data_adapter.adapter_for(x[:n], None if y is None else y[:n]).whole_batch()
            batch = tuple(None if part is None else nest.map_structure(tf.identity, part) for part in batch)
            train_step = model.make_train_function()
            t0 = clock()
            to_floats(train_step(batch))
            first = clock() - t0
            per_round, done, started = [], 0, clock()
            for _ in range(steps):      # the untimed round
                check_stop()
                logs = train_step(batch)
            to_floats(logs)
            gc.collect()
            while len(per_round) < rounds and (not per_round or clock() - started < budget_s):
                t0 = clock()
                for _ in range(steps):
                    check_stop()
                    logs = train_step(batch)
                to_floats(logs)
                per_round.append((clock() - t0) / steps)
                done += steps
            layers = sum(1 for layer in model.layers if layer.trainable_weights)
    finally:
        naming._counts.clear()
        naming._counts.update(counts)
    return {"ms": min(per_round) * 1000, "first_ms": first * 1000, "steps": done, "layers": layers}


def choose_device(build, data, batch_size, params, devices=None, adapter=None, cpu=None,
                  measure=measure_train_step):
    """The device to train `build()`'s model on, by measurement. `data`: (x, y), or a function
    returning them (called only if something is timed); `params`: the model's parameter count;
    `devices`: those available (default: pykernel's); `adapter`: the WebGPU adapter's
    description; `cpu`: 'python' or 'numpy' (default: what 'cpu' is here). Returns
        {"device": "cpu" | "webgpu", "rule": "only" | "large" | "software" | "measured",
         "ms": {device: ms per step, None where not timed}, "first_ms": {device: warm-up ms},
         "work": params x batch, "reason": one sentence for the page}.
    Rules (from the measurements above): the pure-Python CPU is not timed for params x batch
    > PURE_PYTHON_MAX_WORK ("large": WebGPU); WebGPU on a software adapter is not timed when
    the CPU's step is under SOFTWARE_WEBGPU_MIN_STEP_MS ("software": the CPU); otherwise both
    are timed and the faster one wins ("measured")."""
    from . import backends
    devices = [d for d in (devices if devices is not None else backends.available()) if d in ("cpu", "webgpu")]
    if not devices:
        raise ValueError("no device to train on: neither 'cpu' nor 'webgpu' is available")
    cpu = cpu or (cpu_kind() if "cpu" in devices else None)
    params, batch_size = int(params), int(batch_size)
    work = params * batch_size
    ms = {d: None for d in devices}
    first = {d: None for d in devices}
    got = []

    def timed(device):
        if not got:
            got.append(data() if callable(data) else data)
        x, y = got[0]
        probe = measure(build, x, y, batch_size, device)
        ms[device], first[device] = probe["ms"], probe["first_ms"]
        return probe["ms"]

    def result(device, rule, reason):
        return {"device": device, "rule": rule, "ms": ms, "first_ms": first, "work": work, "reason": reason}

    if len(devices) == 1:
        return result(devices[0], "only", f"{_label(devices[0])} is the only device here")
    if cpu == "python" and work > PURE_PYTHON_MAX_WORK:
        return result("webgpu", "large", f"{params:,} parameters x batch {batch_size} is too much work for the "
                                         f"pure-Python CPU (over {PURE_PYTHON_MAX_WORK:,}), so it was not timed")
    cpu_ms = timed("cpu")
    if is_software_adapter(adapter) and cpu_ms < SOFTWARE_WEBGPU_MIN_STEP_MS:
        return result("cpu", "software", f"{cpu_ms:.1f} ms/step on the CPU; WebGPU here is a software adapter, "
                                         f"where a step takes over {SOFTWARE_WEBGPU_MIN_STEP_MS:g} ms, so it was not timed")
    gpu_ms = timed("webgpu")
    best = "cpu" if cpu_ms <= gpu_ms else "webgpu"
    return result(best, "measured", f"{cpu_ms:.1f} ms/step on the CPU vs {gpu_ms:.1f} ms/step on WebGPU")


def _label(device):
    return {"cpu": "the CPU", "webgpu": "WebGPU"}.get(device, device)


def choose_device_for_page(build, data, batch_size, params, devices=None, adapter=None):
    """choose_device(...) as JSON, for the page (web/app.js shows the reason and the figures)."""
    return json.dumps(choose_device(build, data, batch_size, params, devices=devices, adapter=adapter))
