"""Tests run on the NumPy (cpu) device unless they ask for WebGPU explicitly (tests/webgpu)."""
import os

os.environ.setdefault("PYKERNEL_DEVICE", "cpu")
