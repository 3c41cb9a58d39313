"""GPU arrays and the buffer pool.

A GPUArray is (storage, shape, dtype). Storage is shared by reshapes and returns its
device buffer to the pool when the last array using it is garbage-collected. Reusing a
buffer while queued dispatches still read it is safe: the device runs dispatches in
queue order, so the earlier reads happen before the later writes.
"""
import math


def _size_class(nbytes):
    """Round up to 4 bytes below 4 KiB, else to a quarter power of two: bounded waste, many hits."""
    if nbytes <= 4096:
        return max(4, (nbytes + 3) // 4 * 4)
    step = 1 << (nbytes.bit_length() - 3)
    return (nbytes + step - 1) // step * step


MiB = 1 << 20


def default_budget(max_buffer_size):
    """Device memory pykernel may hold when nothing is configured. WebGPU does not say how much
    memory an adapter has; four of its largest buffers, within [512 MiB, 4 GiB], lets a model
    use the biggest tensors the device allows and still stops a runaway loop long before a
    browser tab (whose software adapter takes host RAM) or the machine runs out."""
    return min(4096 * MiB, max(512 * MiB, 4 * max_buffer_size))


class BufferPool:
    """Device buffers by size class, reused across tensors, within a memory budget.

    Freed buffers wait in the pool for the next tensor of their size class; the pool keeps at
    most a quarter of the budget that way and gives the rest back to the device at once.
    An allocation that would exceed the budget first gives back every pooled buffer, then
    raises ResourceExhaustedError naming the tensor and the budget."""

    def __init__(self, device, budget=None):
        self.device = device
        self._free = {}       # size class -> [handles]
        self.live = 0         # buffers handed out and not yet returned
        self.allocated = 0    # device buffers in existence
        self.bytes_allocated = 0
        self.bytes_live = 0
        self.peak_bytes_live = 0
        self.budget = budget if budget is not None else default_budget(device.max_buffer_size)

    @property
    def bytes_pooled(self):
        return self.bytes_allocated - self.bytes_live

    def acquire(self, nbytes, shape=None, dtype=None):
        size = _size_class(nbytes)
        free = self._free.get(size)
        if free:
            handle = free.pop()
        else:
            handle = self._create(size, shape, dtype)
        self.live += 1
        self.bytes_live += size
        self.peak_bytes_live = max(self.peak_bytes_live, self.bytes_live)
        return _Storage(self, handle, size)

    def _create(self, size, shape, dtype):
        from .device import DeviceOutOfMemoryError
        # (a buffer larger than the device allows at all gets the device's own error, which says so)
        if size <= self.device.max_buffer_size and self.bytes_allocated + size > self.budget:
            self.trim()
            if self.bytes_allocated + size > self.budget:
                raise self._over_budget(size, shape, dtype)
        try:
            handle = self.device.create_buffer(size)
        except DeviceOutOfMemoryError:
            if not self.bytes_pooled:
                raise
            self.trim()   # the device itself is full: give pooled memory back and try once more
            handle = self.device.create_buffer(size)
        self.allocated += 1
        self.bytes_allocated += size
        return handle

    def _over_budget(self, size, shape, dtype):
        from ...errors import ResourceExhaustedError
        what = f"a tensor of shape {list(shape)} and type {dtype.name}" if shape is not None else "a buffer"
        return ResourceExhaustedError(
            f"OOM when allocating {what} ({size / MiB:.1f} MiB) on {self.device.adapter_name}: "
            f"live tensors hold {self.bytes_live / MiB:.1f} MiB of this device's memory budget of "
            f"{self.budget / MiB:.0f} MiB. Delete tensors you no longer need, use smaller batches, "
            "or raise the budget with tf.config.set_logical_device_configuration(gpu, "
            "[tf.config.LogicalDeviceConfiguration(memory_limit=MB)]) or PYKERNEL_GPU_MEMORY_LIMIT_MB")

    def release(self, storage):
        self.live -= 1
        self.bytes_live -= storage.size
        if self.bytes_pooled > self.budget // 4:
            self._destroy(storage.handle, storage.size)
            return
        self._free.setdefault(storage.size, []).append(storage.handle)

    def _destroy(self, handle, size):
        self.device.release_buffer(handle)
        self.allocated -= 1
        self.bytes_allocated -= size

    def trim(self):
        """Give every pooled (unused) buffer back to the device."""
        for size, handles in self._free.items():
            for h in handles:
                self._destroy(h, size)
        self._free.clear()


class _Storage:
    __slots__ = ("pool", "handle", "size")

    def __init__(self, pool, handle, size):
        self.pool = pool
        self.handle = handle
        self.size = size

    def __del__(self):
        try:
            self.pool.release(self)
        except Exception:  # interpreter shutdown: nothing left to return the buffer to
            pass


class GPUArray:
    """A device buffer viewed as a contiguous row-major array of `shape` and `dtype`."""

    __slots__ = ("storage", "shape", "dtype")

    def __init__(self, storage, shape, dtype):
        self.storage = storage
        self.shape = tuple(shape)
        self.dtype = dtype

    @property
    def handle(self):
        return self.storage.handle

    @property
    def size(self):
        return math.prod(self.shape)

    def __repr__(self):
        return f"GPUArray(handle={self.handle}, shape={self.shape}, dtype={self.dtype.name})"


def as_words(x):
    """An int64 array as the int32 array of its (low, high) words, shape + (2,): kernels that
    only move elements (gather, concat, pad) take int64 this way, on an axis other than the
    last. Other dtypes are returned as they are."""
    from ... import dtypes
    return GPUArray(x.storage, x.shape + (2,), dtypes.int32) if x.dtype is dtypes.int64 else x


def from_words(x, dtype):
    """as_words undone: the int64 array an int32 word-pair array holds (other dtypes as they are)."""
    from ... import dtypes
    return GPUArray(x.storage, x.shape[:-1], dtype) if dtype is dtypes.int64 else x
