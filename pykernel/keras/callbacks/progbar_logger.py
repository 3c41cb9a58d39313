"""ProgbarLogger: prints progress for `verbose` 1 and 2.

fit prints one line per epoch with every metric; evaluate and predict called on their own
print one summary line. verbose=1 on a terminal also redraws a progress bar while an epoch
runs, without reading any metric, so it costs no device sync.
"""
import sys
import time

from .callback import Callback


def format_logs(logs):
    parts = []
    for key, value in logs.items():
        if isinstance(value, float):
            parts.append(f"{key}: {value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{key}: {value:.4e}")
        else:
            parts.append(f"{key}: {value}")
    return " - ".join(parts)


def _duration(seconds):
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"


class ProgbarLogger(Callback):
    BAR_WIDTH = 30
    REDRAW_SECONDS = 0.5

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self._start = self._last_draw = 0.0
        self._seen = 0
        self._in_fit = False  # validation inside fit is reported on the epoch line instead

    @property
    def _verbose(self):
        return self.params.get("verbose", 1)

    def _begin(self):
        self._start = self._last_draw = time.time()
        self._seen = 0

    def _bar(self, done):
        total = self.params.get("steps") or done
        filled = int(self.BAR_WIDTH * done / max(total, 1))
        arrow = ">" if filled < self.BAR_WIDTH else ""
        bar = "=" * filled + arrow + "." * (self.BAR_WIDTH - filled - len(arrow))
        return f"{done}/{total} [{bar}]"

    def _step_done(self, batch):
        self._seen = batch + 1
        if self._verbose == 1 and sys.stdout.isatty() and time.time() - self._last_draw > self.REDRAW_SECONDS:
            self._last_draw = time.time()
            sys.stdout.write("\r" + self._bar(self._seen))
            sys.stdout.flush()

    def _print_line(self, logs):
        elapsed = time.time() - self._start
        steps = self._seen or self.params.get("steps") or 1
        head = self._bar(steps) if self._verbose == 1 else f"{steps}/{self.params.get('steps') or steps}"
        line = f"{head} - {_duration(elapsed)} {_duration(elapsed / steps)}/step"
        if logs:
            line += " - " + format_logs(logs)
        prefix = "\r" if self._verbose == 1 and sys.stdout.isatty() else ""
        print(prefix + line, flush=True)

    # fit
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._begin()
        if self._verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._step_done(batch)

    def on_epoch_end(self, epoch, logs=None):
        if self._verbose:
            self._print_line(logs)

    # evaluate and predict on their own
    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._begin()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step_done(batch)

    def on_test_end(self, logs=None):
        if not self._in_fit and self._verbose:
            self._print_line(logs)

    def on_predict_begin(self, logs=None):
        self._begin()

    def on_predict_batch_end(self, batch, logs=None):
        self._step_done(batch)

    def on_predict_end(self, logs=None):
        if self._verbose:
            self._print_line(None)
