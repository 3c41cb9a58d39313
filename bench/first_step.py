"""What the first training step of a new model compiles: distinct WebGPU pipelines and the
compile time of each (PipelineCache.compile_report), per model, on the native device.

    python bench/first_step.py [--models mlp,cnn,tiny] [--detail] [--warmup]

Models (the playground's): the MNIST MLP 784-128-10 (Adam, batch 32), the CNN
conv8-pool-conv16-pool-dense10 (Adam, batch 32) and the 2-D 2-8-8-1 tanh MLP (Adam, batch
16), each through fit (one small epoch) + evaluate + predict, from an empty pipeline cache.
`--warmup` runs pykernel.backends.webgpu.warmup first (as the page does while it loads) and
reports what the model still compiled after it. Compile costs on lavapipe follow the same
pattern as on SwiftShader (the page's software adapter), smaller.
"""
import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def models(keras):
    def mlp():
        model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                  keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        return model, (28, 28), 10, 32

    def cnn():
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)),
                                  keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                                  keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        return model, (28, 28), 10, 32

    def tiny():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1, activation="sigmoid")])
        return model, (2,), 2, 16
    return {"mlp": ("MNIST MLP 784-128-10", mlp), "cnn": ("CNN conv8-pool-conv16-pool-dense10", cnn),
            "tiny": ("2-8-8-1 tanh MLP", tiny)}


def run_model(tf, keras, gpu, build, warm):
    import numpy as np
    from pykernel.backends.webgpu.kernels import PipelineCache
    keras.utils.set_random_seed(0)
    keras.backend.clear_session()
    gpu.pipelines = PipelineCache(gpu.device)
    warm_ms = 0.0
    if warm:
        from pykernel.backends.webgpu.warmup import warmup
        start = time.perf_counter()
        warmup(gpu)
        warm_ms = (time.perf_counter() - start) * 1000
    warmed = len(gpu.pipelines)
    model, shape, classes, batch = build()
    loss = "binary_crossentropy" if classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((4 * batch,) + shape).astype("float32")
    # the page's label dtypes: playground points int32, MNIST uint8
    y = rng.integers(0, classes, 4 * batch).astype("int32" if classes == 2 else "uint8")
    start = time.perf_counter()
    model.train_on_batch(x[:batch], y[:batch])
    first_ms = (time.perf_counter() - start) * 1000
    first_pipelines = len(gpu.pipelines)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, validation_data=(x[:batch + 3], y[:batch + 3]))
    model.evaluate(x, y, batch_size=batch, verbose=0)
    model.predict(x[:1], verbose=0)
    return gpu.pipelines, warmed, warm_ms, first_pipelines, first_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mlp,cnn,tiny")
    parser.add_argument("--detail", action="store_true", help="list every GEMM pipeline key")
    parser.add_argument("--warmup", action="store_true", help="run webgpu.warmup() before each model")
    args = parser.parse_args(argv)
    import pykernel as tf
    from pykernel import backends, keras
    tf.config.set_device("webgpu")
    gpu = backends.get("webgpu")
    print(f"adapter: {gpu.adapter_name}")
    saved = gpu.pipelines
    try:
        for name in args.models.split(","):
            label, build = models(keras)[name]
            cache, warmed, warm_ms, first, first_ms = run_model(tf, keras, gpu, build, args.warmup)
            report = cache.compile_report()
            total = sum(ms for _, ms in report)
            print(f"\n{label}: {len(report)} pipelines ({first} by the end of the first step, "
                  f"{first_ms:.0f} ms), {total:.0f} ms compiling")
            if args.warmup:
                after = sum(ms for _, ms in report[warmed:])
                print(f"  warmup: {warmed} pipelines in {warm_ms:.0f} ms; the model then compiled "
                      f"{len(report) - warmed} more ({after:.0f} ms)")
            for fam, (count, ms) in cache.compile_summary().items():
                print(f"  {fam:24} {count:3} x  {ms:8.0f} ms  ({ms / count:.0f} ms each)")
            if args.detail:
                for i, (key, ms) in enumerate(cache.compile_details()):
                    if key[0] == "gemm":
                        print(f"    {ms:7.0f} ms {'(warm) ' if i < warmed else ''}{key}")
    finally:
        gpu.pipelines = saved


if __name__ == "__main__":
    main()
