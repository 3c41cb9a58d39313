"""EventStream: training progress as events for a host, such as the playground page's live
charts (web/worker.js forwards them to the page).

A host registers one sink with `set_event_sink(sink)`; from then on fit, evaluate and
predict add an EventStream on their own, the way they add History. After every batch it
also calls `pykernel.interrupts.check_stop()`, where a host's Stop request ends the run.
`sink(name, data)` receives:
  train_begin {epochs, steps}      batch {epoch, step, steps, logs}
  epoch {epoch, epochs, logs}      train_end {logs, stopped}      evaluate {logs}
Epochs and steps count from 1; logs are {metric: float or None (not finite)}.
Each batch event reads the step's metrics, which waits for the device, so batches are
reported at most every `interval` seconds (and always the last batch of an epoch).
"""
import math
import time

from ...interrupts import check_stop as _check_stop
from .callback import Callback

_sink = None


def set_event_sink(sink):
    """Send training events to `sink(name, data)`; None stops sending."""
    global _sink
    if sink is not None and not callable(sink):
        raise TypeError(f"the event sink must be callable as sink(name, data), got {type(sink).__name__}")
    _sink = sink


def event_sink():
    return _sink


def _plain(logs):
    out = {}
    for key, value in (logs or {}).items():
        value = float(value)
        out[key] = value if math.isfinite(value) else None
    return out


class EventStream(Callback):
    def __init__(self, sink=None, interval=0.25):
        super().__init__()
        self._sink = sink
        self.interval = interval
        self._epoch = 0
        self._last_sent = 0.0
        self._in_fit = False

    def _send(self, name, data):
        sink = self._sink or _sink
        if sink is not None:
            sink(name, data)

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._last_sent = time.monotonic()
        self._send("train_begin", {"epochs": self.params.get("epochs"), "steps": self.params.get("steps")})

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        _check_stop()
        steps = self.params.get("steps")
        now = time.monotonic()
        if now - self._last_sent < self.interval and batch + 1 != steps:
            return
        self._last_sent = now
        self._send("batch", {"epoch": self._epoch + 1, "step": batch + 1, "steps": steps, "logs": _plain(logs)})

    def on_epoch_end(self, epoch, logs=None):
        self._send("epoch", {"epoch": epoch + 1, "epochs": self.params.get("epochs"), "logs": _plain(logs)})

    def on_train_end(self, logs=None):
        self._in_fit = False
        stopped = bool(getattr(self.model, "stop_training", False))
        self._send("train_end", {"logs": _plain(logs), "stopped": stopped})

    def on_test_batch_end(self, batch, logs=None):
        _check_stop()

    def on_predict_batch_end(self, batch, logs=None):
        _check_stop()

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._send("evaluate", {"logs": _plain(logs)})
