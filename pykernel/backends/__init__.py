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


def _numpy_backend():
    try:
        from .numpy_backend import NumpyBackend
        return NumpyBackend()
    except ImportError as e:
        raise RuntimeError(
            "The 'cpu' backend needs NumPy, which is not installed here "
            f"({e}). Install numpy, or use the 'webgpu' device.") from None


def _webgpu_backend():
    import sys
    from .webgpu import WebGPUBackend
    if sys.platform == "emscripten":
        from .webgpu.browser import BrowserDevice
        return WebGPUBackend(BrowserDevice())
    from .webgpu.native import NativeDevice
    return WebGPUBackend(NativeDevice())


register("cpu", _numpy_backend)
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
    return get(_default_name or "cpu")
