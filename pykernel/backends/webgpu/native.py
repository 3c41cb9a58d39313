"""NativeDevice: the Device interface over wgpu-py (Vulkan/Metal/D3D12; lavapipe in CI)."""
import os

from .device import Device, DeviceError, DeviceOutOfMemoryError

CACHE_LIMIT = 1024   # bind groups / uniform buffers kept before the caches are dropped and rebuilt
# Dispatches encoded before a submit even without a read: a loop that never reads back would
# otherwise encode into one command buffer without end (+15 MB RSS over 500 unread steps).
SUBMIT_EVERY = 1024
KERNEL_STORAGE_BUFFERS = 10   # what kernels may bind per dispatch (browsers guarantee 8; see below)

# Kernel parameters (binding 0, `var<uniform> p: Params` in every shader) are bound here as a
# read-only *storage* buffer instead. Mesa's lavapipe (22.x, the Vulkan driver of CI and of
# machines without a GPU) specialises a shader on the values of uniforms that control its
# loops ("inline uniforms") and recompiles it at every dispatch that binds them, never freeing
# the JIT code: ~600 KB per matmul/conv dispatch, ~3 MB per training step, without bound.
# Storage buffers are never inlined. The two layouts agree for every Params struct in
# shaders/ (scalars, vectors and arrays of vec4 only), so the kernels are unchanged.
_UNIFORM_PARAMS = "var<uniform> p: Params"
_STORAGE_PARAMS = "var<storage, read> p: Params"


def _wgpu():
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import wgpu
    return wgpu


def probe_adapter():
    """The default adapter's info dict, or None when there is no WebGPU adapter."""
    try:
        wgpu = _wgpu()
        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    except Exception:
        return None
    return None if adapter is None else dict(adapter.info)


class NativeDevice(Device):
    def __init__(self, power_preference="high-performance"):
        wgpu = _wgpu()
        self._wgpu = wgpu
        adapter = wgpu.gpu.request_adapter_sync(power_preference=power_preference)
        if adapter is None:
            raise DeviceError("no WebGPU adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers)")
        info = adapter.info
        self.adapter_name = f"{info.get('device') or info.get('vendor')} ({info.get('backend_type', '')})"
        limits = adapter.limits
        kernel_buffers = min(limits["max-storage-buffers-per-shader-stage"], KERNEL_STORAGE_BUFFERS)
        # one more for the parameters when the adapter allows it (see _STORAGE_PARAMS)
        self._params_in_storage = limits["max-storage-buffers-per-shader-stage"] > kernel_buffers
        wanted = {
            "max-storage-buffers-per-shader-stage": kernel_buffers + self._params_in_storage,
            "max-storage-buffer-binding-size": limits["max-storage-buffer-binding-size"],
            "max-buffer-size": limits["max-buffer-size"],
            "max-compute-workgroup-storage-size": limits["max-compute-workgroup-storage-size"],
            "max-compute-invocations-per-workgroup": limits["max-compute-invocations-per-workgroup"],
        }
        self._device = adapter.request_device_sync(required_limits=wanted)
        self._queue = self._device.queue
        self.max_workgroups_per_dimension = self._device.limits["max-compute-workgroups-per-dimension"]
        self.max_storage_buffers_per_stage = kernel_buffers
        self.max_buffer_size = min(self._device.limits["max-storage-buffer-binding-size"],
                                   self._device.limits["max-buffer-size"])
        self._buffers = {}
        self._next_handle = 1
        self._pipelines = []
        self._uniforms = {}      # params bytes -> uniform buffer (immutable, so shareable)
        self._bind_groups = {}   # (pipeline, buffers, params) -> bind group
        self._encoder = None
        self._pass = None
        self._pending = 0
        self._staging = []       # upload buffers waiting for the next submit
        self._programs = {}      # handle -> [(pipeline, bind group, workgroups) | (source, destination, offset, nbytes)]
        self._next_program = 1

    # -- buffers --
    def create_buffer(self, nbytes):
        usage = self._wgpu.BufferUsage
        if nbytes > self.max_buffer_size:
            raise DeviceOutOfMemoryError(f"a buffer of {nbytes} bytes exceeds this device's limit of "
                              f"{self.max_buffer_size} bytes")
        try:
            buf = self._device.create_buffer(size=max(4, (nbytes + 3) // 4 * 4),
                                             usage=usage.STORAGE | usage.COPY_SRC | usage.COPY_DST)
        except Exception as e:  # wgpu raises its own error types for OOM / lost device
            raise DeviceOutOfMemoryError(f"could not allocate a GPU buffer of {nbytes} bytes: {e}") from e
        handle = self._next_handle
        self._next_handle += 1
        self._buffers[handle] = buf
        return handle

    def release_buffer(self, handle):
        buf = self._buffers.pop(handle, None)
        if buf is not None:
            stale = [k for k in self._bind_groups if handle in k[1]]
            for k in stale:
                del self._bind_groups[k]
            if self._pending:
                self.flush()  # queued work may still use it
            buf.destroy()

    def write_buffer(self, handle, data, offset=0):
        if not self._pending:
            self._queue.write_buffer(self._buffers[handle], offset, data)
            return
        # queue.write_buffer would land before the dispatches still being encoded; copy
        # from a staging buffer inside the command stream instead, keeping the order.
        size = len(memoryview(data).cast("B"))
        padded = bytes(data) + bytes(-size % 4)
        staging = self._device.create_buffer_with_data(data=padded, usage=self._wgpu.BufferUsage.COPY_SRC)
        # (the allocation may run a garbage collection that releases buffers and flushes:
        # take the encoder after it)
        self._encoder_for_copy().copy_buffer_to_buffer(staging, 0, self._buffers[handle], offset, len(padded))
        self._pending += 1
        self._staging.append(staging)

    def read_buffer(self, handle, nbytes):
        self.flush()
        return bytes(self._queue.read_buffer(self._buffers[handle], 0, (nbytes + 3) // 4 * 4))[:nbytes]

    # -- pipelines and dispatch --
    def create_pipeline(self, wgsl, entry_point="main"):
        if self._params_in_storage:
            wgsl = wgsl.replace(_UNIFORM_PARAMS, _STORAGE_PARAMS)
        module = self._device.create_shader_module(code=wgsl)
        pipeline = self._device.create_compute_pipeline(
            layout="auto", compute={"module": module, "entry_point": entry_point})
        self._pipelines.append(pipeline)
        return len(self._pipelines) - 1

    def _uniform(self, params):
        buf = self._uniforms.get(params)
        if buf is None:
            usage = self._wgpu.BufferUsage
            buf = self._device.create_buffer_with_data(
                data=params, usage=usage.STORAGE if self._params_in_storage else usage.UNIFORM)
            self._uniforms[params] = buf
        return buf

    def dispatch(self, pipeline, buffers, params, workgroups):
        key = (pipeline, tuple(buffers), params)
        group = self._bind_groups.get(key)
        p = self._pipelines[pipeline]
        if group is None:
            if len(self._bind_groups) >= CACHE_LIMIT or len(self._uniforms) >= CACHE_LIMIT:
                self._clear_caches()
            entries = []
            if params:
                entries.append({"binding": 0, "resource": {"buffer": self._uniform(params)}})
            for i, h in enumerate(buffers):
                entries.append({"binding": i + 1, "resource": {"buffer": self._buffers[h]}})
            group = self._device.create_bind_group(layout=p.get_bind_group_layout(0), entries=entries)
            self._bind_groups[key] = group
        if self._encoder is None:
            self._encoder = self._device.create_command_encoder()
        if self._pass is None:
            self._pass = self._encoder.begin_compute_pass()
        self._pass.set_pipeline(p)
        self._pass.set_bind_group(0, group)
        self._pass.dispatch_workgroups(*workgroups)
        self._pending += 1
        if self._pending >= SUBMIT_EVERY:
            self.flush()

    def _encoder_for_copy(self):
        if self._encoder is None:
            self._encoder = self._device.create_command_encoder()
        if self._pass is not None:
            self._pass.end()
            self._pass = None
        return self._encoder

    def copy_buffer(self, source, destination, nbytes, source_offset=0, destination_offset=0):
        self._encoder_for_copy().copy_buffer_to_buffer(self._buffers[source], source_offset,
                                                       self._buffers[destination], destination_offset, nbytes)
        self._pending += 1

    # -- prepared programs (backends/webgpu/program.py) --
    def create_program(self, commands):
        usage = self._wgpu.BufferUsage
        params_buffers, entries = {}, []
        for command in commands:
            if command[0] == "copy":
                _, source, destination, offset, nbytes = command
                entries.append((self._buffers[source], self._buffers[destination], offset, nbytes))
                continue
            _, pipeline, buffers, params, workgroups = command
            p = self._pipelines[pipeline]
            bindings = []
            if params:
                if params not in params_buffers:   # the program's own: the shared cache gets cleared
                    params_buffers[params] = self._device.create_buffer_with_data(
                        data=params, usage=usage.STORAGE if self._params_in_storage else usage.UNIFORM)
                bindings.append({"binding": 0, "resource": {"buffer": params_buffers[params]}})
            bindings += [{"binding": i + 1, "resource": {"buffer": self._buffers[h]}} for i, h in enumerate(buffers)]
            group = self._device.create_bind_group(layout=p.get_bind_group_layout(0), entries=bindings)
            entries.append((p, group, workgroups))
        handle = self._next_program
        self._next_program += 1
        self._programs[handle] = (entries, list(params_buffers.values()))
        return handle

    def run_program(self, program):
        entries, _ = self._programs[program]
        if self._encoder is None:
            self._encoder = self._device.create_command_encoder()
        for entry in entries:
            if len(entry) == 3:
                if self._pass is None:
                    self._pass = self._encoder.begin_compute_pass()
                pipeline, group, workgroups = entry
                self._pass.set_pipeline(pipeline)
                self._pass.set_bind_group(0, group)
                self._pass.dispatch_workgroups(*workgroups)
            else:
                source, destination, offset, nbytes = entry
                if self._pass is not None:
                    self._pass.end()
                    self._pass = None
                self._encoder.copy_buffer_to_buffer(source, 0, destination, offset, nbytes)
        self._pending += len(entries)
        if self._pending >= SUBMIT_EVERY:
            self.flush()

    def release_program(self, program):
        entry = self._programs.pop(program, None)
        if entry is not None:
            if self._pending:
                self.flush()   # queued work may still use its parameter buffers
            for buf in entry[1]:
                buf.destroy()

    def _clear_caches(self):
        """Drop every cached bind group and uniform buffer, so long runs with ever-new params
        (or buffers) cannot grow them without bound. Queued dispatches may still use them:
        submit those first; destroy() after submit is deferred until that work completes."""
        self.flush()
        self._bind_groups.clear()
        for buf in self._uniforms.values():
            buf.destroy()
        self._uniforms.clear()

    def flush(self):
        if self._encoder is None:
            return
        if self._pass is not None:
            self._pass.end()
        self._queue.submit([self._encoder.finish()])
        self._pass = self._encoder = None
        self._pending = 0
        for staging in self._staging:
            staging.destroy()
        self._staging.clear()
