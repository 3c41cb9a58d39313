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


class BufferPool:
    def __init__(self, device):
        self.device = device
        self._free = {}       # size class -> [handles]
        self.live = 0         # buffers handed out and not yet returned
        self.allocated = 0    # device buffers in existence
        self.bytes_allocated = 0

    def acquire(self, nbytes):
        size = _size_class(nbytes)
        free = self._free.get(size)
        if free:
            handle = free.pop()
        else:
            handle = self.device.create_buffer(size)
            self.allocated += 1
            self.bytes_allocated += size
        self.live += 1
        return _Storage(self, handle, size)

    def release(self, storage):
        self.live -= 1
        self._free.setdefault(storage.size, []).append(storage.handle)

    def trim(self):
        """Give every pooled (unused) buffer back to the device."""
        for size, handles in self._free.items():
            for h in handles:
                self.device.release_buffer(h)
                self.allocated -= 1
                self.bytes_allocated -= size
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
