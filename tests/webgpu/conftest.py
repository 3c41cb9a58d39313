"""Fixtures for WebGPU tests: the native (wgpu-py) backend and NumPy as the reference.

These tests need a WebGPU adapter (lavapipe from mesa-vulkan-drivers is enough; `make
setup` installs it). Without one they fail with a clear message rather than skip, unless
PYKERNEL_SKIP_WEBGPU=1 is set explicitly.
"""
import contextlib
import os

import numpy as np
import pytest

from pykernel import backends
from pykernel.backends.numpy_backend import NumpyBackend


@pytest.fixture(scope="session")
def gpu():
    if os.environ.get("PYKERNEL_SKIP_WEBGPU") == "1":
        pytest.skip("PYKERNEL_SKIP_WEBGPU=1")
    try:
        return backends.get("webgpu")
    except Exception as e:  # no adapter / no driver
        pytest.fail(f"no WebGPU adapter: {e}. Install mesa-vulkan-drivers (make setup does) "
                    "or set PYKERNEL_SKIP_WEBGPU=1 to skip these tests explicitly.")


@pytest.fixture(scope="session")
def ref():
    return NumpyBackend()


@pytest.fixture
def on_device():
    """`with on_device('webgpu'): ...` makes new tensors go to that device inside the block."""
    @contextlib.contextmanager
    def switch(name):
        previous = backends.default().name
        backends.set_default(name)
        try:
            yield backends.default()
        finally:
            backends.set_default(previous)
    return switch


def upload(backend, array, dtype=None):
    """A backend buffer holding a NumPy array (dtype defaults to the array's)."""
    from pykernel import dtypes
    dtype = dtype or dtypes.as_dtype(array.dtype.name)
    return backend.from_numpy(np.asarray(array), dtype)


def assert_close(gpu_backend, gpu_buf, expected, rtol=1e-5, atol=1e-5):
    got = gpu_backend.to_numpy(gpu_buf)
    assert got.shape == np.asarray(expected).shape, f"shape {got.shape} != {np.asarray(expected).shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
