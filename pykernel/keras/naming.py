"""Default object names, as Keras makes them: 'Conv2D' -> 'conv2d', then 'conv2d_1', ..."""
import collections
import re

_counts = collections.defaultdict(int)


def to_snake_case(name):
    """'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu' (Keras's rule)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def get_uid(prefix=""):
    """1, 2, 3, ... per prefix."""
    _counts[prefix] += 1
    return _counts[prefix]


def unique_name(prefix):
    """`prefix` for the first object of its kind, then `prefix_1`, `prefix_2`, ..."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def reset():
    _counts.clear()
