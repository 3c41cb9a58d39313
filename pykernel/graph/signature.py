"""Input signatures: `tf.TensorSpec`, and the trace-cache key of a call's arguments.

TF's rules: tensors (and NumPy arrays) are matched by shape and dtype; Python values
(numbers, strings, None, tuples of them) by value, so a new value retraces (and equal numbers
share a trace whatever their type: 1, 1.0 and True, as in TF); Variables by
identity (they are captured by reference); other objects by equality when hashable, else
by identity.
"""
from .. import backends, dtypes, nest
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


def leaf_key(leaf):
    if isinstance(leaf, Tensor):
        return ("tensor", tuple(leaf.shape), leaf.dtype.name, leaf.backend.device_name)
    if isinstance(leaf, TensorSpec):   # traced on the default device, as a call with tensors there is
        return ("tensor", tuple(leaf.shape), leaf.dtype.name, backends.default().device_name)
    if isinstance(leaf, Variable):
        return ("variable", id(leaf))
    if isinstance(leaf, (bool, int, float)):
        return ("number", leaf)
    if leaf is None or isinstance(leaf, (str, bytes)):
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
    return (_structure(args), tuple(leaf_key(leaf) for leaf in flat))


def apply_input_signature(function_name, input_signature, args):
    """Check `args` (the positional arguments) against `input_signature` and convert Python
    values to tensors of the spec's dtype, as TF does (a list where a TensorSpec stands is one
    tensor); a mismatch raises naming the argument."""
    if len(args) != len(input_signature):
        raise TypeError(f"{function_name}: the input_signature has {len(input_signature)} argument(s), but "
                        f"{len(args)} were given")
    return tuple(_matched(function_name, index, spec, arg)
                 for index, (arg, spec) in enumerate(zip(args, input_signature)))


def tensor_for(spec, value):
    """`value` (a tensor, variable, NumPy array or Python value) as a tensor for `spec`: Python
    values take the spec's dtype where they can, as in TF; the caller checks the result."""
    if isinstance(value, Variable):
        value = value.read_value()
    return value if isinstance(value, Tensor) else convert_to_tensor(value, dtype_hint=spec.dtype)


def _matched(function_name, index, spec, arg):
    if isinstance(spec, TensorSpec):
        try:
            tensor = tensor_for(spec, arg)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{function_name}: argument {index} ({arg!r}) cannot be a tensor for the "
                            f"input_signature's {spec!r}: {error}") from None
        if not spec.is_compatible_with(tensor):
            raise TypeError(
                f"{function_name}: argument {index} is a tensor with shape {tuple(tensor.shape)} and "
                f"dtype {tensor.dtype.name}, which does not match the input_signature's {spec!r}")
        return tensor
    same = isinstance(spec, dict) and isinstance(arg, dict) and sorted(spec) == sorted(arg) or \
        isinstance(spec, (list, tuple)) and isinstance(arg, (list, tuple)) and len(spec) == len(arg)
    if not same:
        raise TypeError(f"{function_name}: argument {index} has structure {_structure(arg)}, but the "
                        f"input_signature expects {_structure(spec)}")
    if isinstance(spec, dict):
        return {k: _matched(function_name, index, spec[k], arg[k]) for k in arg}
    items = [_matched(function_name, index, s, a) for s, a in zip(spec, arg)]
    return type(arg)(*items) if hasattr(arg, "_fields") else type(arg)(items)


def flatten_up_to(structure, value):
    """`value`'s parts where `structure` has leaves (a whole list where a TensorSpec stands),
    or None if the two differ in structure above them."""
    if isinstance(structure, dict):
        if not isinstance(value, dict) or sorted(structure) != sorted(value):
            return None
        parts = [flatten_up_to(structure[k], value[k]) for k in sorted(structure)]
    elif isinstance(structure, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(structure) != len(value):
            return None
        parts = [flatten_up_to(s, v) for s, v in zip(structure, value)]
    else:
        return [value]
    return None if any(p is None for p in parts) else [leaf for part in parts for leaf in part]
