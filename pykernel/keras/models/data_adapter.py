"""Turning the arrays given to fit/evaluate/predict into device batches.

The whole dataset is converted to tensors ONCE per call (NumPy arrays, lists or tensors;
features become float32 like in Keras), then every batch is a slice (or, when shuffling,
a gather by a slice of a per-epoch permutation) on the device: nothing is uploaded per batch.
"""
import math
import numbers

from ... import dtypes, nest, ops
from ...ops import random as random_ops
from ...tensor import Tensor, convert_to_tensor
from .. import backend


# ---------------------------------------------------------------- conversion

def _is_array_like(value):
    return isinstance(value, Tensor) or hasattr(value, "read_value") or \
        (type(value).__module__ == "numpy" and hasattr(value, "shape"))


def _is_multi_input(value):
    """A list/tuple of arrays (several model inputs), as opposed to one nested list of numbers."""
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(_is_array_like(v) for v in value)


def _leaf_to_tensor(value, features):
    """One array as a tensor; features (x) become float32, targets keep integer types."""
    floatx = dtypes.as_dtype(backend.floatx())
    if hasattr(value, "read_value"):
        value = value.read_value()
    if type(value).__module__ == "numpy":
        import numpy as np  # only reached when the caller handed us NumPy arrays
        value = np.asarray(value)
        if value.dtype.kind == "f" or (features and value.dtype.kind in "iub"):
            value = value.astype(floatx.as_numpy_dtype, copy=False)  # convert on the host: one upload
        elif value.dtype.kind == "b":
            value = value.astype(np.int32)
        return convert_to_tensor(value)
    tensor = value if isinstance(value, Tensor) else convert_to_tensor(value)
    if tensor.dtype.is_floating or (features and not tensor.dtype.is_bool):
        return tensor if tensor.dtype is floatx else ops.cast(tensor, floatx)
    if tensor.dtype.is_bool:
        return ops.cast(tensor, dtypes.int32)
    return tensor


def to_tensors(data, features):
    if data is None:
        return None
    if _is_multi_input(data) or isinstance(data, dict):
        return nest.map_structure(lambda v: _leaf_to_tensor(v, features), data)
    return _leaf_to_tensor(data, features)


def num_samples(data):
    return nest.flatten(data)[0].shape[0]


def check_lengths(x, y=None, sample_weight=None):
    """Every array must hold the same number of samples (Keras's 'cardinality' check)."""
    sizes = {}
    for name, data in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        if data is not None:
            lengths = [t.shape[0] if t.ndim else None for t in nest.flatten(data)]
            if None in lengths:
                raise ValueError(f"Expected '{name}' to have a batch dimension; got a scalar")
            sizes[name] = lengths
    if len({n for lengths in sizes.values() for n in lengths}) > 1:
        detail = " ".join(f"'{name}' sizes: {', '.join(map(str, lengths))}" for name, lengths in sizes.items())
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                         f"samples. {detail}")


def slice_rows(data, start, stop):
    if data is None:
        return None
    return nest.map_structure(lambda t: t[start:stop], data)


def gather_rows(data, indices):
    if data is None:
        return None
    return nest.map_structure(lambda t: ops.gather(t, indices), data)


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights looked up from {class index: weight} by each sample's label."""
    labels = y
    if labels.ndim == 2 and labels.shape[-1] > 1:
        labels = ops.argmax(labels, -1, output_type=dtypes.int32)  # one-hot targets
    elif labels.ndim == 2:
        labels = ops.squeeze(labels, [-1])
    if labels.dtype.is_floating and labels.ndim == 1 and labels.dtype is not dtypes.int32:
        labels = ops.cast(ops.round(labels), dtypes.int32)  # binary targets given as 0.0 / 1.0
    size = max(int(k) for k in class_weight) + 1
    table = ops.constant([float(class_weight.get(i, 1.0)) for i in range(size)], dtype=dtypes.float32)
    return ops.gather(table, ops.cast(labels, dtypes.int32))


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) from a step's `data`: x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
        raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                         f"found a tuple of length {len(data)}")
    return data, None, None


def train_validation_split(arrays, validation_split):
    """Split off the LAST `validation_split` fraction of the samples (before any shuffling)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
        raise TypeError("`validation_split` must be a float in [0, 1) (the fraction of the samples held "
                        f"out for validation); received validation_split={validation_split!r} of type "
                        f"{type(validation_split).__name__}")
    if not 0.0 < validation_split < 1.0:
        raise ValueError("`validation_split` must be a float in [0, 1) (the fraction of the samples held "
                         f"out for validation; 0 for none); received validation_split={validation_split}")
    n = num_samples(arrays[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         "Either provide more data, or a different value for the `validation_split` argument.")
    return ([slice_rows(a, 0, split_at) for a in arrays], [slice_rows(a, split_at, n) for a in arrays])


# ---------------------------------------------------------------- batching

class ArrayDataAdapter:
    """Batches of (x, y, sample_weight) from device tensors, optionally shuffled per epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None, steps_name="steps"):
        batch_size = check_batch_size(batch_size)
        steps = check_steps(steps, steps_name)
        self.x, self.y, self.sample_weight = x, y, sample_weight
        check_lengths(x, y, sample_weight)
        if class_weight is not None:
            if y is None:
                raise ValueError("`class_weight` needs targets `y`")
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            self.sample_weight = class_weight_to_sample_weight(y, class_weight)
        self.size = num_samples(x)
        if batch_size is None:  # Keras: spread the samples over `steps` batches, else 32 a batch
            batch_size = max(1, math.ceil(self.size / steps)) if steps else 32
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.steps = math.ceil(self.size / self.batch_size) if steps is None else min(
            steps, math.ceil(self.size / self.batch_size))

    def whole_batch(self):
        """All the samples as one batch (the *_on_batch methods), even when there are none."""
        return pack_x_y_sample_weight(self.x, self.y, self.sample_weight)

    def batches(self):
        """Yield (step, (x, y, sample_weight)) for one pass over the data."""
        order = random_ops.shuffle(ops.range(self.size)) if self.shuffle else None
        for step in range(self.steps):
            start = step * self.batch_size
            stop = min(start + self.batch_size, self.size)
            if order is None:
                batch = [slice_rows(d, start, stop) for d in (self.x, self.y, self.sample_weight)]
            else:
                rows = order[start:stop]
                batch = [gather_rows(d, rows) for d in (self.x, self.y, self.sample_weight)]
            yield step, pack_x_y_sample_weight(*batch)


def is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_batch_size(batch_size, name="batch_size"):
    """None (the default: 32 samples a batch) or a positive integer, else a clear error.

    Keras's array adapter reads any falsy batch_size (0 included) as "use the default", so
    `batch_size=0` silently trains on batches of 32; here 0 and negative sizes are a
    ValueError and non-integers (2.5, "32", True) a TypeError, as in TF's slicing."""
    return _positive_integer(batch_size, name, "the number of samples per batch", "for the default of 32")


def check_steps(steps, name="steps"):
    """None (every batch) or a positive integer number of batches."""
    return _positive_integer(steps, name, "a number of batches", "for all the data")


def _positive_integer(value, name, meaning, none_means):
    if value is None:
        return None
    if not is_integer(value):
        raise TypeError(f"`{name}` must be a positive integer ({meaning}) or None; "
                        f"received {name}={value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"`{name}` must be a positive integer ({meaning}) or None {none_means}; "
                         f"received {name}={value}")
    return int(value)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The step's `data`: (x,), (x, y) or (x, y, sample_weight)."""
    if y is None and sample_weight is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def adapter_for(x, y=None, sample_weight=None, **kwargs):
    """An ArrayDataAdapter over arrays converted to tensors (features x as float32)."""
    check_batch_size(kwargs.get("batch_size"))  # before any upload
    check_steps(kwargs.get("steps"), kwargs.get("steps_name", "steps"))
    return ArrayDataAdapter(to_tensors(x, features=True), to_tensors(y, features=False),
                            to_tensors(sample_weight, features=False), **kwargs)
