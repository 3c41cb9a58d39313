"""BrowserDevice: the Device interface in Pyodide, over navigator.gpu.

Python never builds a JS object per op. Dispatches, uploads and buffer creation are
appended to an int32 command list (plus one byte blob for upload data) and handed to
the JS runtime (web/gpu_runtime.js, `globalThis.pykernelGpu`) in ONE call per flush.
Reading a buffer back is the only sync point: it flushes, then blocks on the JS promise
with `pyodide.ffi.run_sync` (JSPI, Chromium). Without JSPI a synchronous read is
impossible; the error says so and `await backend.device.read_buffer_async(...)` works.
"""
import array

from ...interrupts import check_stop
from .device import Device, DeviceError, DeviceOutOfMemoryError

OP_CREATE_BUFFER = 1
OP_RELEASE_BUFFER = 2
OP_WRITE_BUFFER = 3
OP_DISPATCH = 4
OP_CREATE_UNIFORM = 5
OP_RELEASE_UNIFORMS = 6
OP_COPY_BUFFER = 7
OP_RUN_PROGRAM = 8
OP_RELEASE_PROGRAM = 9
PROGRAM_DISPATCH = 1   # the entries of a program's word list (createProgram in gpu_runtime.js)
PROGRAM_COPY = 2
UNIFORM_CACHE_LIMIT = 4096
# Work batched before it goes to the runtime even without a read: a loop that never reads
# back would otherwise grow the batch (and the JS side's command buffer) without end.
SUBMIT_EVERY_WORDS = 1 << 16
SUBMIT_EVERY_BYTES = 64 << 20
# Dispatches queued before Python waits for the GPU to catch up (all but the latest submit
# done). Without it a cheap training step (a prepared program is one word) lets Python run
# hundreds of steps ahead of a slow adapter, and the next read (a progress update, Stop)
# waits for all of them: ~6 s measured on SwiftShader. Each wait is also a Stop point.
RUN_AHEAD_DISPATCHES = 512


class BrowserDevice(Device):
    def __init__(self, runtime=None):
        if runtime is None:
            try:
                from js import pykernelGpu as runtime  # set up by web/worker.js before Python runs
            except ImportError:
                raise DeviceError("WebGPU is not available: this page found no GPU adapter "
                                  "(navigator.gpu missing or requestAdapter() returned null)") from None
        self._runtime = runtime
        self.adapter_name = str(runtime.adapterName)
        limits = runtime.limits
        self.max_workgroups_per_dimension = int(limits.maxComputeWorkgroupsPerDimension)
        self.max_storage_buffers_per_stage = int(limits.maxStorageBuffersPerShaderStage)
        self.max_buffer_size = min(int(limits.maxStorageBufferBindingSize), int(limits.maxBufferSize))
        self._words = array.array("i")
        self._blob = bytearray()
        self._next_buffer = 1
        self._next_pipeline = 0
        self._uniforms = {}
        self._next_uniform = 0
        self._pending = False
        self._next_program = 1
        self._program_sizes = {}
        self._queued_dispatches = 0   # since Python last waited for the GPU

    def create_buffer(self, nbytes):
        if nbytes > self.max_buffer_size:
            raise DeviceOutOfMemoryError(f"a buffer of {nbytes} bytes exceeds this device's limit of "
                              f"{self.max_buffer_size} bytes")
        handle = self._next_buffer
        self._next_buffer += 1
        self._words.extend((OP_CREATE_BUFFER, handle, (nbytes + 3) // 4 * 4))
        self._pending = True
        return handle

    def release_buffer(self, handle):
        self._words.extend((OP_RELEASE_BUFFER, handle))
        self._pending = True

    def _append_blob(self, data):
        start = len(self._blob)
        self._blob += data
        self._blob += bytes(-len(self._blob) % 4)
        return start

    def write_buffer(self, handle, data, offset=0):
        data = bytes(data)
        start = self._append_blob(data)
        self._words.extend((OP_WRITE_BUFFER, handle, offset, start, len(data)))
        self._pending = True

    def create_pipeline(self, wgsl, entry_point="main"):
        """Starts the compile (createComputePipelineAsync) and returns at once: submits that
        use it wait in the runtime, in order; a failed compile raises at the next flush/read."""
        pipeline = self._next_pipeline
        self._next_pipeline += 1
        self._runtime.createPipeline(pipeline, wgsl, entry_point)
        return pipeline

    def compile_times(self):
        """{pipeline: compile ms} for the compiles that have ended, as the runtime measured
        them (PipelineCache.compile_report reads it)."""
        times = self._runtime.compileMs.to_py()
        return {i: float(ms) for i, ms in enumerate(times) if ms is not None}

    def _uniform(self, params):
        uid = self._uniforms.get(params)
        if uid is None and len(self._uniforms) >= UNIFORM_CACHE_LIMIT:
            # the runtime retires them (and their bind groups) once queued work is submitted
            self._words.append(OP_RELEASE_UNIFORMS)
            self._uniforms.clear()
        if uid is None:
            self._next_uniform += 1
            uid = self._next_uniform
            self._uniforms[params] = uid
            start = self._append_blob(params)
            self._words.extend((OP_CREATE_UNIFORM, uid, start, len(params)))
        return uid

    def dispatch(self, pipeline, buffers, params, workgroups):
        uid = self._uniform(params) if params else 0
        self._words.extend((OP_DISPATCH, pipeline, uid, len(buffers), *buffers, *workgroups))
        self._pending = True
        self._queued_dispatches += 1
        if self._queued_dispatches >= RUN_AHEAD_DISPATCHES:
            self._catch_up()
        elif len(self._words) >= SUBMIT_EVERY_WORDS or len(self._blob) >= SUBMIT_EVERY_BYTES:
            self.flush()

    def copy_buffer(self, source, destination, nbytes, source_offset=0, destination_offset=0):
        self._words.extend((OP_COPY_BUFFER, source, destination, source_offset, destination_offset, nbytes))
        self._pending = True

    # -- prepared programs (backends/webgpu/program.py): sent once, then one word to run --
    def create_program(self, commands):
        from pyodide.ffi import to_js
        self.flush()   # the buffers it names must exist on the JS side
        words, blob = array.array("i"), bytearray()
        for command in commands:
            if command[0] == "copy":
                _, source, destination, offset, nbytes = command
                words.extend((PROGRAM_COPY, source, destination, offset, nbytes))
                continue
            _, pipeline, buffers, params, workgroups = command
            start = len(blob)
            blob += params
            blob += bytes(-len(blob) % 4)
            words.extend((PROGRAM_DISPATCH, pipeline, start, len(params), len(buffers), *buffers, *workgroups))
        handle = self._next_program
        self._next_program += 1
        self._program_sizes[handle] = sum(1 for c in commands if c[0] == "dispatch")
        self._runtime.createProgram(handle, to_js(memoryview(words)), to_js(memoryview(bytes(blob) or b"\0\0\0\0")))
        return handle

    def run_program(self, program):
        self._words.extend((OP_RUN_PROGRAM, program))
        self._pending = True
        self._queued_dispatches += self._program_sizes[program]
        if self._queued_dispatches >= RUN_AHEAD_DISPATCHES:
            self._catch_up()
        elif len(self._words) >= SUBMIT_EVERY_WORDS:
            self.flush()

    def _catch_up(self):
        """Submit, then wait until only this submit is still running on the GPU."""
        self._queued_dispatches = 0
        self.flush()
        from pyodide.ffi import can_run_sync, run_sync
        if can_run_sync():
            check_stop()
            run_sync(self._runtime.settle(1))

    def release_program(self, program):
        self._program_sizes.pop(program, None)
        self._words.extend((OP_RELEASE_PROGRAM, program))
        self._pending = True

    def flush(self):
        if not self._pending:
            return
        from pyodide.ffi import to_js
        words, blob = self._words, self._blob
        self._words, self._blob, self._pending = array.array("i"), bytearray(), False
        self._runtime.submit(to_js(memoryview(words)), to_js(memoryview(blob)))
        error = self._runtime.takeError()
        if error:
            raise DeviceError(f"WebGPU error: {error}")

    def read_buffer(self, handle, nbytes):
        check_stop()   # a safe point: Stop ends the run here rather than during the wait
        self._queued_dispatches = 0
        self.flush()
        from pyodide.ffi import can_run_sync, run_sync
        if not can_run_sync():
            raise DeviceError("reading a GPU value synchronously needs JSPI (Chromium); in this "
                              "browser use `await device.read_buffer_async(...)` from async code")
        try:
            data = run_sync(self._runtime.read(handle, nbytes))
        except Exception as e:   # a rejected read: mapAsync fails when the device is lost
            self._raise_device_error(e)
        return self._to_bytes(data, nbytes)

    async def read_buffer_async(self, handle, nbytes):
        self.flush()
        try:
            data = await self._runtime.read(handle, nbytes)
        except Exception as e:
            self._raise_device_error(e)
        return self._to_bytes(data, nbytes)

    def _raise_device_error(self, cause):
        error = self._runtime.takeError() or str(cause)
        raise DeviceError(f"WebGPU error: {error}") from None

    def _to_bytes(self, js_array_buffer, nbytes):
        error = self._runtime.takeError()
        if error:
            raise DeviceError(f"WebGPU error: {error}")
        return js_array_buffer.to_py().tobytes()[:nbytes] if hasattr(js_array_buffer, "to_py") \
            else bytes(js_array_buffer)[:nbytes]
