"""Backend registry and the current default device.

A backend is created on first use, so importing pykernel never imports NumPy or
touches a GPU.
"""
from .base import Backend

_factories = {}
_instances = {}
_default_name = None


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


def get(name):
    key = name.lower().split(":")[0]
    if key not in _factories:
        raise ValueError(f"Unknown device {name!r}; available devices: {', '.join(_factories)}")
    if key not in _instances:
        _instances[key] = _factories[key]()
    return _instances[key]


def set_default(name):
    global _default_name
    get(name)  # fail now, not at the first op
    _default_name = name.lower().split(":")[0]


def default():
    global _default_name
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
