"""Input signatures: `tf.TensorSpec`, and the trace-cache key of a call's arguments.

TF's rules: tensors (and NumPy arrays) are matched by shape and dtype; Python values
(numbers, strings, None, tuples of them) by value, so a new value retraces; Variables by
identity (they are captured by reference); other objects by equality when hashable, else
by identity.
"""
from .. import dtypes, nest
from ..tensor import Tensor, TensorShape, convert_to_tensor
from ..variables import Variable


class TensorSpec:
    """The shape and dtype of a tensor argument; None dims match any size (tf.TensorSpec)."""

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape, dtype=dtypes.float32, name=None):
        if shape is None:
            raise ValueError("pykernel's TensorSpec needs a known rank: give a shape, with None for "
                             "any size in a dimension")
        self._shape = TensorShape(None if d is None else int(d) for d in shape)
        self._dtype = dtypes.as_dtype(dtype)
        self._name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tensor.shape, tensor.dtype, name)

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def name(self):
        return self._name

    def is_compatible_with(self, other):
        shape = tuple(other.shape)
        return other.dtype is self._dtype and len(shape) == len(self._shape) and all(
            s is None or d is None or s == d for s, d in zip(self._shape, shape))

    def is_fully_defined(self):
        return None not in self._shape

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self._shape, self._dtype, self._name) == \
            (other._shape, other._dtype, other._name)

    def __hash__(self):
        return hash((tuple(self._shape), self._dtype.name, self._name))

    def __repr__(self):
        shape = tuple(self._shape)
        return f"TensorSpec(shape={shape}, dtype=tf.{self._dtype.name}, name={self._name!r})"


def _is_numpy_array(x):
    return type(x).__module__ == "numpy" and hasattr(x, "shape") and hasattr(x, "dtype")


def _structure(x):
    """A hashable skeleton of a nest, leaves replaced by '*'."""
    if isinstance(x, dict):
        return ("dict", tuple((k, _structure(x[k])) for k in sorted(x)))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_structure(v) for v in x))
    return "*"


def _leaf_key(leaf):
    if isinstance(leaf, Tensor):
        return ("tensor", tuple(leaf.shape), leaf.dtype.name, leaf.backend.device_name)
    if isinstance(leaf, TensorSpec):
        return ("tensor", tuple(leaf.shape), leaf.dtype.name, None)
    if isinstance(leaf, Variable):
        return ("variable", id(leaf))
    if leaf is None or isinstance(leaf, (bool, int, float, str, bytes)):
        return ("python", type(leaf).__name__, leaf)
    try:
        hash(leaf)
    except TypeError:
        return ("object", type(leaf).__name__, id(leaf))
    return ("object", type(leaf).__name__, leaf)


def canonical_leaves(args):
    """The call's arguments (a nest) with NumPy arrays made tensors, and the flat leaves."""
    flat = nest.flatten(args)
    if any(_is_numpy_array(x) for x in flat):
        flat = [convert_to_tensor(x) if _is_numpy_array(x) else x for x in flat]
        args = nest.pack_sequence_as(args, flat)
    return args, flat


def cache_key(args, flat):
    return (_structure(args), tuple(_leaf_key(leaf) for leaf in flat))


def apply_input_signature(function_name, input_signature, args):
    """Check `args` (the positional arguments) against `input_signature` and convert Python
    values to tensors of the spec's dtype, as TF does; a mismatch raises naming the argument."""
    if len(args) != len(input_signature):
        raise TypeError(f"{function_name}: the input_signature has {len(input_signature)} argument(s), but "
                        f"{len(args)} were given")
    out = []
    for index, (arg, spec) in enumerate(zip(args, input_signature)):
        spec_leaves, arg_leaves = nest.flatten(spec), nest.flatten(arg)
        if _structure(spec) != _structure(arg) or len(spec_leaves) != len(arg_leaves):
            raise TypeError(f"{function_name}: argument {index} has structure {_structure(arg)}, but the "
                            f"input_signature expects {_structure(spec)}")
        converted = []
        for leaf, leaf_spec in zip(arg_leaves, spec_leaves):
            tensor = leaf if isinstance(leaf, Tensor) else convert_to_tensor(
                leaf.read_value() if isinstance(leaf, Variable) else leaf, dtype_hint=leaf_spec.dtype)
            if not leaf_spec.is_compatible_with(tensor):
                raise TypeError(
                    f"{function_name}: argument {index} is a tensor with shape {tuple(tensor.shape)} and "
                    f"dtype {tensor.dtype.name}, which does not match the input_signature's {leaf_spec!r}")
            converted.append(tensor)
        out.append(nest.pack_sequence_as(arg, converted))
    return tuple(out)
