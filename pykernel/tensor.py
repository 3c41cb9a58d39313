"""Tensor: an immutable value on a backend device, with TF's operators and conversions."""
import array as _array
import math

from . import backends, dtypes


class TensorShape(tuple):
    """A tuple of dims with TF's TensorShape helpers (`as_list`, `rank`, `num_elements`)."""

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    ndims = rank

    def num_elements(self):
        return math.prod(self)

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return TensorShape(out) if isinstance(key, slice) else out

    def __repr__(self):
        return f"TensorShape({list(self)})"


class Tensor:
    """An n-dimensional array on a device. Create with `pykernel.constant` or any op."""

    __slots__ = ("_buf", "_backend", "_shape", "_dtype", "__weakref__")
    __array_priority__ = 100  # numpy_array + tensor defers to Tensor.__radd__

    def __init__(self, buf, backend, shape=None, dtype=None):
        self._buf = buf
        self._backend = backend
        self._shape = TensorShape(backend.shape(buf) if shape is None else shape)
        self._dtype = backend.dtype(buf) if dtype is None else dtype

    # -- metadata --
    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def device(self):
        return self._backend.device_name

    @property
    def backend(self):
        if backends.tracing:
            return backends.traced(self._backend)
        return self._backend

    # -- reading values: the only sync points --
    @property
    def numpy(self):
        """`t.numpy()`; a symbolic tensor (inside tf.function) has no such attribute, as in TF,
        so `hasattr(t, "numpy")` tells an eager tensor from a traced one."""
        name = self._symbolic_name()
        if name is not None:
            raise AttributeError(
                f"'Tensor' object has no attribute 'numpy': {name!r} is a symbolic tensor inside tf.function, "
                "which has no value while the function is traced (return it, or use tf.print to see it "
                "at every call, or debug with tf.config.run_functions_eagerly(True))")
        return self._to_numpy

    def _to_numpy(self):
        return self._backend.to_numpy(self._buf)

    def tolist(self):
        flat = self._backend.to_list(self._buf)
        if self._dtype.is_bool:
            flat = [bool(v) for v in flat]
        return _unflatten(flat, self._shape)

    def item(self):
        if self._shape.num_elements() != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {tuple(self._shape)}")
        return self._backend.to_list(self._buf)[0] if not self._dtype.is_bool \
            else bool(self._backend.to_list(self._buf)[0])

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __index__(self):
        if not self._dtype.is_integer:
            raise TypeError(f"only integer scalar tensors can be used as an index, got {self._dtype.name}")
        return int(self._scalar("index"))

    def __bool__(self):
        return bool(self._scalar("bool"))

    def _scalar(self, what):
        if self._shape.num_elements() != 1:
            raise TypeError(f"{what}() of a tensor with shape {tuple(self._shape)}: only "
                            "single-element tensors convert to Python scalars")
        return self.item()

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of a scalar tensor")
        return self._shape[0]

    def __iter__(self):
        from . import ops
        if not self._shape:
            raise TypeError("iterating over a scalar tensor")
        return iter(ops.unstack(self))

    def _symbolic_name(self):
        """The graph tensor's name ('x:0') while a tf.function is traced, else None."""
        if getattr(self._backend, "trace", None) is not None and hasattr(self._buf, "node"):
            return self._buf.name
        return None

    def __repr__(self):
        name = self._symbolic_name()
        if name is not None:   # TF's graph-tensor form: there are no values to show while tracing
            return f'<tf.Tensor \'{name}\' shape={_shape_text(self._shape)} dtype={self._dtype.name}>'
        values = self._format(True)
        if "\n" in values:  # TF starts a multi-line array on its own line
            values = "\n" + values
        return f"<tf.Tensor: shape={tuple(self._shape)}, dtype={self._dtype.name}, numpy={values}>"

    def __str__(self):
        name = self._symbolic_name()
        if name is not None:
            return f'Tensor("{name}", shape={_shape_text(self._shape)}, dtype={self._dtype.name})'
        return f"tf.Tensor({self._format()}, shape={tuple(self._shape)}, dtype={self._dtype.name})"

    def _format(self, as_repr=False):
        """Values as NumPy prints them (its repr for repr()), or as a nested list without NumPy."""
        try:
            import numpy as np
            values = self.numpy()
            if as_repr:
                return repr(values.item()) if values.ndim == 0 else repr(values)
            return np.array2string(values, threshold=200)
        except ImportError:
            text = repr(self.tolist())
            return text if len(text) < 2000 else text[:2000] + " ..."

    def __format__(self, spec):
        if spec and self._shape.num_elements() == 1:
            return format(self.item(), spec)
        return str(self)

    def ref(self):
        return self

    def deref(self):
        return self

    __hash__ = object.__hash__

    # -- operators: each is a public op --
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().truediv(self, other)
    def __rtruediv__(self, other): return _ops().truediv(other, self)
    def __floordiv__(self, other): return _ops().floordiv(self, other)
    def __rfloordiv__(self, other): return _ops().floordiv(other, self)
    def __mod__(self, other): return _ops().floormod(self, other)
    def __rmod__(self, other): return _ops().floormod(other, self)
    def __pow__(self, other): return _ops().pow(self, other)
    def __rpow__(self, other): return _ops().pow(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __invert__(self): return _ops().logical_not(self)
    def __and__(self, other): return _ops().logical_and(self, other)
    def __rand__(self, other): return _ops().logical_and(other, self)
    def __or__(self, other): return _ops().logical_or(self, other)
    def __ror__(self, other): return _ops().logical_or(other, self)
    def __xor__(self, other): return _ops().logical_xor(self, other)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __eq__(self, other): return _ops().equal(self, other)
    def __ne__(self, other): return _ops().not_equal(self, other)
    def __getitem__(self, key): return _ops().getitem(self, key)


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _ops():
    from . import ops
    return ops


def _unflatten(flat, shape):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [_unflatten(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# ---------------------------------------------------------------- conversion

_ARRAY_TYPECODES = {"f": dtypes.float32, "d": dtypes.float64, "i": dtypes.int32,
                    "l": dtypes.int64, "q": dtypes.int64, "B": dtypes.uint8, "b": dtypes.uint8}


MAX_NESTING = 64   # NumPy's limit on dimensions too


def _is_numpy(value):
    return type(value).__module__ == "numpy"


def _infer_nested(value):
    """(flat list, shape, inferred dtype) of a nested list/tuple of Python scalars."""
    shape = []
    probe = value
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        if len(shape) > MAX_NESTING:   # before the recursive walk below could overflow the stack
            raise ValueError(f"Can't convert a nested sequence more than {MAX_NESTING} levels deep to a tensor "
                             f"(tensors have at most {MAX_NESTING} dimensions)")
        if not probe:
            break
        probe = probe[0]
    flat = []

    def walk(v, depth):
        if isinstance(v, (list, tuple)):
            if depth >= len(shape) or len(v) != shape[depth]:
                raise ValueError(f"Can't convert a ragged nested sequence to a tensor: expected "
                                 f"length {shape[depth] if depth < len(shape) else 'scalar'} at "
                                 f"depth {depth}, got {len(v)}")
            for item in v:
                walk(item, depth + 1)
        else:
            if depth != len(shape):
                raise ValueError("Can't convert a ragged nested sequence to a tensor: a scalar "
                                 f"at depth {depth} where a list of length {shape[depth]} was expected")
            flat.append(v)

    walk(value, 0)
    kinds = set()
    for v in flat:
        if isinstance(v, bool) or (_is_numpy(v) and type(v).__name__ == "bool_"):
            kinds.add("b")
        elif isinstance(v, int) or (_is_numpy(v) and "int" in type(v).__name__):
            kinds.add("i")
        elif isinstance(v, float) or (_is_numpy(v) and "float" in type(v).__name__):
            kinds.add("f")
        elif isinstance(v, Tensor) or hasattr(v, "read_value"):
            kinds.add("t")
        else:
            raise TypeError(f"Can't convert {type(v).__name__} value {v!r} to a tensor; "
                            "expected numbers, bools or tensors")
    if "t" in kinds:
        return flat, tuple(shape), None
    if "f" in kinds:
        dtype = dtypes.float32
    elif "i" in kinds:
        big = any(not (-(2**31) <= int(v) < 2**31) for v in flat)
        dtype = dtypes.int64 if big else dtypes.int32
    elif "b" in kinds:
        dtype = dtypes.bool_
    else:
        dtype = dtypes.float32  # empty list, like TF
    return flat, tuple(shape), dtype


def _coerce_flat(flat, dtype, original):
    kind = dtype.kind
    if kind == "f":
        return [float(v) for v in flat]
    if kind == "b":
        return [bool(v) for v in flat]
    out = []
    for v in flat:
        if isinstance(v, float) and not v.is_integer():
            raise TypeError(f"Cannot convert {original!r} to a tensor of dtype {dtype.name}: "
                            f"{v} is not an integer")
        iv = int(v)
        if not dtype.min <= iv <= dtype.max:
            raise ValueError(f"Cannot convert {iv} to {dtype.name}: out of range "
                             f"[{dtype.min}, {dtype.max}]")
        out.append(iv)
    return out


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None, backend=None):
    """A Tensor from a Tensor, Variable, NumPy array, buffer, Python scalar or nested list.

    An explicit `dtype` must match an existing tensor's (like TF); Python values are
    converted to it. `dtype_hint` is used only when the value has no dtype of its own.
    """
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype is not dtype:
            raise TypeError(f"Tensor conversion requested dtype {dtype.name} for a tensor "
                            f"with dtype {value.dtype.name}; use tf.cast")
        return value
    if hasattr(value, "read_value") and hasattr(value, "assign"):  # a Variable
        return convert_to_tensor(value.read_value(), dtype)
    be = backend or backends.default()
    if _is_numpy(value):
        import numpy as np
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"Can't convert a NumPy array of dtype {arr.dtype} to a tensor")
        if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
            arr = arr.astype(np.int64)
        own = dtypes.as_dtype(arr.dtype.name if arr.dtype.name != "float16" else "float32")
        target = dtype or own
        if target.is_integer and arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.trunc(arr)):
                raise TypeError(f"Cannot convert a float array with non-integer values to {target.name}")
        return Tensor(be.from_numpy(arr, target), be, arr.shape, target)
    if isinstance(value, (bytes, bytearray, memoryview, _array.array)):
        own = _ARRAY_TYPECODES.get(getattr(value, "typecode", "B"), None)
        target = dtype or own
        if target is None:
            raise TypeError(f"Can't convert an array of typecode {value.typecode!r} to a tensor")
        raw = value.tobytes() if isinstance(value, _array.array) else value
        n = len(memoryview(raw).cast("B")) // target.itemsize
        return Tensor(be.from_bytes(raw, (n,), target), be, (n,), target)
    if isinstance(value, (list, tuple)) or isinstance(value, (int, float, bool)):
        flat, shape, own = _infer_nested(value)
        if own is None:  # a list holding tensors: stack them
            from . import ops
            return ops.stack([convert_to_tensor(v, dtype) for v in value])
        target = dtype or own
        if dtype is None and dtype_hint is not None:
            hint = dtypes.as_dtype(dtype_hint)
            # Python literals adopt the hint when no precision is lost: bools become any
            # dtype, ints any numeric dtype, floats any floating dtype (TF's weak typing).
            if own.is_bool or (own.kind == "i" and not hint.is_bool) or (own.kind == "f" and hint.is_floating) \
                    or own is hint:
                target = hint
        flat = _coerce_flat(flat, target, value)
        return Tensor(be.from_list(flat, shape, target), be, shape, target)
    if value is None:
        raise ValueError("Can't convert None to a tensor")
    raise TypeError(f"Can't convert {type(value).__name__} to a tensor; expected a Tensor, "
                    "Variable, NumPy array, number, bool or nested list")
