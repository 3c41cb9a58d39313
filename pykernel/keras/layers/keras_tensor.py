"""KerasTensor: a symbolic value (shape and dtype, no data) flowing through the functional API.

`keras.Input(shape=...)` makes one; calling a layer on KerasTensors returns new ones and
records a Node, so `keras.Model(inputs, outputs)` can replay the graph on real tensors.
"""
from ... import nest
from ...tensor import TensorShape


class KerasTensor:
    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = TensorShape(tuple(None if d is None else int(d) for d in shape))
        self.dtype = dtype
        self.name = name
        self.node = node    # the Node whose call produced this value
        self.index = index  # position among that node's flattened outputs

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={tuple(self.shape)}, dtype={self.dtype}, name={self.name}>"

    def _unsupported(self, *args, **kwargs):
        raise TypeError(
            "A KerasTensor is a symbolic placeholder for building a functional Model; pykernel ops "
            "and operators cannot run on it. Put the computation inside a layer, e.g. "
            "keras.layers.Lambda(lambda x: ...)(tensor).")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _unsupported
    __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __pow__ = __getitem__ = _unsupported
    __bool__ = __float__ = __array__ = _unsupported


class Node:
    """One call of `layer` on symbolic arguments, producing symbolic `outputs`."""

    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs or {}
        self.outputs = outputs
        self.parents = [t for t in nest.flatten([call_args, self.call_kwargs]) if isinstance(t, KerasTensor)]

    @property
    def is_input(self):
        return not self.parents


def is_symbolic(structure):
    return any(isinstance(t, KerasTensor) for t in nest.flatten(structure))
