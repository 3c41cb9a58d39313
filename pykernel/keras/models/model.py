"""Model: a Layer that can be trained (compile/fit/evaluate/predict) and summarized.

`Model(inputs, outputs)` builds a functional model (see functional.py); subclassing Model
and implementing `call()` builds a custom one; Sequential is a Model over a list of layers.
"""
from ... import ops
from ..layers.layer import Layer, _CallContext
from . import summary as summary_module
from .trainer import Trainer


def _is_functional_call(args, kwargs):
    return ("inputs" in kwargs and "outputs" in kwargs) or len(args) == 2 or \
        (len(args) == 1 and "outputs" in kwargs)


class Model(Trainer, Layer):
    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from .functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if "inputs" in kwargs and "outputs" in kwargs:
            raise NotImplementedError(
                f"{type(self).__name__}: subclassing keras.Model with functional `inputs`/`outputs` is not "
                "supported yet; use keras.Model(inputs, outputs) directly, or implement call()")
        if args:
            raise TypeError(f"{type(self).__name__}.__init__ takes only keyword arguments (name, trainable, "
                            f"dtype); got positional arguments {args}")
        Layer.__init__(self, **kwargs)
        self._init_trainer()

    # ------------------------------------------------------------ building

    def _maybe_build(self, input_shape):
        if type(self).build is Model.build:
            # a subclassed model without its own build(): its layers build during the call itself
            self.built = True
            self._build_input_shape = input_shape
            return
        super()._maybe_build(input_shape)

    def build(self, input_shape):
        """Build a subclassed model by running it once on zeros of `input_shape` (None -> 1)."""
        if self.built:
            return
        shapes = [input_shape] if not isinstance(input_shape[0], (list, tuple)) else list(input_shape)
        probes = [ops.zeros([1 if d is None else int(d) for d in s]) for s in shapes]
        _CallContext.stack.append(False)
        try:
            self.call(probes[0] if len(probes) == 1 else probes, **self._training_kwargs(False))
        finally:
            _CallContext.stack.pop()
        self._build_input_shape = input_shape

    # ------------------------------------------------------------ introspection

    @property
    def layers(self):
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        summary_module.print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def _summary_rows(self):
        """(layer, shown output shape) pairs for summary(); functional/Sequential refine this."""
        return [(layer, layer._last_output_shape) for layer in self.layers]
