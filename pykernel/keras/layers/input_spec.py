"""InputSpec: the rank/axis constraints a layer puts on its input, checked with Keras's messages."""


class InputSpec:
    """Constraints on one input: exact `ndim`, `min_ndim`/`max_ndim`, and fixed `axes` sizes."""

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None, shape=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype
        self.shape = shape

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("ndim", self.ndim), ("min_ndim", self.min_ndim),
                                         ("max_ndim", self.max_ndim), ("axes", self.axes)) if v]
        return f"InputSpec({', '.join(parts)})"


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_input_shape(layer_name, spec, shape, index=0):
    """Raise ValueError when `shape` (a tuple, None for unknown dims) breaks `spec`."""
    if spec is None:
        return
    prefix = f'Input {index} of layer "{layer_name}" is incompatible with the layer: '
    rank = len(shape)
    if spec.ndim is not None and rank != spec.ndim:
        raise ValueError(f"{prefix}expected ndim={spec.ndim}, found ndim={rank}. "
                         f"Full shape received: {_shape_text(shape)}")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(f"{prefix}expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                         f"Full shape received: {_shape_text(shape)}")
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(f"{prefix}expected max_ndim={spec.max_ndim}, found ndim={rank}. "
                         f"Full shape received: {_shape_text(shape)}")
    if spec.shape is not None:
        expected = tuple(spec.shape)
        if len(expected) != rank or any(e is not None and d is not None and e != d
                                        for e, d in zip(expected, shape)):
            raise ValueError(f"{prefix}expected shape={_shape_text(expected)}, found shape={_shape_text(shape)}")
    for axis, value in spec.axes.items():
        if value is None or not -rank <= axis < rank:
            continue
        if shape[axis] is not None and shape[axis] != value:
            raise ValueError(f"{prefix}expected axis {axis} of input shape to have value {value}, "
                             f"but received input with shape {_shape_text(shape)}")
