"""The Python half of the playground's worker (web/worker.js): start-up, training events
to the page, and run results as JSON. Imported only in the browser (it uses Pyodide's `js`)."""
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
