"""Variable: a named, mutable holder of a tensor value (tf.Variable)."""
import itertools

from . import autodiff, dtypes
from .autodiff import is_recording, record
from .errors import InvalidArgumentError
from .module import current_name_scope
from .tensor import Tensor, TensorShape, convert_to_tensor

_names = itertools.count()


class Variable:
    """Mutable state for models: weights, optimizer slots, counters.

    Reads give an immutable Tensor snapshot; `assign*` swaps in a new value, so tensors
    read earlier (and recorded on a tape) keep the value they had.
    """

    __array_priority__ = 100

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, shape=None, **_ignored):
        from .graph.trace import current, init_scope, variable_created
        variable_created()
        tracing = current()
        if callable(initial_value):
            with init_scope():   # inside tf.function, variables are created eagerly (TF's lifting)
                initial_value = initial_value()
        value = convert_to_tensor(initial_value, dtype=dtype) if not isinstance(initial_value, Tensor) \
            else initial_value
        if dtype is not None and value.dtype is not dtypes.as_dtype(dtype):
            from .ops import cast
            value = cast(value, dtype)
        if tracing is not None and value.backend is tracing.backend:
            value = _lifted(value, tracing)
        self._value = value
        self._trainable = bool(trainable)
        scope = current_name_scope()
        self._name = scope + name if name else scope + "Variable" if scope else f"Variable_{next(_names)}"

    # -- metadata --
    @property
    def name(self):
        return self._name if self._name.endswith(":0") else self._name + ":0"

    @property
    def trainable(self):
        return self._trainable

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def shape(self):
        return self._value.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def device(self):
        return self._value.device

    @property
    def backend(self):
        return self._value.backend

    def get_shape(self):
        return self._value.shape

    # -- reading --
    def _current(self):
        """The value as a tensor, not recorded on tapes; inside tf.function a graph value."""
        tracing = _current_trace()
        if tracing is None:
            return self._value
        return Tensor(tracing.read_variable(self), tracing.backend, self._value.shape, self._value.dtype)

    def read_value(self):
        autodiff.variable_accessed(self)
        value = self._current()
        snapshot = Tensor(value._buf, value.backend, value.shape, value.dtype)
        if is_recording():
            record((self,), snapshot, lambda g: (g,))
        return snapshot

    def value(self):
        return self.read_value()

    def numpy(self):
        return self._current().numpy()

    def tolist(self):
        return self._current().tolist()

    def item(self):
        return self._current().item()

    def __array__(self, dtype=None, copy=None):
        return self._current().__array__(dtype)

    # -- writing --
    def assign(self, value, use_locking=None, name=None, read_value=True):
        new = convert_to_tensor(value, dtype=self.dtype) if not isinstance(value, Tensor) else value
        if new.dtype is not self.dtype:
            raise InvalidArgumentError(f"assign to variable {self._name!r}: dtype {new.dtype.name} does not "
                                       f"match the variable's {self.dtype.name}")
        if tuple(new.shape) != tuple(self.shape):
            raise InvalidArgumentError(f"assign to variable {self._name!r}: shape {tuple(new.shape)} does not "
                                       f"match the variable's {tuple(self.shape)}")
        tracing = _current_trace()
        if tracing is not None:   # a graph node: the variable changes when the graph runs
            tracing.assign_variable(self, new._buf)
        else:
            self._value = Tensor(new._buf, new.backend, new.shape, new.dtype)  # detached from any tape
        return self if read_value else None

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        from .ops import add
        return self.assign(add(self._current(), delta), read_value=read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        from .ops import subtract
        return self.assign(subtract(self._current(), delta), read_value=read_value)

    def __repr__(self):
        return (f"<tf.Variable '{self.name}' shape={tuple(self.shape)} dtype={self.dtype.name}, "
                f"numpy={self._value._format()}>")

    def ref(self):
        return self

    def deref(self):
        return self

    __hash__ = object.__hash__

    def __len__(self):
        return len(self._value)

    def __bool__(self):
        return bool(self._current())

    def __float__(self):
        return float(self._current())

    def __int__(self):
        return int(self._current())

    def __index__(self):
        return self._current().__index__()

    def __iter__(self):
        return iter(self.read_value())

    def __format__(self, spec):
        return format(self._current(), spec)


_trace_current = None


def _current_trace():
    global _trace_current
    if _trace_current is None:   # imported on first use: pykernel.graph imports this module
        from .graph.trace import current
        _trace_current = current
    return _trace_current()


def _lifted(value, tracing):
    """A variable's initial value computed inside a trace, as an eager tensor: a constant is
    one already; a value that depends on the function's inputs or on random draws is not."""
    from .graph.ir import Value
    if isinstance(value._buf, Value):
        raise ValueError(
            "tf.function-decorated function tried to create a variable from a value computed inside the "
            f"function (op {value._buf.node.name!r}). Create variables outside the function, on its first "
            "call from a callable initial value, or under tf.init_scope().")
    return Tensor(value._buf, tracing.backend.inner, value.shape, value.dtype)


def _delegate(method):
    def forward(self, *args):
        return getattr(self.read_value(), method)(*args)
    forward.__name__ = method
    return forward


for _method in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
                "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__", "__invert__",
                "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__lt__", "__le__", "__gt__",
                "__ge__", "__eq__", "__ne__", "__getitem__"):
    setattr(Variable, _method, _delegate(_method))

Variable.__hash__ = object.__hash__
__all__ = ["Variable", "TensorShape"]
