"""Data types, named and behaving as TensorFlow's (`tf.float32`, `tf.int32`, ...)."""


class DType:
    __slots__ = ("name", "itemsize", "kind", "min", "max")

    def __init__(self, name, itemsize, kind, min_value, max_value):
        self.name = name
        self.itemsize = itemsize
        self.kind = kind  # "f" floating, "i" signed int, "u" unsigned int, "b" bool
        self.min = min_value
        self.max = max_value

    @property
    def is_floating(self):
        return self.kind == "f"

    @property
    def is_integer(self):
        return self.kind in ("i", "u")

    @property
    def is_bool(self):
        return self.kind == "b"

    @property
    def as_numpy_dtype(self):
        import numpy as np
        return np.dtype(self.name)

    @property
    def base_dtype(self):
        return self

    def python_type(self):
        return {"f": float, "i": int, "u": int, "b": bool}[self.kind]

    def __repr__(self):
        return f"tf.{self.name}"

    def __reduce__(self):
        return (as_dtype, (self.name,))


float32 = DType("float32", 4, "f", -3.4028234663852886e38, 3.4028234663852886e38)
float64 = DType("float64", 8, "f", -1.7976931348623157e308, 1.7976931348623157e308)
int32 = DType("int32", 4, "i", -(2**31), 2**31 - 1)
int64 = DType("int64", 8, "i", -(2**63), 2**63 - 1)
uint8 = DType("uint8", 1, "u", 0, 255)
bool_ = DType("bool", 1, "b", False, True)

ALL = (float32, float64, int32, int64, uint8, bool_)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "int": int32, "bool_": bool_})


def as_dtype(value):
    """DType from a DType, a name ('float32'), a Python type or a NumPy dtype."""
    if isinstance(value, DType):
        return value
    if value is float:
        return float32
    if value is int:
        return int32
    if value is bool:
        return bool_
    name = value if isinstance(value, str) else getattr(value, "name", None)
    if name is None and hasattr(value, "__name__"):  # numpy scalar types like np.float32
        name = value.__name__
    dtype = _BY_NAME.get(str(name))
    if dtype is None:
        supported = ", ".join(d.name for d in ALL)
        raise TypeError(f"Unsupported dtype {value!r}; expected one of: {supported}")
    return dtype


def result_float_dtype(dtype):
    """The floating dtype that true division / float math on `dtype` produces."""
    if dtype.is_floating:
        return dtype
    return float64 if dtype in (int64,) else float32
