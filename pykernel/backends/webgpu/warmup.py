"""Warm the WebGPU pipelines a first Keras training step compiles, before anyone asks for one.

    from pykernel.backends.webgpu.warmup import warmup
    warmup()        # the page's worker calls it once the GPU has passed its check

Each pipeline is a shader compile, and a software adapter (SwiftShader, the page's usual
one without a GPU) takes 15-900 ms per compile: most of a new model's first step. In the
page compiles are asynchronous (createComputePipelineAsync, web/gpu_runtime.js), so issuing
them costs Python little and the GPU process compiles them while the page loads and the user
reads it; later dispatches wait only for the compiles still running.

The pipelines are the ones that matter by construction: warmup traces and runs one train
step, test step and predict step of each of the playground's default models (the MNIST
MLP, the 2-D points net, a small CNN) at the page's batch sizes, with the dispatches themselves
dropped (_NoDispatch), so nothing waits for a compile. Pipeline keys do not depend on shapes (GEMMs: on the address form and
whether N <= 16; maps: on the expression), so a user's model of another size or depth with
the same kinds of layers, activations, loss and optimizer compiles nothing new for them.

The page does not wait for Python to issue them: the wheel build also writes the warm-up's
shaders to a file (`python -m pykernel.backends.webgpu.warmup --shaders out.json`, run by
server.py beside the wheel), and the page's worker hands it to the GPU runtime as soon as
the GPU is open, while Pyodide still loads; when this warm-up then asks for the same
sources, the runtime has them compiled or compiling (GpuRuntime.precompile).
"""
import json
import sys
import time

# In the order issued: the GPU process compiles one at a time, so a step waits for every
# compile issued before its own; the page's default model (the MNIST MLP) goes first.
MODELS = ("mlp", "labels", "points", "cnn")
# The page's default batch sizes (web/codegen.js): a reduction's kernel depends on how many
# elements it folds (threads per output), so the warm-up trains on batches of the user's size.
MNIST_BATCH, POINTS_BATCH = 32, 16


def warmup(backend=None, models=MODELS):
    """Issue the pipelines of `models` (MODELS names) on `backend` (default: the WebGPU
    backend) without reading anything back. Returns (new pipelines, Python seconds spent);
    on a native device compiles are synchronous, so that includes them."""
    from ... import backends
    from ...keras import naming
    backend = backend or backends.get("webgpu")
    before = len(backend.pipelines)
    start = time.perf_counter()
    previous = backends.default().name
    names = dict(naming._counts)   # the user's layer names must not move on (dense_3, ...)
    device, checks = backend.device, len(backend._pending_checks)
    backends.set_default(backend.name)
    # the warm-up's batch sizes are not the user's: the fused kernels it compiles read their
    # constants (1/batch, ...) from uniforms, so the user's step finds them compiled
    backend.pipelines.specialise_literals = False
    try:
        backend.device = _NoDispatch(device)
        for name in models:
            _BUILDERS[name]()
    finally:
        backend.device = device
        backend.pipelines.specialise_literals = True
        del backend._pending_checks[checks:]   # checks of values never computed
        backends.set_default(previous)
        naming._counts.clear()
        naming._counts.update(names)
    return len(backend.pipelines) - before, time.perf_counter() - start


class _NoDispatch:
    """The device, except that dispatches (and prepared programs' runs) are dropped: the
    warm-up wants pipelines, not results, and a dispatch whose pipeline still compiles would
    hold back every later submit, and so the reads tracing makes (fusion reads one-element
    constants to write them into kernel code): the warm-up would wait for its own compiles.
    Reads never reach the GPU either (its process is busy with the very compiles issued, so
    a read would wait for them): what was uploaded (or copied from an upload) reads back from
    a host copy, so those constants read true; the few computed on the device read as zeros,
    which does not matter: the fused kernels warmed here take their constants from uniforms
    (PipelineCache.specialise_literals is off meanwhile)."""

    def __init__(self, device):
        self._device = device
        self._written = {}   # handle -> the bytes uploaded into it during the warm-up

    def __getattr__(self, name):
        return getattr(self._device, name)

    def dispatch(self, pipeline, buffers, params, workgroups):
        pass

    def run_program(self, program):
        pass

    def write_buffer(self, handle, data, offset=0):
        host = self._written.setdefault(handle, bytearray())
        if len(host) < offset + len(data):
            host.extend(bytes(offset + len(data) - len(host)))
        host[offset:offset + len(data)] = data
        self._device.write_buffer(handle, data, offset)

    def copy_buffer(self, source, destination, nbytes, source_offset=0, destination_offset=0):
        data = bytes(self._written.get(source, b"")[source_offset:source_offset + nbytes])
        self.write_buffer(destination, data.ljust(nbytes, b"\0"), destination_offset)

    def release_buffer(self, handle):
        self._written.pop(handle, None)
        self._device.release_buffer(handle)

    def read_buffer(self, handle, nbytes):
        return bytes(self._written.get(handle, b"")[:nbytes]).ljust(nbytes, b"\0")


def _run_steps(model, x, y, loss):
    from ...keras.models import data_adapter
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    model.make_train_function()(data_adapter.adapter_for(x, y).whole_batch())
    model.make_test_function()(data_adapter.adapter_for(x, y).whole_batch())
    model.make_predict_function()(data_adapter.adapter_for(x[:1]).whole_batch())


def _mlp():
    import pykernel as tf
    from ... import keras
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    x = tf.random.uniform((MNIST_BATCH, 28, 28))
    # MNIST's labels are uint8; int labels made in user code are int32 as often: the loss's
    # label kernels for both (the loss is the same for any 10-class model)
    for dtype in (tf.uint8, tf.int32):
        y = tf.constant([k % 10 for k in range(MNIST_BATCH)], dtype=dtype)
        _run_steps(model, x, y, "sparse_categorical_crossentropy")


def _points():
    import pykernel as tf
    from ... import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1, activation="sigmoid")])
    x = tf.random.uniform((POINTS_BATCH, 2))
    y = tf.constant([k % 2 for k in range(POINTS_BATCH)], dtype=tf.int32)    # playground.load_data's labels
    _run_steps(model, x, y, "binary_crossentropy")


def _cnn():
    import pykernel as tf
    from ... import keras
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)),
                              keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                              keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    x = tf.random.uniform((MNIST_BATCH, 28, 28))
    y = tf.constant([k % 10 for k in range(MNIST_BATCH)], dtype=tf.uint8)
    _run_steps(model, x, y, "sparse_categorical_crossentropy")


def _labels():
    """The label range check of sparse cross-entropy (ops/checks.py) at batches over 32:
    its min and max read LANES from a uniform there (reduction._lane_code), one pipeline
    for any such batch; the models train at 32, which folds with constant lanes."""
    import pykernel as tf
    from ...ops import checks
    for dtype in (tf.uint8, tf.int32):
        checks._extremes(tf.zeros((4 * MNIST_BATCH,), dtype=dtype))


_BUILDERS = {"mlp": _mlp, "points": _points, "cnn": _cnn, "labels": _labels}


# -- the warm-up's shaders, ahead of Python ------------------------------------------------

# What the page's device has (web/gpu_runtime.js asks for at most 10 storage buffers per
# stage): kernels with many inputs split by it, so a runtime with another value skips the file.
PAGE_LIMITS = {"maxStorageBuffersPerShaderStage": 10}


class RecordingDevice:
    """A Device that keeps the shader sources it is asked to compile and runs nothing:
    buffers are host bytes (what was written reads back, the rest as zeros, as on
    _NoDispatch), dispatches and programs are dropped."""
    adapter_name = "recording"
    max_workgroups_per_dimension = 65535
    max_storage_buffers_per_stage = PAGE_LIMITS["maxStorageBuffersPerShaderStage"]
    max_buffer_size = 1 << 27

    def __init__(self):
        self.shaders = []
        self._buffers = {}

    def create_buffer(self, nbytes):
        handle = len(self._buffers) + 1 + max(self._buffers, default=0)
        self._buffers[handle] = bytearray(nbytes)
        return handle

    def release_buffer(self, handle):
        self._buffers.pop(handle, None)

    def write_buffer(self, handle, data, offset=0):
        self._buffers[handle][offset:offset + len(data)] = data

    def read_buffer(self, handle, nbytes):
        return bytes(self._buffers[handle][:nbytes])

    def create_pipeline(self, wgsl, entry_point="main"):
        self.shaders.append({"code": wgsl, "entryPoint": entry_point})
        return len(self.shaders) - 1

    def dispatch(self, pipeline, buffers, params, workgroups):
        pass

    def copy_buffer(self, source, destination, nbytes, source_offset=0, destination_offset=0):
        pass

    def create_program(self, commands):
        return 0

    def run_program(self, program):
        pass

    def release_program(self, program):
        pass

    def flush(self):
        pass


def recorded_shaders(models=MODELS):
    """The sources warmup() compiles, in its order, as the page's device would get them.
    Replaces the process's WebGPU device: run it in a process of its own (main below)."""
    from ... import backends
    from . import WebGPUBackend
    device = RecordingDevice()
    backends.register("webgpu", lambda: WebGPUBackend(device))
    backends._instances.pop("webgpu", None)
    warmup(backends.get("webgpu"), models)
    return {"format": 1, "limits": PAGE_LIMITS, "shaders": device.shaders}


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description="Write the WebGPU warm-up's shader sources (JSON) "
                                                 "for the page to compile before Python starts.")
    parser.add_argument("--shaders", required=True, help="output file")
    args = parser.parse_args(argv)
    with open(args.shaders, "w", encoding="utf-8") as f:
        json.dump(recorded_shaders(), f, separators=(",", ":"))


if __name__ == "__main__":
    sys.exit(main())
