"""Layer: the base class of every Keras layer and model.

A layer owns weights (created in `build` from the first input's shape), computes `call`,
collects regularization losses, and tracks the layers and variables assigned to it as
attributes, so `model.trainable_weights` finds every weight of every nested layer.
"""
import functools
import inspect
import math

from ... import dtypes, nest, ops
from ...graph.trace import init_scope
from ...tensor import Tensor, TensorShape, convert_to_tensor
from ...variables import Variable
from .. import backend, initializers, regularizers
from ..naming import to_snake_case, unique_name
from .input_spec import check_input_shape
from .keras_tensor import KerasTensor, Node, is_symbolic


# ---------------------------------------------------------------- the `training` flag

class _CallContext:
    """The stack of layer calls in progress: passes `training` down to nested layers that
    were called without it (a Dropout inside a model called with training=True)."""
    stack = []


def _resolve_training(explicit, layer):
    """Keras's order: the explicit argument, else the enclosing call's, else the default of
    the layer's own `call` signature."""
    if explicit is not None:
        return explicit
    for outer in reversed(_CallContext.stack):
        if outer is not None:
            return outer
    return layer._call_training_default()


# ---------------------------------------------------------------- Layer

class Layer:
    """Base layer. Subclasses implement `call(inputs, training=None)` and, when they own
    weights, `build(input_shape)` calling `add_weight`."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:  # mark the layer built whenever any build() returns
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(self, trainable=True, name=None, dtype=None, autocast=True, activity_regularizer=None,
                 input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None, **kwargs):
        kwargs.pop("input_dtype", None)
        kwargs.pop("dynamic", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        self._tracking_ready = False
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = dtypes.as_dtype(dtype or backend.floatx()).name
        self.autocast = autocast
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_spec = None
        self.supports_masking = False
        self._own_weights = []          # this layer's variables, in creation order
        self._weight_regularizers = []  # (variable, regularizer) pairs
        self._losses = []               # added by add_loss during the last call
        self._last_output_shape = None  # for summary()
        self._build_input_shape = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None
        self._tracking_ready = True

    # ------------------------------------------------------------ attribute tracking

    def __setattr__(self, name, value):
        # Variables assigned as attributes (self.w = tf.Variable(...)) are weights of this layer.
        if getattr(self, "_tracking_ready", False) and name != "_own_weights":
            for item in _leaves(value):
                if isinstance(item, Variable) and all(item is not w for w in self._own_weights):
                    self._own_weights.append(item)
        object.__setattr__(self, name, value)

    def _sublayers(self):
        """Layers held in attributes (or in lists/tuples/dicts of them), in assignment order.

        Attributes are scanned on every call, so layers appended to a list after it was
        assigned are found too."""
        found = []
        for value in self.__dict__.values():
            for item in _leaves(value):
                if isinstance(item, Layer) and item is not self and all(item is not f for f in found):
                    found.append(item)
        return found

    def _flatten_layers(self, include_self=True):
        """This layer and all nested layers, depth first, each once."""
        seen, out = set(), []

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for sub in layer._sublayers():
                visit(sub)
        visit(self)
        return out if include_self else out[1:]

    # ------------------------------------------------------------ weights

    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, **kwargs):
        """Create a weight of this layer.

        Keras 3 takes `shape` first and tf.keras 2 took `name` first; both positional orders
        work (a leading string is the name).
        """
        order = (["name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint"]
                 if args and isinstance(args[0], str) else
                 ["shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint"])
        given = dict(zip(order, args))
        shape = given.get("shape", shape)
        initializer = given.get("initializer", initializer)
        dtype = given.get("dtype", dtype)
        trainable = given.get("trainable", trainable)
        regularizer = given.get("regularizer", regularizer)
        constraint = given.get("constraint", constraint)
        name = given.get("name", name)
        for ignored in ("autocast", "aggregation", "synchronization", "use_resource", "experimental_autocast"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"add_weight got unexpected keyword arguments: {sorted(kwargs)}")
        if constraint is not None:
            raise NotImplementedError("weight constraints are not supported yet in pykernel.keras")
        dtype = dtypes.as_dtype(dtype or self._dtype)
        shape = _weight_shape(shape, self.name, name)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        init = initializers.get(initializer)
        with init_scope():   # a layer built inside tf.function creates its weights eagerly
            value = init(shape, dtype=dtype)
            if not isinstance(value, Tensor):
                value = convert_to_tensor(value, dtype=dtype)
        variable = Variable(value, trainable=trainable, name=f"{self.name}/{name or 'variable'}")
        self._own_weights.append(variable)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._weight_regularizers.append((variable, regularizer))
        return variable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        # Like Keras, freezing a layer freezes everything inside it.
        for layer in self._flatten_layers():
            layer._trainable = bool(value)

    @property
    def weights(self):
        return _unique([w for layer in self._flatten_layers() for w in layer._own_weights])

    @property
    def trainable_weights(self):
        if not self._trainable:  # a frozen layer freezes everything inside it
            return []
        own = [w for w in self._own_weights if w.trainable]
        return _unique(own + [w for layer in self._sublayers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights' values: NumPy arrays where NumPy exists, else tensors."""
        return [backend.to_host(w) for w in self.weights]

    def set_weights(self, weights):
        """Load values (arrays, lists or tensors) into the weights, in `weights` order."""
        targets = self.weights
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(targets)} weights.")
        values = []
        for variable, value in zip(targets, weights):
            value = _from_host(value, variable.dtype)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"Layer '{self.name}' weight shape {tuple(variable.shape)} (variable "
                    f"{variable.name}) is not compatible with provided weight shape {tuple(value.shape)}.")
            values.append(value)
        for variable, value in zip(targets, values):  # validated all first: no partial update
            variable.assign(value)

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                f"You can build it manually via: `{self.name}.build(batch_input_shape)`.")
        return sum(math.prod(w.shape) for w in self.weights)

    # ------------------------------------------------------------ losses

    def add_loss(self, loss):
        """Add a loss (a scalar tensor, or a no-argument callable) to `layer.losses`."""
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call plus fresh weight-regularization penalties.

        Penalties are recomputed on every access so that, read inside a GradientTape, they
        carry gradients to the weights."""
        out = []
        trainable = {id(w) for w in self.trainable_weights}
        for layer in self._flatten_layers():
            out.extend(loss() if callable(loss) else loss for loss in layer._losses)
            out.extend(reg(v) for v, reg in layer._weight_regularizers if id(v) in trainable)
        return out

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses = []

    # ------------------------------------------------------------ dtype

    @property
    def dtype(self):
        return self._dtype

    compute_dtype = dtype
    variable_dtype = dtype

    # ------------------------------------------------------------ building

    def build(self, input_shape):
        """Create weights from the input shape; the default layer has none."""
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True
            self._build_input_shape = input_shape

    def compute_output_shape(self, input_shape):
        """Output shape from an input shape (None for unknown dims).

        The default runs the layer once on zeros (unknown dims as 1) and reads the result;
        layers override it with the exact rule."""
        shapes = input_shape
        if _is_shape_list(shapes):
            probes = [ops.zeros([1 if d is None else d for d in s]) for s in shapes]
        else:
            probes = ops.zeros([1 if d is None else d for d in shapes])
        out = self.call(probes, **self._training_kwargs(False))
        batch_unknown = (shapes[0][0] if _is_shape_list(shapes) else shapes[0]) is None
        return nest.map_structure(
            lambda t: (None,) + tuple(t.shape[1:]) if batch_unknown and t.ndim else tuple(t.shape), out)

    # ------------------------------------------------------------ calling

    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs")
            args = (kwargs.pop("inputs"),)
        inputs, rest = args[0], args[1:]
        if is_symbolic(inputs):
            return self._symbolic_call(inputs, rest, kwargs)
        inputs = self._convert_inputs(inputs)
        shapes = nest.map_structure(lambda t: TensorShape(t.shape), inputs)
        self._check_input_spec(shapes)
        if not self.built:
            self._maybe_build(shapes)
            self._check_input_spec(shapes)  # build may have fixed axes (Dense: last dim)
        training = _resolve_training(kwargs.pop("training", None), self)
        kwargs.update(self._training_kwargs(training))
        outermost = not _CallContext.stack
        if outermost:
            self._clear_losses()
        _CallContext.stack.append(training)
        try:
            outputs = self.call(inputs, *rest, **kwargs)
        finally:
            _CallContext.stack.pop()
        if self.activity_regularizer is not None:
            for output in nest.flatten(outputs):
                self.add_loss(self.activity_regularizer(output))
        first = nest.flatten(outputs)[0]
        if isinstance(first, Tensor) and first.ndim:
            self._last_output_shape = (None,) + tuple(first.shape[1:])
        return outputs

    def _convert_inputs(self, inputs):
        """Tensors from arrays/lists/Variables; numbers cast to the layer's float type (autocast)."""
        target = dtypes.as_dtype(self._dtype)

        def convert(x):
            if not isinstance(x, Tensor):
                if x is None or isinstance(x, (str, bool)):
                    return x
                x = convert_to_tensor(x)
            if self.autocast and x.dtype is not target and not x.dtype.is_bool:
                x = ops.cast(x, target)
            return x
        if isinstance(inputs, Tensor):  # the common case, without nest overhead
            return convert(inputs)
        return nest.map_structure(convert, inputs)

    def _check_input_spec(self, shapes):
        specs = self.input_spec
        if specs is None:
            return
        flat_shapes = shapes if _is_shape_list(shapes) else [shapes]
        specs = specs if isinstance(specs, (list, tuple)) else [specs]
        for index, (spec, shape) in enumerate(zip(specs, flat_shapes)):
            check_input_shape(self.name, spec, tuple(shape), index)

    @classmethod
    def _call_signature(cls):
        cache = cls.__dict__.get("_signature_cache")
        if cache is None:
            params = inspect.signature(cls.call).parameters
            has_training = "training" in params or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
            default = params["training"].default if "training" in params else None
            default = None if default is inspect.Parameter.empty else default
            cache = (has_training, default)
            cls._signature_cache = cache
        return cache

    def _call_training_default(self):
        return self._call_signature()[1]

    def _training_kwargs(self, training):
        has_training, _ = self._call_signature()
        return {"training": training} if has_training and training is not None else {}

    def _symbolic_call(self, inputs, rest, kwargs):
        """Calling on KerasTensors: build from their shapes and return symbolic outputs."""
        shapes = nest.map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t, inputs)
        self._check_input_spec(shapes)
        if not self.built:
            self._maybe_build(shapes)
            self._check_input_spec(shapes)
        out_shapes = self.compute_output_shape(shapes)
        node = Node(self, (inputs,) + tuple(rest), dict(kwargs))
        if _is_shape(out_shapes):
            outputs = KerasTensor(out_shapes, self._dtype, name=self.name, node=node, index=0)
        else:
            outputs = [KerasTensor(s, self._dtype, name=self.name, node=node, index=i)
                       for i, s in enumerate(out_shapes)]
        node.outputs = outputs
        self._last_output_shape = tuple(outputs.shape) if isinstance(outputs, KerasTensor) else \
            [tuple(o.shape) for o in outputs]
        return outputs

    # ------------------------------------------------------------ config

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# ---------------------------------------------------------------- helpers

def _marks_built(build):
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        if args and self._build_input_shape is None:
            self._build_input_shape = args[0]
        return result
    return wrapper


def _leaves(value):
    """The items of a list/tuple/dict attribute (nested), or the value itself."""
    if isinstance(value, dict):
        value = list(value.values())  # any keys, sortable or not
    return nest.flatten(value) if isinstance(value, (list, tuple)) else (value,)


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def _is_shape_list(value):
    return isinstance(value, (list, tuple)) and not _is_shape(value) and \
        all(_is_shape(tuple(s)) if isinstance(s, (list, tuple)) else False for s in value)


def _from_host(value, dtype):
    if isinstance(value, Variable):
        value = value.read_value()
    if isinstance(value, Tensor):
        return value if value.dtype is dtype else ops.cast(value, dtype)
    if type(value).__module__ == "numpy":
        import numpy as np
        return convert_to_tensor(np.asarray(value, dtype=dtype.as_numpy_dtype))
    return convert_to_tensor(value, dtype=dtype)


def _weight_shape(shape, layer_name, weight_name):
    """A weight's shape as a tuple of non-negative ints; like Keras 3's standardize_shape and
    Variable._validate_shape, None (an unknown dimension), floats, strings and negative sizes
    are a ValueError naming the weight, not a TypeError from int(None) or a silent int(2.5)."""
    if shape is None:
        return ()
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    shape = tuple(shape.as_list()) if isinstance(shape, TensorShape) else tuple(shape)
    path = f"{layer_name}/{weight_name or 'variable'}"
    if None in shape:
        raise ValueError("Shapes used to initialize variables must be fully-defined (no `None` "
                         f"dimensions). Received: shape={shape} for variable path='{path}'")
    out = []
    for d in shape:
        if isinstance(d, (str, float)):
            raise ValueError(f"Cannot convert '{shape}' to a shape for variable path='{path}'. Found "
                             f"invalid dimension {d!r} of type {type(d).__name__}: expected integers.")
        try:
            d = int(d)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Cannot convert '{shape}' to a shape for variable path='{path}'. Found "
                             f"invalid dimension {d!r} of type {type(d).__name__}.") from e
        if d < 0:
            raise ValueError(f"Cannot convert '{shape}' to a shape for variable path='{path}'. Negative "
                             "dimensions are not allowed.")
        out.append(d)
    return tuple(out)
