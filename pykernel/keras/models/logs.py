"""Where values computed on the device become Python floats for callbacks and History.

`to_float` is the one conversion (and therefore the one sync point) of the training loop.
Batch logs are wrapped in `BatchLogs`, which converts a value only when a callback reads
it: with no callback looking at batch logs, training never waits for the device.
"""
from collections.abc import MutableMapping


def to_float(value):
    """A Python float from a scalar Tensor, Variable or number."""
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "read_value"):
        value = value.read_value()
    return float(value)


def to_floats(logs):
    return {name: to_float(value) for name, value in logs.items()}


class BatchLogs(MutableMapping):
    """A dict-like view of one step's results, read from the device on first access."""

    def __init__(self, values):
        self._pending = dict(values)
        self._read = {}

    def __getitem__(self, key):
        if key not in self._read:
            self._read[key] = to_float(self._pending[key])
        return self._read[key]

    def __setitem__(self, key, value):
        self._pending[key] = value
        self._read.pop(key, None)

    def __delitem__(self, key):
        del self._pending[key]
        self._read.pop(key, None)

    def __iter__(self):
        return iter(self._pending)

    def __len__(self):
        return len(self._pending)

    def copy(self):
        return dict(self.items())

    def __repr__(self):
        return repr(self.copy())
