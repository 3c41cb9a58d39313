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


def _plain(value):
    if hasattr(value, "tolist") and hasattr(value, "shape"):   # Tensor, Variable, ndarray
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def to_json(value):
    """The JSON the page receives for a run's last expression (tensors as nested lists;
    anything else JSON cannot hold as its repr)."""
    return json.dumps(_plain(value))
