"""Time per Keras training step, eager (`run_eagerly=True`) against traced (`tf.function`
replay, Keras's default), per backend; with the traced step's primitive count. The traced
step is timed twice: as traced (no fusion, op-by-op replay) and as it runs by default
(elementwise groups fused; on WebGPU a prepared program).

    python bench/graph_steps.py [--devices numpy,python,webgpu] [--steps 50] [--rounds 3]

Models: the 2-D playground net (2-8-8-1 tanh, SGD, batch 16) and the MNIST MLP
(784-128-10 relu, Adam, batch 128; skipped on the pure-Python backend, far too slow there).
Each (model, mode) gets a warm-up epoch (traces, compiles pipelines, fills the pool), then
the median of `--rounds` timed epochs of `--steps` steps. WebGPU here is the native device
(wgpu-py on this machine's Vulkan driver), not the browser's.
"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def models(keras):
    def tiny():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
        return model, "sgd", "mse", 2, 16

    def mlp():
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10)])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return model, "adam", loss, 784, 128
    return {"2-8-8-1 tanh, batch 16": tiny, "784-128-10 Adam, batch 128": mlp}


def step_ms(tf, keras, build, eager, steps, rounds):
    import numpy as np
    model, optimizer, loss, features, batch = build()
    model.compile(optimizer=optimizer, loss=loss, run_eagerly=eager)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * batch, features)).astype(np.float32)
    y = rng.integers(0, 10, steps * batch) if features == 784 else rng.standard_normal((steps * batch, 1)).astype(np.float32)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)   # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        times.append((time.perf_counter() - start) * 1000 / steps)
    assert all(np.isfinite(history.history["loss"]))
    dispatches = None
    if not eager and model.train_function is not None:
        concretes = list(getattr(model.train_function, "_concrete", {}).values())
        dispatches = concretes[0].dispatch_count if concretes else None
    return statistics.median(times), dispatches


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="numpy,python,webgpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    import pykernel as tf
    from pykernel import backends, keras
    from pykernel.backends.numpy_backend import NumpyBackend
    from pykernel.backends.python_backend import PythonBackend
    backends.register("numpy", NumpyBackend)    # "cpu" is NumPy when it is installed: both by name here
    backends.register("python", PythonBackend)

    from pykernel.graph import replay
    print(f"{'device':8} {'model':28} {'eager ms':>9} {'traced ms':>10} {'fused ms':>9} {'speed-up':>9} "
          f"{'steps':>6} {'fused':>6}")
    for device in args.devices.split(","):
        tf.config.set_device(device)
        for name, build in models(keras).items():
            if device == "python" and "784" in name:
                continue
            steps = max(5, args.steps // 5) if device == "python" else args.steps
            eager, _ = step_ms(tf, keras, build, True, steps, args.rounds)
            replay.set_fusion(False)
            replay.set_prepared_programs(False)
            try:
                traced, dispatches = step_ms(tf, keras, build, False, steps, args.rounds)
            finally:
                replay.set_fusion(True)
                replay.set_prepared_programs(True)
            fused, fused_dispatches = step_ms(tf, keras, build, False, steps, args.rounds)
            print(f"{device:8} {name:28} {eager:9.2f} {traced:10.2f} {fused:9.2f} {eager / fused:8.1f}x "
                  f"{dispatches or '-':>6} {fused_dispatches or '-':>6}", flush=True)


if __name__ == "__main__":
    main()
