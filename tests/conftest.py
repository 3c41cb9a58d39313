"""Tests run on the NumPy (cpu) device unless they ask for WebGPU explicitly (tests/webgpu)."""
import os

# Under pytest-xdist on 2 cores, multi-threaded BLAS only fights the other worker.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

os.environ.setdefault("PYKERNEL_DEVICE", "cpu")
