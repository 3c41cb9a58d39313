"""Backend registry and the current default device.

A backend is created on first use, so importing pykernel never imports NumPy or
touches a GPU.
"""
import contextlib
import threading

from .base import Backend

_factories = {}
_instances = {}
_default_name = None
_scopes = threading.local()   # the `with pykernel.device(...)` stack, per thread
tracing = 0   # traces running (in any thread): while one is, Tensor.backend asks `traced`

# TF's device kinds and pykernel's backends: a TF program's '/GPU:0' means WebGPU here.
_ALIASES = {"gpu": "webgpu", "cpu": "cpu", "webgpu": "webgpu"}


def register(name, factory):
    """Make a backend available under `name`; `factory()` builds it on first use."""
    _factories[name] = factory


def _cpu_backend():
    """NumPy when it is installed; otherwise the pure-Python backend (slow, but it runs:
    offline Pyodide and minimal CPython have no NumPy)."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        from .python_backend import PythonBackend
        return PythonBackend()
    from .numpy_backend import NumpyBackend
    return NumpyBackend()


def _webgpu_backend():
    import sys
    from .webgpu import WebGPUBackend
    if sys.platform == "emscripten":
        from .webgpu.browser import BrowserDevice
        return WebGPUBackend(BrowserDevice())
    from .webgpu.native import NativeDevice
    return WebGPUBackend(NativeDevice())


register("cpu", _cpu_backend)
register("webgpu", _webgpu_backend)


def available():
    return tuple(_factories)


def canonical_name(name):
    """'cpu' or 'webgpu' for any spelling TF accepts: 'GPU', '/GPU:0', 'webgpu:0',
    '/job:localhost/replica:0/task:0/device:CPU:0', or a tensor's `.device`."""
    if not isinstance(name, str):
        raise TypeError(f"a device name must be a string such as 'cpu', 'webgpu' or '/GPU:0', "
                        f"got {type(name).__name__}")
    spec = name.lower().strip().rstrip("/")
    if "device:" in spec:
        spec = spec.rsplit("device:", 1)[1]
    kind = spec.lstrip("/").split(":")[0]
    return _ALIASES.get(kind, kind)


def get(name):
    key = canonical_name(name)
    if key not in _factories:
        raise ValueError(f"Unknown device {name!r}; available devices: {', '.join(_factories)} "
                         "(TF names work too: '/CPU:0', '/GPU:0')")
    if key not in _instances:
        _instances[key] = _factories[key]()
    return _instances[key]


def set_default(name):
    global _default_name
    get(name)  # fail now, not at the first op
    _default_name = canonical_name(name)


def scope(name):
    """`with pykernel.device(name):` new tensors and op results go to `name` inside."""
    return using(get(name))


@contextlib.contextmanager
def using(backend):
    """Make the backend object `backend` the default inside (a device scope, a trace)."""
    stack = _scopes.__dict__.setdefault("stack", [])
    stack.append(backend)
    try:
        yield
    finally:
        stack.pop()


@contextlib.contextmanager
def without(kind):
    """Leave the backends of class `kind` (tracers) out of the default-device stack inside."""
    stack = getattr(_scopes, "stack", None) or []
    _scopes.stack = [b for b in stack if not isinstance(b, kind)]
    try:
        yield
    finally:
        _scopes.stack = stack


def traced(backend):
    """`backend`, or the tracer of an active trace of it in this thread: inside tf.function an
    eager tensor's ops go through the tracer, which folds them or records them as nodes."""
    for scoped_backend in reversed(getattr(_scopes, "stack", None) or ()):
        if getattr(scoped_backend, "inner", None) is backend:
            return scoped_backend
    return backend


def scoped():
    """The backend of the innermost `with pykernel.device(...)`, or None outside one."""
    stack = getattr(_scopes, "stack", None)
    return stack[-1] if stack else None


def copy_to(buf, source, target):
    """`buf` (a buffer of `source`) as a new buffer of `target`; a sync point on `source`."""
    shape, dtype = source.shape(buf), source.dtype(buf)
    return target.from_list(source.to_list(buf), shape, dtype)


def default():
    global _default_name
    stack = getattr(_scopes, "stack", None)
    if stack:
        return stack[-1]
    if _default_name is None:
        _default_name = _choose_default()
    return get(_default_name)


def _choose_default():
    """PYKERNEL_DEVICE if set; else WebGPU where a hardware adapter exists (always in the
    browser, where it is the only fast option); else the CPU (NumPy) backend.

    On CPython a software adapter (lavapipe, SwiftShader) is slower than NumPy, so it is
    used only when asked for by name.
    """
    import os
    import sys
    requested = os.environ.get("PYKERNEL_DEVICE")
    if requested:
        return requested.lower().split(":")[0]
    if sys.platform == "emscripten":
        try:
            get("webgpu")
            return "webgpu"
        except Exception:
            return "cpu"
    try:
        from .webgpu.native import probe_adapter
        info = probe_adapter()
    except Exception:
        info = None
    if info is not None and info.get("adapter_type", "").upper() not in ("CPU", ""):
        return "webgpu"
    return "cpu"
