"""`tf.function`: trace a Python function once per input signature, then replay the graph.

TF's semantics: a call whose arguments match an earlier trace (tensors by shape and dtype,
Python values by value, variables by identity) replays that trace's graph; a new signature
traces again. Python side effects (print, appending to a list) happen while tracing only;
`tf.print` and variable updates happen at every call. An instance method keeps one trace
cache per instance.

pykernel graphs have static shapes: a signature with None dimensions (an `input_signature`,
`reduce_retracing`) accepts any size, but each new size is traced (the Python function runs
again) into a graph of its own. Calls inside an active GradientTape run eagerly, so that
the tape records them (a traced function's gradient is not yet a graph of its own).
"""
import functools
import inspect
import weakref

from .. import autodiff, backends, nest
from ..errors import InvalidArgumentError
from ..tensor import Tensor, convert_to_tensor
from ..variables import Variable
from . import autograph, ir, trace
from .replay import Program, inline
from .signature import (TensorSpec, apply_input_signature, cache_key, canonical_leaves, flatten_up_to,
                        leaf_key, tensor_for)

_run_eagerly = False


def run_functions_eagerly(run_eagerly):
    """tf.config.run_functions_eagerly: call the Python function itself (for debugging)."""
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly():
    return _run_eagerly


class Function:
    """A Python function made a graph function (what `@tf.function` returns)."""

    def __init__(self, python_function, input_signature=None, jit_compile=None, reduce_retracing=False,
                 autograph=True, name=None):
        self.python_function = python_function
        self._input_signature = None if input_signature is None else tuple(input_signature)
        self._reduce_retracing = bool(reduce_retracing)
        self._autograph = bool(autograph)
        self._converted = None   # python_function rewritten by autograph, made at the first trace
        self._name = name or getattr(python_function, "__name__", "function")
        self._instance = None
        self._concrete = {}      # cache key -> ConcreteFunction
        self._tracing_count = 0
        self._traced_before = False   # variables may be created on the first trace only
        self._bound = weakref.WeakKeyDictionary()
        try:
            self._signature = inspect.signature(python_function)
        except (TypeError, ValueError):
            self._signature = None
        functools.update_wrapper(self, python_function)

    @property
    def input_signature(self):
        return self._input_signature

    def __get__(self, instance, owner=None):
        """`self.method` of a decorated method: one Function (one trace cache) per instance."""
        if instance is None:
            return self
        try:
            bound = self._bound.get(instance)
        except TypeError:   # unhashable instance: keep the cache on the instance itself
            cache = instance.__dict__.setdefault("_pykernel_functions", {})
            bound = cache.get(id(self))
            if bound is None:
                bound = cache[id(self)] = self._bind_to(instance)
            return bound
        if bound is None:
            bound = self._bound[instance] = self._bind_to(instance)
        return bound

    def _bind_to(self, instance):
        bound = Function(self.python_function, self._input_signature, reduce_retracing=self._reduce_retracing,
                         autograph=self._autograph, name=self._name)
        bound._converted = self._converted
        bound._instance = weakref.proxy(instance) if _weakrefable(instance) else instance
        return bound

    def _call_python(self, args, kwargs, converted=False):
        fn = self.python_function
        if converted and self._autograph:
            if self._converted is None:
                self._converted = autograph.convert(fn)
            fn = self._converted
        if self._instance is not None:
            return fn(self._instance, *args, **kwargs)
        return fn(*args, **kwargs)

    # ------------------------------------------------------------ calling

    def __call__(self, *args, **kwargs):
        if _run_eagerly or autodiff.is_recording():
            # eager debugging; a tape must see every op to differentiate through the call
            return self._call_python(args, kwargs)
        concrete, flat = self._concrete_for(args, kwargs)
        caller = trace.current()
        if caller is not None:   # called while another function traces: inlined into its graph
            return concrete._inline(caller, flat)
        return concrete._call_flat(flat)

    def _canonical(self, args, kwargs):
        """(positional args, keyword args) with defaults applied and, under an input_signature,
        converted to tensors of its dtypes; then NumPy arrays made tensors."""
        if self._input_signature is not None:
            if kwargs:
                args = self._bound_arguments(args, kwargs)[0]
                kwargs = {}
            args = apply_input_signature(self._name, self._input_signature, args)
        elif self._signature is not None:
            args, kwargs = self._bound_arguments(args, kwargs)
        (args, kwargs), flat = canonical_leaves((tuple(args), dict(kwargs)))
        return args, kwargs, flat

    def _bound_arguments(self, args, kwargs):
        signature = self._signature
        if self._instance is not None:
            parameters = list(signature.parameters.values())[1:]
            signature = signature.replace(parameters=parameters)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self._name}(): {error}") from None
        bound.apply_defaults()
        return bound.args, bound.kwargs

    def _concrete_for(self, args, kwargs):
        args, kwargs, flat = self._canonical(args, kwargs)
        key = cache_key((args, kwargs), flat)
        concrete = self._concrete.get(key)
        if concrete is None:
            concrete = self._concrete[key] = self._trace(args, kwargs, flat)
        return concrete, [leaf for leaf in flat if isinstance(leaf, Tensor)]

    def _trace(self, args, kwargs, flat):
        """A new ConcreteFunction. As in TF, only the first trace may create variables; if it
        does, the function is traced again (without creating them) and that trace is kept."""
        first = not self._traced_before
        concrete, created_variables = self._trace_graph(args, kwargs, flat, may_create_variables=first)
        self._traced_before = True
        if created_variables:
            concrete, _ = self._trace_graph(args, kwargs, flat, may_create_variables=False)
        return concrete

    def _trace_graph(self, args, kwargs, flat, may_create_variables):
        backend = _device_of(self._name, flat)
        graph = ir.Graph(self._name)
        names = _argument_names(self._signature, self._instance is not None, args, kwargs)
        with trace.tracing(backend, graph, may_create_variables) as tracing:
            symbolic = []
            for leaf, name in zip(flat, names):
                if isinstance(leaf, (Tensor, TensorSpec)):
                    if None in tuple(leaf.shape):
                        raise ValueError(f"{self._name}: tracing needs static shapes; {leaf!r} has a None "
                                         "dimension (call the function with tensors to trace it per size)")
                    value = graph.placeholder(leaf.shape, leaf.dtype, name=name)
                    symbolic.append(Tensor(value, tracing.backend, leaf.shape, leaf.dtype))
                else:
                    symbolic.append(leaf)
            call_args, call_kwargs = nest.pack_sequence_as((args, kwargs), symbolic)
            result = self._call_python(call_args, call_kwargs, converted=True)
            outputs, layout = _graph_outputs(tracing, result)
        graph.outputs = [v for v in outputs if v is not None]
        self._tracing_count += 1
        structured_inputs = nest.pack_sequence_as((args, kwargs), [
            TensorSpec(leaf.shape, leaf.dtype) if isinstance(leaf, (Tensor, TensorSpec)) else leaf for leaf in flat])
        concrete = ConcreteFunction(self, graph, Program(graph, backend, outputs), backend, result, outputs, layout,
                                    structured_inputs)
        return concrete, tracing.created_variables

    # ------------------------------------------------------------ introspection

    def get_concrete_function(self, *args, **kwargs):
        """The traced graph for these arguments (tensors, TensorSpecs or Python values);
        traced now if it was not, without running it."""
        if not args and not kwargs and self._input_signature is not None:
            args = self._input_signature
        flat_specs = nest.flatten((args, kwargs))
        if any(isinstance(x, TensorSpec) and not x.is_fully_defined() for x in flat_specs):
            return ShapePolymorphicFunction(self, args, kwargs)
        if self._input_signature is not None and all(isinstance(x, TensorSpec) for x in nest.flatten(args)):
            (args, kwargs), flat = canonical_leaves((tuple(args), dict(kwargs)))
        else:
            args, kwargs, flat = self._canonical(args, kwargs)
        key = cache_key((args, kwargs), flat)
        concrete = self._concrete.get(key)
        if concrete is None:
            concrete = self._concrete[key] = self._trace(args, kwargs, flat)
        return concrete

    def experimental_get_tracing_count(self):
        """How many times the Python function was traced."""
        return self._tracing_count

    def __repr__(self):
        return f"<pykernel.function {self._name}: {self._tracing_count} trace(s)>"


def _weakrefable(obj):
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _device_of(name, flat):
    devices = {_real(leaf.backend) for leaf in flat if isinstance(leaf, Tensor)}
    if len(devices) > 1:
        raise ValueError(f"{name}: tensor arguments live on different devices "
                         f"({', '.join(sorted(b.device_name for b in devices))}); move them to one")
    return devices.pop() if devices else _real(backends.default())


def _real(backend):
    """The device a tracer (of an enclosing trace) records for."""
    return backend.inner if isinstance(backend, trace.TracingBackend) else backend


def _argument_names(signature, skip_first, args, kwargs):
    """A placeholder name per flat leaf: the parameter's name, then name_1, name_2, ..."""
    if signature is None:
        params = [f"args_{i}" for i in range(len(args))]
    else:
        params = [p.name for p in list(signature.parameters.values())[1 if skip_first else 0:]]
    names = []
    for index, arg in enumerate(args):
        base = params[index] if index < len(params) and not _is_var_positional(signature, index, skip_first) \
            else f"args_{index}"
        names.extend(base if i == 0 else f"{base}_{i}" for i in range(len(nest.flatten(arg))))
    for key in sorted(kwargs):
        names.extend(key if i == 0 else f"{key}_{i}" for i in range(len(nest.flatten(kwargs[key]))))
    return names


def _is_var_positional(signature, index, skip_first):
    if signature is None:
        return True
    params = list(signature.parameters.values())[1 if skip_first else 0:]
    return index >= len(params) or params[index].kind is inspect.Parameter.VAR_POSITIONAL


def _graph_outputs(tracing, result):
    """The graph Values of the returned nest (None where a leaf is a Python object), and a
    layout to rebuild it: tensors, variables and numbers are outputs; None and other
    Python objects are returned as they are."""
    outputs, layout = [], []
    for leaf in nest.flatten(result):
        autograph.check_defined(leaf)
        if isinstance(leaf, Variable):
            leaf = leaf.read_value()
        elif isinstance(leaf, (bool, int, float)):
            leaf = convert_to_tensor(leaf)
        if isinstance(leaf, Tensor) and leaf.backend in (tracing.backend, tracing.backend.inner):
            outputs.append(tracing.value_of(leaf._buf))
            layout.append(None)
        else:
            outputs.append(None)
            layout.append(leaf)
    return outputs, layout


class ConcreteFunction:
    """One trace: its graph and the program that replays it (`f.get_concrete_function(...)`)."""

    def __init__(self, function, graph, program, backend, structured_outputs, outputs, layout, structured_inputs):
        self._function = function
        self._structured_inputs = structured_inputs   # (args, kwargs), TensorSpecs where tensors were
        self._output_values = outputs   # per output leaf: its graph Value, or None for a Python leaf
        self.graph = graph
        self._program = program
        self._backend = backend
        self.structured_outputs = structured_outputs
        self._layout = layout

    @property
    def inputs(self):
        return list(self.graph.inputs)

    @property
    def outputs(self):
        return list(self.graph.outputs)

    @property
    def name(self):
        return self.graph.name

    @property
    def dispatch_count(self):
        """Backend calls one replay makes."""
        return self._program.dispatch_count

    def __call__(self, *args, **kwargs):
        """Run on arguments matching the trace: tensors (or values convertible to them) of its
        shapes and dtypes, the same Python values."""
        function = self._function
        if function._signature is not None:
            args, kwargs = function._bound_arguments(args, kwargs)
        flat = flatten_up_to(self._structured_inputs, (tuple(args), dict(kwargs)))
        if flat is None:
            raise TypeError(f"{self.name}: this concrete function was traced for arguments "
                            f"{self._structured_inputs!r}, got a different structure: {(args, kwargs)!r}")
        traced = nest.flatten(self._structured_inputs)
        tensors = []
        for leaf, spec in zip(flat, traced):
            if isinstance(spec, TensorSpec):
                tensor = tensor_for(spec, leaf)
                if tensor.dtype is not spec.dtype or tuple(tensor.shape) != tuple(spec.shape):
                    raise InvalidArgumentError(
                        f"{self.name}: this concrete function was traced for inputs {_describe(traced)}; "
                        f"argument {len(tensors)} is a {tensor.dtype.name} tensor of shape {list(tensor.shape)}, "
                        f"expected {spec.dtype.name}{list(spec.shape)}")
                tensors.append(tensor)
            elif leaf is not spec and leaf_key(leaf) != leaf_key(spec):
                raise TypeError(f"{self.name}: this concrete function was traced with the Python value "
                                f"{spec!r}, got {leaf!r}; call the tf.function itself to trace for a new value")
        return self._call_flat(tensors)

    def _call_flat(self, tensors):
        backend = self._backend
        buffers = self._program.run([t._buf for t in tensors])
        flat = [leaf if value is None else Tensor(buf, backend, value.shape, value.dtype)
                for leaf, value, buf in zip(self._layout, self._output_values, buffers)]
        return nest.pack_sequence_as(self.structured_outputs, flat)

    def _inline(self, caller, tensors):
        """This graph recorded into the trace `caller` (a call from another traced function)."""
        backend = caller.backend
        buffers = inline(self.graph, self._output_values, caller, [t._buf for t in tensors])
        flat = [leaf if value is None else Tensor(buf, backend, value.shape, value.dtype)
                for leaf, value, buf in zip(self._layout, self._output_values, buffers)]
        return nest.pack_sequence_as(self.structured_outputs, flat)

    def pretty_printed_signature(self):
        inputs = ", ".join(f"{v.node.name}: {v.dtype.name}{list(v.shape)}" for v in self.graph.inputs)
        outputs = ", ".join(f"{v.dtype.name}{list(v.shape)}" for v in self.graph.outputs)
        return f"{self.name}({inputs}) -> ({outputs})"

    def __repr__(self):
        return f"<ConcreteFunction {self.pretty_printed_signature()}>"


class ShapePolymorphicFunction:
    """`get_concrete_function` with None dimensions: callable at any size matching the specs
    (each new size is traced into its own graph); `.graph` is the graph of the latest call."""

    def __init__(self, function, args, kwargs):
        self._function = function
        self._specs = (args, kwargs)
        self._latest = None

    def __call__(self, *args, **kwargs):
        for leaf, spec in zip(nest.flatten((args, kwargs)), nest.flatten(self._specs)):
            if isinstance(spec, TensorSpec):
                tensor = tensor_for(spec, leaf)
                if not spec.is_compatible_with(tensor):
                    raise TypeError(f"{self._function._name}: argument of shape {tuple(tensor.shape)} and "
                                    f"dtype {tensor.dtype.name} does not match {spec!r}")
        concrete, flat = self._function._concrete_for(args, kwargs)
        self._latest = concrete
        return concrete._call_flat(flat)

    @property
    def graph(self):
        if self._latest is None:
            raise ValueError("this concrete function has None dimensions and no graph until it is called: "
                             "pykernel traces one graph per size")
        return self._latest.graph


def _describe(leaves):
    specs = [leaf for leaf in leaves if isinstance(leaf, TensorSpec)]
    return ", ".join(f"{spec.dtype.name}{list(spec.shape)}" for spec in specs) or "no tensors"


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_relax_shapes=None, name=None, **_ignored):
    """Decorator (`@tf.function` or `@tf.function(...)`) making `func` a Function."""
    def decorate(f):
        return Function(f, input_signature=input_signature, jit_compile=jit_compile,
                        reduce_retracing=reduce_retracing or bool(experimental_relax_shapes),
                        autograph=autograph, name=name)
    return decorate if func is None else decorate(func)
