"""The small Device interface the WebGPU backend is written against.

Two implementations: `native.NativeDevice` (wgpu-py on CPython) and `browser.BrowserDevice`
(Pyodide's js FFI to navigator.gpu). Buffers and pipelines are integer handles, so a
browser implementation can batch a whole step of dispatches into one Int32Array.

Ordering contract: dispatches run in the order they were queued; `write_buffer` and
`read_buffer` see the effects of every dispatch queued before them.
"""


from ...errors import ResourceExhaustedError, UnavailableError


class DeviceError(UnavailableError):
    """The GPU is missing, lost, or reported an error (tf.errors.UnavailableError)."""


class DeviceOutOfMemoryError(DeviceError, ResourceExhaustedError):
    """A buffer could not be allocated (tf.errors.ResourceExhaustedError, a MemoryError)."""


class Device:
    adapter_name = "unknown"
    max_workgroups_per_dimension = 65535
    max_storage_buffers_per_stage = 8
    max_buffer_size = 1 << 27

    def create_buffer(self, nbytes):
        """A new zero-filled storage buffer of `nbytes` bytes; returns its handle."""
        raise NotImplementedError

    def release_buffer(self, handle):
        raise NotImplementedError

    def write_buffer(self, handle, data, offset=0):
        """Copy host bytes into the buffer, after all queued work that uses it."""
        raise NotImplementedError

    def read_buffer(self, handle, nbytes):
        """Bytes of the buffer after all queued work: the sync point."""
        raise NotImplementedError

    def create_pipeline(self, wgsl, entry_point="main"):
        """Compile a compute shader; returns a pipeline handle."""
        raise NotImplementedError

    def dispatch(self, pipeline, buffers, params, workgroups):
        """Queue one dispatch. Binding 0 is a uniform holding `params` (bytes, may be
        empty: then no uniform binding), bindings 1.. are the storage buffers in order."""
        raise NotImplementedError

    def copy_buffer(self, source, destination, nbytes, source_offset=0, destination_offset=0):
        """Queue a copy of `nbytes` (a multiple of 4) between two buffers, in dispatch order."""
        raise NotImplementedError

    def create_program(self, commands):
        """Keep a recorded list of commands for replay; returns its handle. Each command is
        ("dispatch", pipeline, buffers, params, workgroups) or ("copy", source, destination,
        destination offset, nbytes). The device builds what it needs (bind groups, parameter
        buffers) once; the buffers stay valid until release_program."""
        raise NotImplementedError

    def run_program(self, program):
        """Queue every command of a program, as if each were queued now, in order."""
        raise NotImplementedError

    def release_program(self, program):
        raise NotImplementedError

    def flush(self):
        """Submit everything queued so far."""
        raise NotImplementedError
