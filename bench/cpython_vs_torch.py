"""Per-step training time on CPython: pykernel (NumPy backend, Keras `fit`, traced and fused
steps as it runs by default) against PyTorch eager (the usual hand-written loop) on the same
models, batches and optimizer, in interleaved rounds.

    python bench/cpython_vs_torch.py [--models tiny,mlp,cnn] [--steps 50] [--rounds 5] [--json out.json]

Models (the playground's): the 2-D net 2-8-8-1 tanh (sigmoid output, binary cross-entropy,
Adam, batch 16), the MNIST MLP 784-128-10 (relu, softmax cross-entropy, Adam, batch 128), the
CNN conv8-pool-conv16-pool-dense10 (Adam, batch 64). Both sides do the same work per step:
forward, loss, gradients, an Adam update, and a running mean of the loss that is read once per
epoch (Keras's fit reads its metrics only when a callback asks, and `verbose=0` asks at epoch
end). PyTorch runs eagerly with its default intra-op threads; pykernel's NumPy uses its BLAS's.
Each round times one epoch of `--steps` steps per framework after a warm-up epoch (tracing,
PyTorch's allocator); the table gives medians over rounds and the ratio torch/pykernel (above 1:
pykernel is faster).
"""
import argparse
import json
import pathlib
import platform
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

MODELS = {
    "tiny": ("2-8-8-1 tanh, Adam, batch 16", 16),
    "mlp": ("784-128-10 Adam, batch 128", 128),
    "cnn": ("conv8-pool-conv16-pool-dense10 Adam, batch 64", 64),
}


def data(name, steps, batch):
    import numpy as np
    rng = np.random.default_rng(0)
    n = steps * batch
    if name == "tiny":
        x = rng.standard_normal((n, 2)).astype(np.float32)
        return x, (x[:, :1] * x[:, 1:] > 0).astype(np.float32)
    shape = (n, 784) if name == "mlp" else (n, 28, 28, 1)
    return rng.random(shape).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)


def pykernel_model(keras, name):
    layers = keras.layers
    if name == "tiny":
        model = keras.Sequential([keras.Input((2,)), layers.Dense(8, activation="tanh"),
                                  layers.Dense(8, activation="tanh"), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
    elif name == "mlp":
        model = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    else:
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                                  layers.MaxPooling2D(2), layers.Conv2D(16, 3, activation="relu"),
                                  layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def torch_model(torch, name):
    nn = torch.nn
    if name == "tiny":
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
        loss = nn.BCEWithLogitsLoss()   # sigmoid + BCE, as Keras computes it from the sigmoid's logits
    elif name == "mlp":
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        loss = nn.CrossEntropyLoss()
    else:   # NCHW, torch's native layout
        model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
        loss = nn.CrossEntropyLoss()
    return model, loss, torch.optim.Adam(model.parameters(), lr=1e-3)


def time_pykernel(model, x, y, batch):
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    elapsed = time.perf_counter() - start
    assert all(v == v for v in history.history["loss"]), "pykernel's loss is NaN"
    return elapsed


def time_torch(torch, setup, x, y, batch):
    model, loss_fn, optimizer = setup
    start = time.perf_counter()
    total = torch.zeros(())
    for i in range(0, len(x), batch):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        optimizer.step()
        total += loss.detach()
    mean = float(total) / (len(x) // batch)
    elapsed = time.perf_counter() - start
    assert mean == mean, "torch's loss is NaN"
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny,mlp,cnn")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    import pykernel as tf
    from pykernel import keras
    tf.config.set_device("cpu")
    backend = type(tf.constant([0.0])._backend).__name__
    if backend != "NumpyBackend":
        raise SystemExit(f"pykernel's CPU device runs on {backend}, not NumPy: install numpy")

    results = {}
    print(f"{'model':48} {'pykernel ms':>12} {'torch ms':>9} {'torch/pykernel':>15}")
    for name in args.models.split(","):
        label, batch = MODELS[name]
        x, y = data(name, args.steps, batch)
        keras.utils.set_random_seed(0)
        torch.manual_seed(0)
        pk = pykernel_model(keras, name)
        th = torch_model(torch, name)
        tx = torch.from_numpy(x if name != "cnn" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        ty = torch.from_numpy(y)
        time_pykernel(pk, x, y, batch)            # warm-up: traces the step
        time_torch(torch, th, tx, ty, batch)
        rounds = {"pykernel": [], "torch": []}
        for _ in range(args.rounds):              # interleaved, so load on the machine hits both
            rounds["pykernel"].append(time_pykernel(pk, x, y, batch) * 1000 / args.steps)
            rounds["torch"].append(time_torch(torch, th, tx, ty, batch) * 1000 / args.steps)
        pk_ms, torch_ms = statistics.median(rounds["pykernel"]), statistics.median(rounds["torch"])
        results[name] = {"label": label, "batch": batch, "ms_per_step": rounds}
        print(f"{label:48} {pk_ms:12.2f} {torch_ms:9.2f} {torch_ms / pk_ms:14.2f}x", flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({
            "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "steps": args.steps, "results": results}, indent=1))


if __name__ == "__main__":
    main()
