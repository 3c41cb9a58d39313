"""Exceptions named like tf.errors; each also subclasses the Python error a user would catch."""


class OpError(Exception):
    pass


class InvalidArgumentError(OpError, ValueError, TypeError):
    """An op got arguments it cannot work with (incompatible shapes or dtypes, bad values).

    It is also a ValueError and a TypeError, so plain Python handlers catch it."""


class ResourceExhaustedError(OpError, MemoryError):
    """The device ran out of memory."""


class UnavailableError(OpError, RuntimeError):
    """The device is lost or unavailable."""


class FailedPreconditionError(OpError, RuntimeError):
    """A variable was read before it was initialized (TF 1 graph mode's Session)."""


class UnimplementedError(OpError, NotImplementedError):
    pass


class OperatorNotAllowedInGraphError(TypeError):
    """A Python operation on a symbolic tensor inside tf.function (`if t:`, `float(t)`,
    `t.numpy()`): the tensor has no value while the function is traced."""
