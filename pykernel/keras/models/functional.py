"""Functional models: `Model(inputs, outputs)` replays the graph of layer calls recorded on
KerasTensors from `keras.Input` to `outputs`."""
from ... import nest
from .. import naming
from ..layers.input_layer import InputLayer
from ..layers.input_spec import InputSpec
from ..layers.keras_tensor import KerasTensor
from .model import Model


class Functional(Model):
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name or naming.unique_name("functional"), trainable=trainable, **kwargs)
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for t in nest.flatten(structure):
                if not isinstance(t, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors (from keras.Input and layer "
                                     f"calls). Received: {what}={structure!r} including type {type(t).__name__}")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = nest.flatten(inputs)
        self.outputs = nest.flatten(outputs)
        self._nodes = self._ordered_nodes()
        input_layers = [t.node.layer for t in self.inputs if t.node is not None]
        self._layers = _unique(input_layers + [node.layer for node in self._nodes])
        _check_unique_names(self._layers)
        specs = [InputSpec(shape=tuple(t.shape)) for t in self.inputs]
        self.input_spec = specs[0] if len(specs) == 1 else specs
        if len(self.inputs) == 1:  # lets a functional model start a Sequential
            self._batch_input_shape = tuple(self.inputs[0].shape)
        self.built = True

    def _ordered_nodes(self):
        """The layer calls between inputs and outputs, each after the calls it depends on."""
        input_ids = {id(t) for t in self.inputs}
        ordered, done = [], set()

        def visit(tensor):
            if id(tensor) in input_ids:
                return
            node = tensor.node
            if node is None or node.is_input:
                raise ValueError(
                    f"Graph disconnected: cannot find the value of {tensor!r}"
                    f"{'' if node is None else ' from layer ' + repr(node.layer.name)}: it does not depend "
                    f"on the model's inputs {[t.name for t in self.inputs]}")
            if id(node) in done:
                return
            for parent in node.parents:
                visit(parent)
            done.add(id(node))
            ordered.append(node)

        for output in self.outputs:
            visit(output)
        return ordered

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def call(self, inputs, training=None, mask=None):
        flat = nest.flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), but it received "
                             f"{len(flat)} input tensors.")
        values = {id(symbol): value for symbol, value in zip(self.inputs, flat)}

        def lookup(item):
            return values[id(item)] if isinstance(item, KerasTensor) else item
        for node in self._nodes:
            args = nest.map_structure(lookup, node.call_args)
            kwargs = nest.map_structure(lookup, node.call_kwargs)
            result = node.layer(*args, **kwargs)
            symbols = [node.outputs] if isinstance(node.outputs, KerasTensor) else node.outputs
            for symbol, value in zip(symbols, nest.flatten(result)):
                values[id(symbol)] = value
        return nest.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self.outputs])

    def _summary_rows(self):
        rows = []
        for layer in self._layers:
            if isinstance(layer, InputLayer):
                rows.append((layer, tuple(layer.batch_shape)))
            else:
                rows.append((layer, layer._last_output_shape))
        return rows

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]}


def _unique(layers):
    seen, out = set(), []
    for layer in layers:
        if id(layer) not in seen:
            seen.add(id(layer))
            out.append(layer)
    return out


def _check_unique_names(layers):
    """Keras (ops/function.py) refuses two different layers of one model with the same name:
    serialization and get_layer(name) refer to layers by name. One layer called twice (a
    shared layer) is a single layer and fine."""
    names = [layer.name for layer in layers]
    for name in names:
        count = names.count(name)
        if count != 1:
            kinds = ", ".join(type(layer).__name__ for layer in layers if layer.name == name)
            raise ValueError(f'The name "{name}" is used {count} times in the model ({kinds}). All layer '
                             "names should be unique: pass a different `name=` to one of them.")
