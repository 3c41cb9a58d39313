"""GradientTape: records ops on watched values while active; `gradient` walks them back.

Every op calls `record(inputs, output, backward)` after computing its forward value.
`backward(grad_of_output)` returns one gradient (or None) per input and is written with
ordinary pykernel ops, so an outer tape records it and higher-order gradients work.
"""
from . import nest

_active_tapes = []


class _Node:
    __slots__ = ("inputs", "output", "backward")

    def __init__(self, inputs, output, backward):
        self.inputs = inputs
        self.output = output
        self.backward = backward


class paused:
    """`with paused():` no tape records inside (tracing a control-flow sub-graph)."""

    def __enter__(self):
        global _active_tapes
        self._saved, _active_tapes = _active_tapes, []

    def __exit__(self, *exc):
        global _active_tapes
        _active_tapes = self._saved
        return False


def is_recording():
    return bool(_active_tapes)


def record(inputs, output, backward):
    """Add an op to every active tape that watches one of its inputs."""
    for tape in _active_tapes:
        tracked = tape._tracked
        if any(id(x) in tracked for x in inputs):
            tape._nodes.append(_Node(tuple(inputs), output, backward))
            tracked[id(output)] = output


def variable_accessed(variable):
    """Called when a Variable is read: auto-watch it on tapes that watch accessed variables."""
    for tape in _active_tapes:
        if tape._watch_accessed_variables and variable.trainable:
            tape._watch_one(variable)


class GradientTape:
    """Records operations for automatic differentiation (tf.GradientTape)."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._tracked = {}   # id -> object: everything that depends on a watched value
        self._watched = []   # in watch order, for watched_variables()
        self._nodes = []
        self._used = False
        self._recording = False

    def __enter__(self):
        self._push()
        return self

    def __exit__(self, *exc):
        self._pop()
        return False

    def _push(self):
        if self._recording:
            raise ValueError("GradientTape is already recording")
        _active_tapes.append(self)
        self._recording = True

    def _pop(self):
        if self._recording:
            _active_tapes.remove(self)
            self._recording = False

    def _watch_one(self, x):
        if id(x) not in self._tracked:
            self._tracked[id(x)] = x
            self._watched.append(x)

    def watch(self, tensor):
        """Make `tensor` (or a nest of tensors/variables) a source the tape tracks."""
        from .tensor import Tensor
        from .variables import Variable
        for x in nest.flatten(tensor):
            if not isinstance(x, (Tensor, Variable)):
                raise ValueError(f"GradientTape.watch expects tensors or variables, got {type(x).__name__}")
            if not x.dtype.is_floating:
                continue  # TF ignores non-float sources: they have no gradient
            self._watch_one(x)

    def watched_variables(self):
        from .variables import Variable
        return tuple(x for x in self._watched if isinstance(x, Variable))

    def reset(self):
        self._tracked.clear()
        self._watched.clear()
        self._nodes.clear()

    def stop_recording(self):
        tape = self

        class _Paused:
            def __enter__(self):
                tape._pop()

            def __exit__(self, *exc):
                tape._push()
                return False
        return _Paused()

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(sum of targets)/d(source) for each source in the nest `sources`."""
        from . import ops
        from .tensor import Tensor, convert_to_tensor
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients (or jacobians); use GradientTape(persistent=True) for more")
        # Checked before the tape counts as used, so a corrected call can still succeed.
        if target is None:
            raise TypeError("Argument `target` should be a list or nested structure of Tensors or "
                            "Variables to be differentiated, but received None.")
        _check_differentiable(target, "target")
        _check_differentiable(sources, "sources")
        targets, flat_sources = nest.flatten(target), nest.flatten(sources)
        self._used = True
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("unconnected_gradients must be 'none' or 'zero', "
                             f"got {unconnected_gradients!r}")

        seeds = nest.flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        if len(seeds) != len(targets):
            raise ValueError(f"output_gradients has {len(seeds)} entries but there are "
                             f"{len(targets)} targets")
        was_recording = self._recording
        self._pop()  # the backward pass is not recorded on this tape (outer tapes do record it)
        try:
            grads = {}
            for t, seed in zip(targets, seeds):
                t = t.read_value() if not isinstance(t, Tensor) and hasattr(t, "read_value") else t
                if id(t) not in self._tracked:
                    continue
                g = ops.ones_like(t) if seed is None else convert_to_tensor(seed, dtype=t.dtype)
                _accumulate(grads, t, g)
            for node in reversed(self._nodes):
                g = grads.get(id(node.output))
                if g is None:
                    continue
                input_grads = node.backward(g)
                for x, gx in zip(node.inputs, input_grads):
                    if gx is not None and id(x) in self._tracked:
                        _accumulate(grads, x, gx)
                if not self._persistent:
                    node.backward = None
            results = []
            for s in flat_sources:
                g = grads.get(id(s))
                if g is None and unconnected_gradients == "zero":
                    g = ops.zeros(s.shape, dtype=s.dtype)
                results.append(g)
        finally:
            if was_recording:
                self._push()
        if not self._persistent:  # free the recorded graph; watched_variables() stays valid
            self._nodes.clear()
            self._tracked.clear()
        return nest.pack_sequence_as(sources, results)

    def jacobian(self, target, sources):
        """Full Jacobian by one backward pass per target element (small targets only)."""
        from . import ops
        if not self._persistent:
            raise RuntimeError("jacobian needs GradientTape(persistent=True) in pykernel")
        _check_differentiable(target, "target")
        _check_differentiable(sources, "sources")
        target = target.read_value() if hasattr(target, "read_value") else target
        size = target.shape.num_elements()
        flat_sources = nest.flatten(sources)
        rows = [[] for _ in flat_sources]
        for i in range(size):
            seed = ops.reshape(ops.one_hot(i, size, dtype=target.dtype), target.shape)
            self._used = False
            gs = nest.flatten(self.gradient(target, flat_sources, output_gradients=seed,
                                            unconnected_gradients="zero"))
            for r, g in zip(rows, gs):
                r.append(g)
        out = [ops.reshape(ops.stack(r), tuple(target.shape) + tuple(s.shape))
               for r, s in zip(rows, flat_sources)]
        return nest.pack_sequence_as(sources, out)


def _check_differentiable(structure, what):
    """TF raises TypeError when a target or source is not a Tensor/Variable (None, a Python
    number, a NumPy value): such a value can never be on the tape, so its gradient would be
    a silent None."""
    from .tensor import Tensor
    from .variables import Variable
    flat = nest.flatten(structure)
    for i, x in enumerate(flat):
        if isinstance(x, (Tensor, Variable)):
            continue
        whole = len(flat) == 1 and flat[0] is structure
        where = f"`{what}`" if whole else f"element {i} of `{what}` (flattened)"
        shown = repr(x)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        hint = ("" if x is None else " A Python or NumPy value is not on the tape: make it a tensor "
                "(tf.constant) and tape.watch(...) it before the computation, or use a tf.Variable.")
        raise TypeError(f"GradientTape.gradient expects `{what}` to be Tensors or Variables (or a nested "
                        f"structure of them), but {where} is {shown} of type {type(x).__name__}.{hint}")


def _accumulate(grads, x, g):
    from . import ops
    if tuple(g.shape) != tuple(x.shape):
        raise RuntimeError(f"internal error: gradient of shape {tuple(g.shape)} for a value of "
                           f"shape {tuple(x.shape)}")
    prev = grads.get(id(x))
    grads[id(x)] = g if prev is None else ops.add(prev, g)
