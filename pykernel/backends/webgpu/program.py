"""A traced step as a prepared WebGPU program: recorded once, then replayed by the device in
one call, without running any Python per primitive.

The first run of a `graph.replay.Program` on WebGPU is a real run that is also recorded:
every dispatch (pipeline, buffers, parameters, workgroups) and every upload a kernel makes
is captured while the program's buffers come from a pool of its own, so the handles the
dispatches name stay the program's. The device then holds the list (bind groups and
parameter buffers built once) and `device.run_program` queues it whole; in the page that is
one Int32Array word, not a hundred dispatch calls through Python.

What changes between runs goes around the recorded list, in the same submit:
- inputs are copied into the program's input buffers;
- a variable lives in a buffer the program owns: it is copied in when the variable holds
  another buffer (an assign from outside, the first run), and an assigned value is copied
  back into it at the end of the list (every read in the list precedes every write, since
  a trace reads a variable once, before it assigns it). A snapshot someone else still holds
  of that buffer (`t = v.value()`) is moved to a copy first: buffers look immutable;
- outputs are copied out to fresh buffers, so a returned tensor keeps its value;
- value checks (label ranges, ...) read copies of the checked values.
- a random draw's key and stream position are four words of a buffer, rewritten per run.
Programs with host callbacks (tf.print) or control flow replay the Python way.
"""
import math
import struct
import sys
import weakref

from ... import dtypes
from ...graph import ir
from ...tensor import Tensor
from .buffers import BufferPool, GPUArray
from .kernels import element_bytes
from .random import _U32, random_uniform_seeded

# node kinds a prepared program can hold; anything else keeps the Python replay
PREPARABLE = frozenset((ir.CONSTANT, ir.READ_VARIABLE, ir.ASSIGN_VARIABLE, ir.CHECK_VALUES, ir.RANDOM_UNIFORM))


def preparable(program):
    return all(node.kind in PREPARABLE or not node.kind[:1].isupper() for node in program.nodes)


class ProgramPool(BufferPool):
    """The buffers of one prepared program: never given back to the device while the program
    lives (recorded dispatches name them), all given back when it is released."""

    def __init__(self, device):
        super().__init__(device, budget=1 << 62)
        self.closed = False

    def release(self, storage):
        self.live -= 1
        self.bytes_live -= storage.size
        if self.closed:
            self._destroy(storage.handle, storage.size)
        else:
            self._free.setdefault(storage.size, []).append(storage.handle)


class _Recorder:
    """The device, seen by kernels while a program records: forwards everything, and notes
    dispatches and uploads (an upload is replayed as a copy from a buffer holding its bytes)."""

    def __init__(self, device, pool):
        self._device = device
        self._pool = pool
        self.commands = []
        self.constants = []   # storages holding recorded uploads

    def __getattr__(self, name):
        return getattr(self._device, name)

    def dispatch(self, pipeline, buffers, params, workgroups):
        self.commands.append(("dispatch", pipeline, tuple(buffers), bytes(params), tuple(workgroups)))
        self._device.dispatch(pipeline, buffers, params, workgroups)

    def write_buffer(self, handle, data, offset=0):
        data = bytes(data)
        source = self._pool.acquire(len(data))
        self._device.write_buffer(source.handle, data)
        self.constants.append(source)
        self.commands.append(("copy", source.handle, handle, offset, (len(data) + 3) // 4 * 4))
        self._device.write_buffer(handle, data, offset)


class PreparedProgram:
    def __init__(self, program, backend):
        self.program = program
        self.backend = backend
        self.pool = ProgramPool(backend.device)         # what the kernels allocate while it records
        self.persistent = ProgramPool(backend.device)   # inputs and variables: never reused inside a run
        self.program_id = None
        self.runs = 0
        self._variables = []   # (variable, its program-owned GPUArray)
        self._assigned = {}    # id(variable) -> slot of its new value
        self._checks = []      # (slot, failure, error)
        self._draws = []       # (random stream, its seed buffer): four words rewritten per run

    # -- the first run: real, and recorded --
    def record(self, input_buffers):
        program, backend = self.program, self.backend
        device, pool = backend.device, backend.pool
        recorder = _Recorder(device, self.pool)
        env = [None] * program.size
        for s, buf in program.constants:
            env[s] = buf
        self._inputs = []
        for s, buf in zip(program.input_slots, input_buffers):
            own = self._own(buf.shape, buf.dtype)
            device.copy_buffer(buf.handle, own.handle, _nbytes(buf))
            self._inputs.append(own)
            env[s] = own
        backend.pool, backend.device = self.pool, recorder
        try:
            for (node, ins, outs), step in zip(program.step_nodes, program.steps):
                if node.kind == ir.READ_VARIABLE:
                    env[outs[0]] = self._variable_buffer(node.payload, copy_in=True)
                elif node.kind == ir.ASSIGN_VARIABLE:
                    self._assigned[id(node.payload)] = (node.payload, env[ins[0]])
                elif node.kind == ir.CHECK_VALUES:
                    self._checks.append((env[ins[0]], *node.payload))
                elif node.kind == ir.RANDOM_UNIFORM:
                    seed = self._own((4,), dtypes.int32)
                    self._draws.append((node.payload, seed))
                    self._write_seed(node.payload, seed, device)
                    env[outs[0]] = random_uniform_seeded(backend, node.attrs["shape"], seed)
                else:
                    step(env)
            commands = recorder.commands
            for variable, value in self._assigned.values():
                own = self._variable_buffer(variable, copy_in=False)
                commands.append(("copy", value.handle, own.handle, 0, _nbytes(own)))
                device.copy_buffer(value.handle, own.handle, _nbytes(own))
        finally:
            backend.pool, backend.device = pool, device
        self._held = [b for b in env if b is not None] + [v for _, v in self._assigned.values()]
        self._constants = recorder.constants
        self._outputs = [None if s is None else env[s] for s in program.output_slots]
        self._writes = [id(v) in self._assigned for v, _ in self._variables]
        self._sources = [None] * len(self._variables)
        self.program_id = device.create_program(commands)
        self.dispatches = sum(1 for c in commands if c[0] == "dispatch")
        weakref.finalize(self, _release, device, self.program_id, (self.pool, self.persistent))
        self._after_run()
        self._baseline = [self._references(k) for k in range(len(self._variables))]
        return self._results()

    @staticmethod
    def _write_seed(stream, seed, device):
        key, offset = stream.next()
        words = (key[0] & _U32, key[1] & _U32, offset & _U32, (offset >> 32) & _U32)
        device.write_buffer(seed.handle, struct.pack("<4I", *words))

    def _own(self, shape, dtype):
        return GPUArray(self.persistent.acquire(element_bytes(dtype) * max(1, math.prod(shape)), shape, dtype), shape, dtype)

    def _variable_buffer(self, variable, copy_in):
        """The program's buffer for `variable` (made on first use; filled from its value when read)."""
        for known, own in self._variables:
            if known is variable:
                return own
        value = variable._value
        own = self._own(value.shape, value.dtype)
        if copy_in:
            self.backend.device.copy_buffer(value._buf.handle, own.handle, _nbytes(own))
        self._variables.append((variable, own))
        return own

    def _after_run(self):
        """A variable the program writes now holds a new Tensor over its program buffer; every
        variable's current value is remembered, to tell at the next run whether it changed."""
        for k, (variable, own) in enumerate(self._variables):
            if self._writes[k]:
                variable._value = Tensor(GPUArray(own.storage, own.shape, own.dtype), self.backend,
                                         own.shape, own.dtype)
            self._sources[k] = weakref.ref(variable._value)

    def _references(self, k):
        """How many references the k-th variable's current tensor, its array and its storage
        have: more than right after a run means a snapshot of them is held outside."""
        tensor = self._variables[k][0]._value
        return sys.getrefcount(tensor), sys.getrefcount(tensor._buf), sys.getrefcount(tensor._buf.storage)

    def _results(self):
        device, backend = self.backend.device, self.backend
        for buf, failure, error in self._checks:
            copy = backend.empty(buf.shape, buf.dtype)
            device.copy_buffer(buf.handle, copy.handle, _nbytes(buf))
            backend.check_values(copy, failure, error)
        results = []
        for buf in self._outputs:
            if buf is None:
                results.append(None)
                continue
            copy = backend.empty(buf.shape, buf.dtype)
            device.copy_buffer(buf.handle, copy.handle, _nbytes(buf))
            results.append(copy)
        self.runs += 1
        return results

    # -- later runs: one queued program --
    def run(self, input_buffers):
        device = self.backend.device
        for own, buf in zip(self._inputs, input_buffers):
            device.copy_buffer(buf.handle, own.handle, _nbytes(own))
        for k, (variable, own) in enumerate(self._variables):
            if self._sources[k]() is not variable._value:   # assigned elsewhere since the last run
                source = variable._value._buf
                if source.storage is not own.storage:
                    self._move_snapshot(own)
                    device.copy_buffer(source.handle, own.handle, _nbytes(own))
                del source   # (no reference of ours may inflate the counts below)
            elif self._writes[k] and any(n > b for n, b in zip(self._references(k), self._baseline[k])):
                self._move_snapshot(own)
        for stream, seed in self._draws:
            self._write_seed(stream, seed, device)
        device.run_program(self.program_id)
        self._after_run()
        return self._results()

    def _move_snapshot(self, own):
        """The program is about to overwrite `own`: tensors outside it that still view that
        buffer (a kept `v.value()`) get a copy instead, so what they hold does not change
        under them. Their storage object takes the copy's buffer; the program keeps its
        buffer under a new storage object."""
        storage = own.storage
        fresh = self.backend.pool.acquire(storage.size)
        self.backend.device.copy_buffer(storage.handle, fresh.handle, storage.size)
        storage.handle, fresh.handle = fresh.handle, storage.handle
        storage.pool, fresh.pool = fresh.pool, storage.pool
        own.storage = fresh


def _release(device, program_id, pools):
    for pool in pools:
        pool.closed = True
        pool.trim()
    try:
        device.release_program(program_id)
    except Exception:   # interpreter shutdown
        pass


def _nbytes(array):
    return element_bytes(array.dtype) * max(1, math.prod(array.shape))
