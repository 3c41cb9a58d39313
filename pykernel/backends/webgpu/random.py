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
