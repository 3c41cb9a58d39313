"""keras.utils: to_categorical and set_random_seed."""
import random as _random

from .. import dtypes, ops
from ..ops import random as random_ops
from ..tensor import Tensor, convert_to_tensor


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer class labels: NumPy in, NumPy out (like Keras); else a Tensor."""
    if type(y).__module__ == "numpy":
        import numpy as np  # the caller handed us NumPy, so NumPy is here
        labels = np.asarray(y, dtype="int64")
        shape = labels.shape
        if shape and shape[-1] == 1 and len(shape) > 1:
            shape = shape[:-1]
        labels = labels.reshape(-1)
        num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
        out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
        out[np.arange(labels.shape[0]), labels] = 1
        return out.reshape(shape + (num_classes,))
    labels = y if isinstance(y, Tensor) else convert_to_tensor(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, [-1])
    labels = labels if labels.dtype.is_integer else ops.cast(labels, dtypes.int32)
    if num_classes is None:
        num_classes = int(ops.reduce_max(labels).item()) + 1
    return ops.one_hot(labels, int(num_classes), dtype=dtype)


def set_random_seed(seed):
    """Seed Python's `random`, NumPy's global generator (when present) and pykernel.random."""
    _random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass
    random_ops.set_seed(seed)
