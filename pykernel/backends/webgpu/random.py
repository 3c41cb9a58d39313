"""random_uniform: Philox-4x32-10 on the GPU (shaders/philox.wgsl), bit-identical to NumPy."""
import math
import struct

from ... import dtypes
from .elementwise import grid
from .kernels import template

_U32 = 0xFFFFFFFF


def random_uniform(backend, shape, key, offset):
    out = backend.empty(tuple(shape), dtypes.float32)
    n = math.prod(shape)
    if n == 0:
        return out
    pipeline = backend.pipelines.get(("philox",), lambda: template("philox"))
    groups, row_pitch = grid(backend.device, -(-n // 4))  # one invocation per 4-word block
    params = struct.pack("<8I", n, row_pitch, key[0] & _U32, key[1] & _U32, offset & _U32,
                         (offset >> 32) & _U32, 0, 0)
    backend.device.dispatch(pipeline, [out.handle], params, groups)
    return out


def random_uniform_seeded(backend, shape, seed):
    """random_uniform with (key0, key1, offset_lo, offset_hi) read from the uint32 buffer `seed`
    instead of the kernel parameters: a prepared program (program.py) draws fresh numbers at
    every run by rewriting four words, with the recorded dispatch unchanged."""
    out = backend.empty(tuple(shape), dtypes.float32)
    n = math.prod(shape)
    if n == 0:
        return out
    pipeline = backend.pipelines.get(("philox", "seeded"), _seeded_wgsl)
    groups, row_pitch = grid(backend.device, -(-n // 4))
    params = struct.pack("<8I", n, row_pitch, 0, 0, 0, 0, 0, 0)
    backend.device.dispatch(pipeline, [out.handle, seed.handle], params, groups)
    return out


def _seeded_wgsl():
    text = template("philox").replace(
        "@group(0) @binding(1) var<storage, read_write> out: array<f32>;",
        "@group(0) @binding(1) var<storage, read_write> out: array<f32>;\n"
        "@group(0) @binding(2) var<storage, read> seed: array<u32>;   // k0, k1, offset_lo, offset_hi")
    for field, index in (("k0", 0), ("k1", 1), ("offset_lo", 2), ("offset_hi", 3)):
        text = text.replace(f"p.{field}", f"seed[{index}]")
    return text
