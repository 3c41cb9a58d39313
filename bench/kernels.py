"""GFLOP/s of matmul and conv2d (forward and both gradients): pykernel on WebGPU, pykernel's
NumPy backend, and PyTorch on CPU and CUDA, side by side.

    python bench/kernels.py                          # matmul 256..4096 and four CNN convs
    python bench/kernels.py --sizes 256,512 --convs 0,1 --repeat 3 --json out.json

Needs only numpy and wgpu (and torch for its columns); pykernel is imported from this
checkout. All four run in float32 (TF32 off on CUDA). WebGPU time is queue time: after a
warm-up, `repeat` calls are queued back to back and synced by one 4-byte read, so no
per-call readback is counted; torch.cuda is synced with torch.cuda.synchronize(). Each
number is the best of three such rounds. "max rel err" compares WebGPU with NumPy.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONVS = [  # (N, H, W, C) input, (KH, KW, C, O) filter, stride 1, SAME padding
    ((32, 28, 28, 1), (3, 3, 1, 32)),
    ((32, 14, 14, 32), (3, 3, 32, 64)),
    ((64, 56, 56, 64), (3, 3, 64, 64)),
    ((16, 112, 112, 32), (3, 3, 32, 64)),
]
CONV_OPS = ("conv2d", "grad_input", "grad_filter")
PADS = ((1, 1), (1, 1))


# ------------------------------------------------------------------ runners
# Each maker returns (prepare(inputs) -> state, run(state) -> result, sync(result)).

def webgpu_runner():
    from pykernel import backends, dtypes
    gpu = backends.get("webgpu")

    def up(arrays):
        return [gpu.from_numpy(a, dtypes.float32) for a in arrays]

    def sync(result):
        gpu.device.read_buffer(result.handle, 4)

    ops = {
        "matmul": lambda a, b: gpu.matmul(a, b, False, False),
        "conv2d": lambda x, w, dy: gpu.conv2d(x, w, (1, 1), PADS, (1, 1)),
        "grad_input": lambda x, w, dy: gpu.conv2d_grad_input(dy, w, x.shape, (1, 1), PADS, (1, 1)),
        "grad_filter": lambda x, w, dy: gpu.conv2d_grad_filter(x, dy, w.shape, (1, 1), PADS, (1, 1)),
    }
    return gpu.adapter_name, up, ops, sync, gpu.to_numpy


def numpy_runner():
    from pykernel.backends.numpy_backend import NumpyBackend
    cpu = NumpyBackend()
    ops = {
        "matmul": lambda a, b: cpu.matmul(a, b, False, False),
        "conv2d": lambda x, w, dy: cpu.conv2d(x, w, (1, 1), PADS, (1, 1)),
        "grad_input": lambda x, w, dy: cpu.conv2d_grad_input(dy, w, x.shape, (1, 1), PADS, (1, 1)),
        "grad_filter": lambda x, w, dy: cpu.conv2d_grad_filter(x, dy, w.shape, (1, 1), PADS, (1, 1)),
    }
    return f"NumPy {np.__version__}", list, ops, lambda r: None, np.asarray


def torch_runner(device):
    import torch
    import torch.nn.functional as F
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        name = torch.cuda.get_device_name()
    else:
        name = f"{torch.get_num_threads()} threads"

    def up(arrays):
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays]
        if len(tensors) == 3:  # conv: x, dy NHWC -> NCHW views (channels_last memory), w HWIO -> OIHW
            x, w, dy = tensors
            tensors = [x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1).contiguous(), dy.permute(0, 3, 1, 2)]
        return tensors

    ops = {
        "matmul": torch.matmul,
        "conv2d": lambda x, w, dy: F.conv2d(x, w, padding=1),
        "grad_input": lambda x, w, dy: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1),
        "grad_filter": lambda x, w, dy: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1),
    }

    def sync(result):
        if device == "cuda":
            torch.cuda.synchronize()

    return f"torch {torch.__version__} {device} ({name})", up, ops, sync, None


def time_op(run, sync, args, repeat, rounds=3, budget_s=3.0):
    """Seconds per call: the best of `rounds` rounds of up to `repeat` back-to-back calls
    (fewer where one call takes a large part of budget_s). Best-of damps other load."""
    result = run(*args)   # warm-up: compiles pipelines, fills the buffer pool / caches
    sync(result)
    start = time.perf_counter()
    result = run(*args)
    sync(result)
    calls = max(1, min(repeat, int(budget_s / rounds / (time.perf_counter() - start))))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            result = run(*args)
        sync(result)
        best = min(best, (time.perf_counter() - start) / calls)
    return best, result


# ------------------------------------------------------------------ problems

def problems(sizes, convs, batch_scale):
    rng = np.random.default_rng(0)
    for s in sizes:
        a = rng.standard_normal((s, s), dtype=np.float32)
        b = rng.standard_normal((s, s), dtype=np.float32)
        yield "matmul", f"{s}x{s}x{s}", 2.0 * s ** 3, "matmul", (a, b)
    for i in convs:
        (n, h, w, c), (kh, kw, _, o) = CONVS[i]
        n = max(1, int(n * batch_scale))
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        wt = (rng.standard_normal((kh, kw, c, o), dtype=np.float32) / np.sqrt(kh * kw * c)).astype(np.float32)
        dy = rng.standard_normal((n, h, w, o), dtype=np.float32)
        flops = 2.0 * n * h * w * o * kh * kw * c
        label = f"{n}x{h}x{w}x{c}->{o} {kh}x{kw}"
        for op in CONV_OPS:
            yield op, label, flops, op, (x, wt, dy)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256,512,1024,2048,4096",
                        help="square matmul sizes, comma-separated ('' for none)")
    parser.add_argument("--convs", default=",".join(str(i) for i in range(len(CONVS))),
                        help="indices into the conv shapes " + "; ".join(
                            f"{i}: {x}*{w}" for i, (x, w) in enumerate(CONVS)) + " ('' for none)")
    parser.add_argument("--conv-batch-scale", type=float, default=1.0,
                        help="scale the conv batch sizes (e.g. 0.25 on slow devices)")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls per round (best of 3 rounds)")
    parser.add_argument("--backends", default="webgpu,numpy,torch-cpu,torch-cuda",
                        help="which columns to run (unavailable ones are skipped)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s]
    convs = [int(i) for i in args.convs.split(",") if i]
    wanted = args.backends.split(",")
    runners = {}
    for name in wanted:
        try:
            if name == "webgpu":
                runners[name] = webgpu_runner()
            elif name == "numpy":
                runners[name] = numpy_runner()
            elif name in ("torch-cpu", "torch-cuda"):
                import torch
                if name == "torch-cuda" and not torch.cuda.is_available():
                    continue
                runners[name] = torch_runner(name.split("-")[1])
        except Exception as e:  # a missing package or adapter drops that column only
            print(f"skipping {name}: {e}", file=sys.stderr)
    if not runners:
        sys.exit("no backend could run")

    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    for name, (desc, *_) in runners.items():
        print(f"  {name}: {desc}")
    names = list(runners)
    header = f"{'op':<12} {'shape':<26}" + "".join(f"{n:>12}" for n in names)
    ratios = [n for n in names if n != "webgpu"] if "webgpu" in names else []
    header += "".join(f"{'wgpu/' + n:>16}" for n in ratios) + f"{'max rel err':>13}"
    print("\nGFLOP/s (higher is better); ratios are WebGPU's speed over the other column's")
    print(header)
    print("-" * len(header))

    rows = []
    for op, label, flops, key, host_args in problems(sizes, convs, args.conv_batch_scale):
        row = {"op": op, "shape": label, "gflops": {}, "seconds": {}}
        results = {}
        for name, (desc, up, ops, sync, to_host) in runners.items():
            try:
                seconds, result = time_op(ops[key], sync, up(host_args), args.repeat)
            except Exception as e:
                print(f"  {name} {op} {label} failed: {e}", file=sys.stderr)
                continue
            row["seconds"][name] = seconds
            row["gflops"][name] = flops / seconds / 1e9
            if to_host is not None:
                results[name] = to_host(result)
        if "webgpu" in results and "numpy" in results:
            ref = results["numpy"].astype(np.float64)
            row["max_rel_err"] = float(np.abs(results["webgpu"] - ref).max() / max(np.abs(ref).max(), 1e-30))
        line = f"{op:<12} {label:<26}" + "".join(
            f"{row['gflops'][n]:>12.2f}" if n in row["gflops"] else f"{'-':>12}" for n in names)
        for n in ratios:
            g = row["gflops"]
            line += f"{g['webgpu'] / g[n]:>15.2f}x" if "webgpu" in g and n in g else f"{'-':>16}"
        line += f"{row['max_rel_err']:>13.1e}" if "max_rel_err" in row else f"{'-':>13}"
        print(line, flush=True)
        rows.append(row)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backends": {n: r[0] for n, r in runners.items()}, "repeat": args.repeat,
                       "machine": {"cpu": cpu_name(), "cpus": os.cpu_count(), "platform": platform.platform()},
                       "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
