"""WGSL source from the templates in `shaders/`, and the pipeline cache.

A kernel is identified by a key (family, dtypes, rank, expression, ...); its WGSL is
generated once, compiled once per device, and reused for every later dispatch.
"""
import pathlib
import time

from ... import dtypes

_SHADER_DIRS = (
    pathlib.Path(__file__).resolve().parents[3] / "shaders",   # source checkout / editable install
    pathlib.Path(__file__).resolve().parent / "shaders",       # inside a built wheel
)
_templates = {}

# WGSL has no 64-bit integers: an int64 is two 32-bit words, (low, high), the little-endian
# layout of its host bytes, so uploads and reads need no conversion. elementwise.HELPERS["i64"]
# holds its arithmetic; kernels that copy words (gather, concat, pad) view it as int32 pairs.
I64 = "vec2<u32>"

WGSL_TYPE = {
    dtypes.float32: "f32",
    dtypes.int32: "i32",
    dtypes.int64: I64,
    dtypes.uint8: "u32",
    dtypes.bool_: "u32",
}


def wgsl_type(dtype):
    try:
        return WGSL_TYPE[dtype]
    except KeyError:
        raise TypeError(f"dtype {dtype.name} is not supported on WebGPU (no 64-bit floats on GPUs "
                        "through WebGPU); use float32") from None


def element_bytes(dtype):
    """Bytes one element of `dtype` takes in a GPU buffer."""
    return 8 if WGSL_TYPE.get(dtype) == I64 else 4


def reject_int64(dtype, what):
    """int64 arithmetic lives in the map and reduce kernels; other kernels say so clearly."""
    if dtype is dtypes.int64:
        raise TypeError(f"{what} on int64 tensors is not supported on WebGPU (int64 is emulated "
                        "with two 32-bit words in elementwise ops, reductions and copies only); "
                        "cast to int32 or float32 first, or run it on the CPU with tf.device('/CPU:0')")


def template(name):
    """The text of shaders/<name>.wgsl."""
    text = _templates.get(name)
    if text is None:
        for folder in _SHADER_DIRS:
            path = folder / f"{name}.wgsl"
            if path.exists():
                text = path.read_text()
                break
        else:
            raise FileNotFoundError(f"shader template {name}.wgsl not found in "
                                    f"{', '.join(str(d) for d in _SHADER_DIRS)}")
        _templates[name] = text
    return text


def fill(text, **values):
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    if "{{" in text:
        start = text.index("{{")
        raise ValueError(f"unfilled template placeholder {text[start:text.index('}}', start) + 2]}")
    return text


class PipelineCache:
    """Pipelines by kernel key, each compiled once per device, with what each compile cost.

    `compile_report()` lists (family, ms) per pipeline in compile order: on a native device
    the wall time of create_pipeline; in the browser, where compiles are asynchronous
    (createComputePipelineAsync), the time the JS runtime measured from the start of the
    compile to its end, once it has ended (None before)."""

    def __init__(self, device):
        self._device = device
        self._pipelines = {}
        self._compiles = []   # (key, pipeline handle, wall ms of create_pipeline), compile order
        self.fused_literal_sets = {}   # fused program shape -> its first literal values, or True (elementwise.py)
        self.specialise_literals = True   # False: a fused program shape seen first compiles generic (warm-up)

    def get(self, key, make_wgsl):
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            wgsl = make_wgsl()
            start = time.perf_counter()
            try:
                pipeline = self._device.create_pipeline(wgsl)
            except Exception as e:
                raise RuntimeError(f"internal error: WGSL for kernel {key!r} failed to compile: {e}\n"
                                   f"{wgsl}") from e
            self._compiles.append((key, pipeline, (time.perf_counter() - start) * 1000))
            self._pipelines[key] = pipeline
        return pipeline

    def __contains__(self, key):
        return key in self._pipelines

    def __len__(self):
        return len(self._pipelines)

    def keys(self):
        return list(self._pipelines)

    def compile_details(self):
        """[(key, ms)] per pipeline in compile order; ms as in compile_report."""
        measured = getattr(self._device, "compile_times", None)
        device_ms = measured() if measured is not None else None
        if device_ms is None:
            return [(key, ms) for key, _, ms in self._compiles]
        return [(key, device_ms.get(handle)) for key, handle, _ in self._compiles]

    def compile_report(self):
        """[(family, ms)] per pipeline in compile order (family: the key's first field:
        "gemm", "map", "reduce", ...)."""
        return [(str(key[0]), ms) for key, ms in self.compile_details()]

    def compile_summary(self):
        """{family: (pipelines, total ms)}, the costliest family first (unfinished compiles
        count as 0 ms)."""
        totals = {}
        for name, ms in self.compile_report():
            count, total = totals.get(name, (0, 0.0))
            totals[name] = (count + 1, total + (ms or 0.0))
        return dict(sorted(totals.items(), key=lambda item: -item[1][1]))

