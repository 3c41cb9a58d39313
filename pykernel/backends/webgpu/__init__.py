"""The WebGPU backend: every primitive is a WGSL compute shader; tensors stay on the GPU.

Written once against the `Device` interface (device.py); `native.NativeDevice` runs it
on CPython through wgpu-py, `browser.BrowserDevice` in Pyodide through navigator.gpu.
Kernel families live in their own modules; this class only routes primitives to them.
"""
import array
import math
import weakref

from ... import dtypes
from ..base import Backend
from . import elementwise
from .buffers import BufferPool, GPUArray
from .kernels import I64, PipelineCache, element_bytes, wgsl_type

_HOST_CODES = {"f32": "f", "i32": "i", "u32": "I", I64: "q"}
_NUMPY_STORAGE = {"f32": "float32", "i32": "int32", "u32": "uint32", I64: "int64"}
MAX_PENDING_CHECKS = 64
MAX_PENDING_VALUES = 16384


class WebGPUBackend(Backend):
    name = "webgpu"
    folds_literals = True   # graph/fuse.py writes one-element constants into fused kernels' code
    fuses_elementwise = True

    def __init__(self, device):
        self.device = device
        self.device_name = "WebGPU:0"
        self.pool = BufferPool(device, budget=_configured_budget())
        self.pipelines = PipelineCache(device)
        self._pending_checks = []   # (flat int32 values, [(size, failure, error)]): check_values
        self.prepared = weakref.WeakSet()   # live PreparedPrograms: their buffers count in memory_stats

    @property
    def adapter_name(self):
        return self.device.adapter_name

    # -- allocation and transfer --
    def empty(self, shape, dtype):
        wgsl_type(dtype)  # rejects float64 with a clear message
        storage = self.pool.acquire(element_bytes(dtype) * max(1, math.prod(shape)), shape, dtype)
        return GPUArray(storage, shape, dtype)

    def _upload(self, host_values, shape, dtype):
        out = self.empty(shape, dtype)
        if out.size:
            self.device.write_buffer(out.handle, host_values.tobytes())
        return out

    def from_list(self, flat, shape, dtype):
        code = _HOST_CODES[wgsl_type(dtype)]
        if dtype.is_bool:
            flat = [1 if v else 0 for v in flat]
        return self._upload(array.array(code, flat), shape, dtype)

    def from_bytes(self, data, shape, dtype):
        host = array.array({dtypes.float32: "f", dtypes.int32: "i", dtypes.uint8: "B", dtypes.bool_: "B",
                            dtypes.int64: "q"}[dtype])
        host.frombytes(bytes(data))
        if host.typecode == "B":  # widen to the 32-bit storage type
            host = array.array(_HOST_CODES[wgsl_type(dtype)], host)
        return self._upload(host, shape, dtype)

    def from_numpy(self, arr, dtype):
        import numpy as np
        storage = _NUMPY_STORAGE[wgsl_type(dtype)]
        host = np.ascontiguousarray(arr, dtype=storage)
        out = self.empty(arr.shape, dtype)
        if out.size:
            self.device.write_buffer(out.handle, host.tobytes())
        return out

    def check_values(self, values, failure, error=None):
        """Deferred to the next read: `values` stay on the GPU until something is read anyway,
        then every pending check is read in one go (one concat, one extra read). Between reads
        pending checks are concatenated on the device every MAX_PENDING_CHECKS of them, so a
        long run with no reads holds one small buffer; past MAX_PENDING_VALUES it is read."""
        flat = self.reshape(values, (values.size,))
        self._pending_checks.append((flat, [(values.size, failure, error)]))
        if len(self._pending_checks) >= MAX_PENDING_CHECKS:
            if sum(v.size for v, _ in self._pending_checks) > MAX_PENDING_VALUES:
                self._run_checks()
            else:
                self._pending_checks = [self._merged_checks()]

    def _merged_checks(self):
        """The pending checks as one (values, segments) group."""
        if len(self._pending_checks) == 1:
            return self._pending_checks[0]
        # int32 or int64 values (checks of int64 tensors keep their full values); one dtype to concat
        wide = next((v.dtype for v, _ in self._pending_checks if v.dtype is dtypes.int64), dtypes.int32)
        values = self.concat([v if v.dtype is wide else self.cast(v, wide) for v, _ in self._pending_checks], 0)
        return values, [segment for _, segments in self._pending_checks for segment in segments]

    def _run_checks(self):
        values, segments = self._merged_checks()
        self._pending_checks = []
        host, start = self._read_words(values).tolist(), 0
        for size, failure, error in segments:
            message = failure(host[start:start + size])
            start += size
            if message:
                from ...errors import InvalidArgumentError
                raise (error or InvalidArgumentError)(message)

    def _read(self, x):
        if self._pending_checks:
            self._run_checks()
        return self._read_words(x)

    def _read_words(self, x):
        host = array.array(_HOST_CODES[wgsl_type(x.dtype)])
        if x.size:
            host.frombytes(self.device.read_buffer(x.handle, element_bytes(x.dtype) * x.size))
        return host

    def to_list(self, x):
        values = self._read(x).tolist()
        return [bool(v) for v in values] if x.dtype.is_bool else values

    def to_numpy(self, x):
        import numpy as np
        return np.frombuffer(self._read(x).tobytes(), dtype=_NUMPY_STORAGE[wgsl_type(x.dtype)]) \
            .astype(x.dtype.as_numpy_dtype).reshape(x.shape)

    def shape(self, x):
        return x.shape

    def dtype(self, x):
        return x.dtype

    def memory_stats(self):
        """The tensor pool's figures, and what prepared programs hold apart from it (their
        intermediates, inputs and variables' copies: alive as long as the traced function)."""
        programs = [pool for program in list(self.prepared) for pool in (program.pool, program.persistent)]
        return {"live_buffers": self.pool.live, "allocated_buffers": self.pool.allocated,
                "allocated_bytes": self.pool.bytes_allocated, "live_bytes": self.pool.bytes_live,
                "peak_live_bytes": self.pool.peak_bytes_live, "budget_bytes": self.pool.budget,
                "prepared_programs": len(programs) // 2,
                "program_buffers": sum(p.allocated for p in programs),
                "program_bytes": sum(p.bytes_allocated for p in programs)}

    # -- elementwise and copies: the map kernel --
    def full(self, shape, value, dtype):
        # one uploaded element broadcast by the copy kernel: no pipeline per fill value
        return self.broadcast_to(self.from_list([value], (), dtype), shape)

    def unary(self, op, x):
        expr, helpers, out_dtype = elementwise.unary_expr(op, x.dtype)
        return elementwise.run_map(self, expr, [(x, elementwise.broadcast_view(x.shape, x.shape))],
                                   x.shape, out_dtype, helpers)

    def binary(self, op, a, b):
        shape = _broadcast(a.shape, b.shape)
        expr, helpers, out_dtype = elementwise.binary_expr(op, a.dtype)
        return elementwise.run_map(self, expr, [(a, elementwise.broadcast_view(a.shape, shape)),
                                                (b, elementwise.broadcast_view(b.shape, shape))],
                                   shape, out_dtype, helpers)

    def where(self, cond, a, b):
        shape = _broadcast(cond.shape, a.shape, b.shape)
        return elementwise.run_map(self, "select(b, c, a != 0u)",
                                   [(cond, elementwise.broadcast_view(cond.shape, shape)),
                                    (b, elementwise.broadcast_view(b.shape, shape)),
                                    (a, elementwise.broadcast_view(a.shape, shape))], shape, a.dtype)

    def prepare_program(self, program):
        """A traced program's prepared form (program.py), or None where it must replay in Python."""
        from .program import PreparedProgram, preparable
        if not preparable(program):
            return None
        prepared = PreparedProgram(program, self)
        self.prepared.add(prepared)
        return prepared

    def fused_elementwise(self, program, inputs, shape, dtype):
        return elementwise.run_fused(self, program, inputs, shape, dtype)

    def cast(self, x, dtype):
        expr, helpers = elementwise.cast_expr(x.dtype, dtype)
        return elementwise.run_map(self, expr, [(x, elementwise.broadcast_view(x.shape, x.shape))], x.shape, dtype,
                                   helpers)

    def arange(self, start, delta, count, dtype):
        kind = wgsl_type(dtype)
        helpers = ()
        if kind == "f32":
            expr = f"f32({float(start)!r}) + f32({float(delta)!r}) * f32(i)"
        elif kind == I64:
            last = int(start) + int(delta) * max(0, count - 1)
            if not all(dtypes.int32.min <= v <= dtypes.int32.max for v in (int(start), int(delta), last)):
                return self.from_list([int(start) + int(delta) * i for i in range(count)], (count,), dtype)
            expr, helpers = f"i64_from_i32({int(start)} + {int(delta)} * i32(i))", ("i64",)
        else:
            expr = f"{kind}({int(start)}) + {kind}({int(delta)}) * {kind}(i)"
        return elementwise.run_map(self, expr, [], (count,), dtype, helpers)

    # -- movement: views read by the map kernel --
    def reshape(self, x, shape):
        return GPUArray(x.storage, shape, x.dtype)

    def transpose(self, x, perm):
        strides = elementwise.contiguous_strides(x.shape)
        shape = tuple(x.shape[p] for p in perm)
        return elementwise.run_map(self, "a", [(x, (0, tuple(strides[p] for p in perm)))], shape, x.dtype)

    def broadcast_to(self, x, shape):
        return elementwise.run_map(self, "a", [(x, elementwise.broadcast_view(x.shape, shape))], shape, x.dtype)

    def strided_slice(self, x, begin, strides, out_shape):
        base = elementwise.contiguous_strides(x.shape)
        offset = sum(b * s for b, s in zip(begin, base))
        return elementwise.run_map(self, "a", [(x, (offset, tuple(s * k for s, k in zip(base, strides))))],
                                   out_shape, x.dtype)

    def copy(self, x):
        return elementwise.run_map(self, "a", [(x, elementwise.broadcast_view(x.shape, x.shape))], x.shape, x.dtype)


def _configured_budget():
    """PYKERNEL_GPU_MEMORY_LIMIT_MB, else None (the pool derives one from the device's limits)."""
    import os
    value = os.environ.get("PYKERNEL_GPU_MEMORY_LIMIT_MB")
    if not value:
        return None
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = -1
    if not megabytes > 0:
        raise ValueError(f"PYKERNEL_GPU_MEMORY_LIMIT_MB must be a positive number of megabytes, got {value!r}")
    return int(megabytes * (1 << 20))


def _broadcast(*shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
        out.append(max(dims) if 0 not in dims else 0)
    return tuple(out)


def _route(module, function):
    """A backend method that forwards to `<module>.<function>(backend, ...)` (imported on first use)."""
    def method(self, *args):
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)(self, *args)
    method.__name__ = function
    return method


# Kernel families, one module (and shaders/*.wgsl template) each.
for _name, _module in {
    "reduce": "reduction", "arg_reduce": "reduction",
    "pool2d": "pooling", "pool2d_grad": "pooling",
    "matmul": "matmul",
    "conv2d": "conv", "conv2d_grad_input": "conv", "conv2d_grad_filter": "conv",
    "gather": "indexing", "scatter_add": "indexing", "pad": "indexing", "concat": "indexing",
    "strided_slice_grad": "indexing",
    "random_uniform": "random",
    "optimizer_update": "optimizer",
    "affine_warp": "warp",
}.items():
    setattr(WebGPUBackend, _name, _route(_module, _name))
