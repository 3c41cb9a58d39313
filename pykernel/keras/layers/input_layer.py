"""InputLayer and `keras.Input`: where a functional or Sequential model's data enters."""
from ... import dtypes
from .. import naming
from .keras_tensor import KerasTensor, Node
from .layer import Layer


class InputLayer(Layer):
    """Holds the model input's shape; calling it is the identity."""

    def __init__(self, shape=None, batch_size=None, dtype=None, input_tensor=None, name=None,
                 input_shape=None, batch_shape=None, batch_input_shape=None, **kwargs):
        kwargs.pop("sparse", None)
        kwargs.pop("ragged", None)
        super().__init__(name=name or naming.unique_name("input_layer"), dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs a `shape` (without the batch dimension) or a `batch_shape`")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self._batch_input_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        self.output = KerasTensor(self._batch_input_shape, dtypes.as_dtype(self._dtype).name,
                                  name=self.name, node=None, index=0)
        self.output.node = Node(self, (), {}, self.output)

    @property
    def batch_shape(self):
        return self._batch_input_shape

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"batch_shape": self._batch_input_shape, "dtype": self._dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, tensor=None, **kwargs):  # noqa: N802
    """A symbolic model input: `keras.Input(shape=(28, 28))` has shape (None, 28, 28)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, **kwargs)
    return layer.output
