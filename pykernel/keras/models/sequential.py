"""Sequential: a plain stack of layers, each feeding the next."""
from .. import naming
from ..layers.input_layer import InputLayer
from ..layers.input_spec import InputSpec
from ..layers.keras_tensor import KerasTensor
from ..layers.layer import Layer
from .model import Model


class Sequential(Model):
    """`Sequential([layers])` or `.add(layer)`. The input shape comes from a leading
    `keras.Input(shape=...)`, an `input_shape=` argument on the first layer, or the first
    batch of data; once known, every layer is built and `summary()` shows the shapes."""

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name or naming.unique_name("sequential"), **kwargs)
        self._layers = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    # ------------------------------------------------------------ editing

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor) and layer.node is not None and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer  # Sequential([keras.Input(shape=...), ...])
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError(f"Sequential model '{self.name}' already has an input shape; an InputLayer can "
                                 "only be its first element.")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            if any(existing.name == layer.name for existing in self._layers):
                raise ValueError("All layers added to a Sequential model should have unique names. Name "
                                 f"'{layer.name}' is already the name of a layer in this model. Update the "
                                 "`name` argument to pass a unique name.")
            self._layers.append(layer)
        else:
            raise ValueError("Only instances of `keras.Layer` can be added to a Sequential model. "
                             f"Received: {layer!r} (of type {type(layer).__name__})")
        self.built = False
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self):
        return list(self._layers)

    # ------------------------------------------------------------ building

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._layers and self._layers[0]._batch_input_shape is not None:
            return self._layers[0]._batch_input_shape
        return None

    def _maybe_rebuild(self):
        shape = self._declared_input_shape()
        if shape is not None and self._layers:
            self.build(shape)

    def build(self, input_shape=None):
        """Build every layer for inputs of `input_shape` (batch dimension included)."""
        if input_shape is None:
            input_shape = self._declared_input_shape()
        if input_shape is None:
            raise ValueError(f"Sequential model '{self.name}' cannot be built: its input shape is unknown. Pass "
                             "`input_shape` to build(), or start the model with keras.Input(shape=...).")
        batch = self._input_layer.batch_shape[0] if self._input_layer is not None else None
        shape = (batch,) + tuple(None if d is None else int(d) for d in tuple(input_shape)[1:])
        self._symbolic_pass(shape)
        self.input_spec = InputSpec(shape=shape)
        self._build_input_shape = shape
        self._batch_input_shape = shape  # a built Sequential declares its input (e.g. nested in another)
        self.built = True

    def _symbolic_pass(self, shape):
        x = KerasTensor(shape)
        for layer in self._layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(self._symbolic_pass(tuple(input_shape)).shape)

    @property
    def input_shape(self):
        return self._build_input_shape

    @property
    def output_shape(self):
        return self._layers[-1]._last_output_shape if self._layers else None

    # ------------------------------------------------------------ calling

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers:
            x = layer(x)  # `training` reaches each layer through the call context
        return x

    def _summary_rows(self):
        return [(layer, layer._last_output_shape) for layer in self._layers]

    def get_config(self):
        layers = [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]
        if self._input_layer is not None:
            layers.insert(0, {"class_name": "InputLayer", "config": self._input_layer.get_config()})
        return {"name": self.name, "trainable": self.trainable, "layers": layers}
