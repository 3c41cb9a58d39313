"""tf.compat.v2: the TF 2 API, i.e. the `pykernel` namespace itself."""
import pykernel as _tf


def __getattr__(name):
    return getattr(_tf, name)


def __dir__():
    return sorted(set(globals()) | set(dir(_tf)))
