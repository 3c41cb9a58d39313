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
"""
import time

MODELS = ("mlp", "points", "cnn")
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
    Uploads still happen, so those constants read true; the few computed on the device read
    as zeros, which does not matter: the fused kernels warmed here take their constants from
    uniforms (PipelineCache.specialise_literals is off meanwhile)."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        return getattr(self._device, name)

    def dispatch(self, pipeline, buffers, params, workgroups):
        pass

    def run_program(self, program):
        pass


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
    y = tf.constant([k % 10 for k in range(MNIST_BATCH)], dtype=tf.uint8)   # MNIST's labels are uint8
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


_BUILDERS = {"mlp": _mlp, "points": _points, "cnn": _cnn}
