"""Process memory (RSS) and time per step of Keras training on native WebGPU (wgpu-py).

    python bench/memory.py [--steps 600] [--every 100] [--batch 32] [--device webgpu]

Trains the MNIST MLP (784-128-10 relu, Adam, sparse cross-entropy from logits) on the
bundled digits with `model.fit`, one epoch of `--every` steps at a time, and prints RSS,
Python objects, the buffer pool and the native device's caches after each epoch, then the
growth per step after the first epoch (the warm-up: pipelines compile, caches fill).
Linux only (reads /proc/self/statm).
"""
import argparse
import gc
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100, help="steps per epoch (one report each)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="webgpu")
    args = parser.parse_args(argv)

    import numpy as np
    import pykernel as tf
    from pykernel import backends, keras

    tf.config.set_device(args.device)
    backend = backends.default()
    (x, y), _ = keras.datasets.mnist.load_data()
    n = args.every * args.batch
    x = (x[:n] / 255.0).astype(np.float32).reshape(-1, 784)
    y = y[:n]
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    print(f"device: {backend.name} ({getattr(backend, 'adapter_name', 'cpu')}); "
          f"{args.every} steps of batch {args.batch} per epoch; start RSS {rss_mb():.1f} MB")
    print(f"{'steps':>6} {'RSS MB':>8} {'objects':>8} {'ms/step':>8} {'loss':>7}  device state")
    rows = []
    for epoch in range(max(1, args.steps // args.every)):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False)
        ms = (time.perf_counter() - start) * 1000 / args.every
        gc.collect()
        state = ""
        if hasattr(backend, "memory_stats"):
            stats = backend.memory_stats()
            state = f"pool {stats['allocated_buffers']} buffers / {stats['allocated_bytes'] / 1e6:.1f} MB"
            device = backend.device
            if hasattr(device, "_bind_groups"):
                state += f", {len(device._bind_groups)} bind groups, {len(device._uniforms)} uniforms"
        rows.append(((epoch + 1) * args.every, rss_mb(), len(gc.get_objects()), ms))
        print(f"{rows[-1][0]:>6} {rows[-1][1]:>8.1f} {rows[-1][2]:>8} {ms:>8.1f} "
              f"{history.history['loss'][-1]:>7.4f}  {state}", flush=True)
    if len(rows) > 1:
        (s0, r0, o0, _), (s1, r1, o1, _) = rows[0], rows[-1]
        print(f"after the first epoch: {(r1 - r0) * 1000 / (s1 - s0):.1f} KB and {(o1 - o0) / (s1 - s0):+.2f} "
              f"Python objects per step; {sum(r[3] for r in rows[1:]) / (len(rows) - 1):.1f} ms per step")


if __name__ == "__main__":
    main()
