"""pykernel in the playground page vs TF.js 4.22 (webgpu and wasm backends), in one headless Chromium.

    python bench/vs_tfjs.py [--rounds 3] [--models tiny,mlp,cnn,matmul,first] [--json out.json]
    python bench/vs_tfjs.py --quick          # 1 round, shorter blocks: a smoke run
    python bench/vs_tfjs.py --at-commit HEAD # serve a commit's pykernel, not the working tree

What it measures (the same shapes, optimizer and batch on both sides; random data):
  tiny    2-8-8-1 tanh MLP, sigmoid out, binary CE, Adam, batch 16: ms per train step
          (also on pykernel's CPU device: the page's Auto trains a model this small there)
  mlp     784-128-10 relu/softmax, sparse categorical CE, Adam, batch 128: samples/s
  cnn     Conv2D(8,3,relu)-MaxPool2-Conv2D(16,3,relu)-MaxPool2-Flatten-Dense(10), Adam, batch 64: samples/s
  matmul  float32 NxN @ NxN (--matmul-sizes, default 512,1024): GFLOP/s, calls queued back to
          back, one element of the last result read to sync
  first   the mlp model's first train step, s: model built + compiled + first step finished,
          in a new tab (pykernel: right after the page says ready, so after its own kernel
          warm-up, which is how a user meets it; TF.js: right after tf.setBackend)

How: the playground (server.create_app()) and a small TF.js page (bench/tfjs/) are served by
one Starlette app and opened as two tabs of one browser, so both use the same WebGPU adapter
(SwiftShader without a GPU). Train steps are train_on_batch on both sides, which reads the
loss back every step (pykernel float(loss), TF.js await loss.data()). Each (model, side)
first runs a 1-step block (compiles), a 2-step warm-up block and a 2-step estimate block that
fixes its block size n (about --budget seconds); every round then times one block of n.
Rounds are interleaved: round r runs each model on pykernel webgpu (and cpu for tiny), then
TF.js webgpu, then TF.js wasm, so background load hits all sides alike. Reported: the
median over rounds, and speed ratios pykernel/peer (> 1: pykernel is faster).
"""
import argparse
import json
import math
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

TFJS_PAGE_DIR = ROOT / "bench" / "tfjs"
TFJS_PACKAGES_DIR = ROOT / "node_modules" / "@tensorflow"

TRAIN_MODELS = {   # batch, input shape, classes (0: one sigmoid unit, binary crossentropy)
    "tiny": {"batch": 16, "input": [2], "classes": 0},
    "mlp": {"batch": 128, "input": [784], "classes": 10},
    "cnn": {"batch": 64, "input": [28, 28, 1], "classes": 10},
}
FIRST_STEP_MODEL = "mlp"
SIDES = ("pk_webgpu", "pk_cpu", "tfjs_webgpu", "tfjs_wasm")
SIDE_TITLES = {"pk_webgpu": "pykernel webgpu", "pk_cpu": "pykernel cpu",
               "tfjs_webgpu": "tfjs webgpu", "tfjs_wasm": "tfjs wasm"}

# The pykernel side, run once in the page's Python namespace (names start with __vs_ to stay
# clear of the page's own __pg_ helpers and the user's names). Mirrors bench/tfjs/bench.js.
PK_SETUP = r"""
import math, random, time
import pykernel as tf
from pykernel import keras

__vs_states = {}
__vs_rng = random.Random(0)

def __vs_values(shape, classes=0):
    # nested Python lists: tf.constant uploads them without running (or compiling) a kernel
    if len(shape) == 1:
        if classes:
            return [__vs_rng.randrange(classes) for _ in range(shape[0])]
        return [__vs_rng.uniform(-1.0, 1.0) for _ in range(shape[0])]
    return [__vs_values(shape[1:], classes) for _ in range(shape[0])]

def __vs_build(name):
    L = keras.layers
    if name == "tiny":
        layers = [L.Input((2,)), L.Dense(8, activation="tanh"), L.Dense(8, activation="tanh"),
                  L.Dense(1, activation="sigmoid")]
    elif name == "mlp":
        layers = [L.Input((784,)), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]
    elif name == "cnn":
        layers = [L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                  L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                  L.Dense(10, activation="softmax")]
    else:
        raise ValueError(name)
    model = keras.Sequential(layers)
    loss = "binary_crossentropy" if name == "tiny" else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss=loss)
    return model

def __vs_train_data(spec):
    x = tf.constant(__vs_values([spec["batch"]] + spec["input"]), dtype=tf.float32)
    if spec["classes"]:
        y = tf.constant(__vs_values([spec["batch"]], spec["classes"]), dtype=tf.int32)
    else:
        y = tf.constant(__vs_values([spec["batch"], 1], 2), dtype=tf.float32)
    return x, y

def __vs_train_block(model, x, y):
    def block(n):
        t0 = time.perf_counter()
        for _ in range(n):
            loss = model.train_on_batch(x, y)
        float(loss)
        return time.perf_counter() - t0
    return block

def __vs_matmul_block(size):
    a = tf.constant(__vs_values([size, size]))
    b = tf.constant(__vs_values([size, size]))
    def block(n):
        t0 = time.perf_counter()
        for _ in range(n):
            c = tf.matmul(a, b)
        float(c[0, 0])   # one element read syncs the block
        return time.perf_counter() - t0
    return block

def __vs_measure(name, device, spec, budget_s, max_step_s):
    tf.config.set_device(device)
    key = (name, device)
    entry = __vs_states.get(key)
    if entry is None:
        if name.startswith("matmul"):
            block = __vs_matmul_block(spec["size"])
        else:
            block = __vs_train_block(__vs_build(name), *__vs_train_data(spec))
        entry = {"block": block, "estimate_s": None}
        entry["first_step_s"] = block(1)
        if entry["first_step_s"] > max_step_s:
            entry["skipped"] = f"first step took {entry['first_step_s']:.1f} s"
        else:
            block(2)
            entry["estimate_s"] = block(2) / 2
            if entry["estimate_s"] > max_step_s:
                entry["skipped"] = f"a step takes {entry['estimate_s']:.1f} s"
            entry["n"] = max(3, min(5000, math.ceil(budget_s / entry["estimate_s"])))
        __vs_states[key] = entry
    result = {"device": device, "first_step_s": entry["first_step_s"], "estimate_s": entry["estimate_s"]}
    if "skipped" in entry:
        return {**result, "skipped": entry["skipped"]}
    return {**result, "n": entry["n"], "seconds": entry["block"](entry["n"])}

def __vs_first(name, spec):
    tf.config.set_device("webgpu")
    x, y = __vs_train_data(spec)
    t0 = time.perf_counter()
    model = __vs_build(name)
    float(model.train_on_batch(x, y))
    return {"seconds": time.perf_counter() - t0}

def __vs_info():
    import pykernel, pykernel.playground
    return {"pykernel": getattr(pykernel, "__version__", None), "cpu_kind": pykernel.playground.cpu_kind(),
            "devices": tf.config.list_devices()}
"""


# -- serving ---------------------------------------------------------------------------

def export_commit(rev, into):
    """The files the page and its wheel are built from, as commit `rev` has them (git
    archive: the checkout is not touched). The MNIST file is generated, not committed:
    copied from the checkout so the wheel matches a normal one."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev,
                              "pykernel", "shaders", "web", "setup.py", "pyproject.toml", "README.md"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    mnist = pathlib.Path("pykernel/keras/datasets/data/mnist.bin.gz")
    if (ROOT / mnist).exists():
        (into / mnist).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / mnist, into / mnist)
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


class IsolatedStatic:
    """ASGI wrapper for the bench's own files: cross-origin isolated like server.py's
    responses (the wasm backend's threads need SharedArrayBuffer), but without server.py's
    Content-Security-Policy, which forbids the blob: workers TF.js's wasm threads start."""

    def __init__(self, app):
        import server
        self.app = app
        self.headers = list(server.ISOLATION_HEADERS) + [(b"cache-control", b"no-cache")]

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def serve(source_root, wheel_dir):
    """The playground plus /bench-tfjs/ (bench/tfjs) and /bench-node/ (node_modules/@tensorflow),
    under uvicorn in a thread. Returns (base URL, uvicorn server)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    import server
    from conftest import _free_port

    if not (TFJS_PACKAGES_DIR / "tfjs-backend-wasm").is_dir():
        raise SystemExit("TF.js is not installed: run `npm ci` (or `make setup`); package.json lists it")
    kwargs = {} if source_root is None else {"root": source_root, "wheel_dir": wheel_dir}
    app = Starlette(routes=[
        Mount("/bench-tfjs", IsolatedStatic(StaticFiles(directory=TFJS_PAGE_DIR, html=True))),
        Mount("/bench-node", IsolatedStatic(StaticFiles(directory=TFJS_PACKAGES_DIR))),
        Mount("/", app=server.create_app(**kwargs)),
    ])
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120   # create_app may build the wheel first
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", uv


# -- the two pages ----------------------------------------------------------------------

class PykernelTab:
    """The playground page, ready, with PK_SETUP run in its Python namespace."""

    def __init__(self, context, base_url):
        self.page = context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base_url + "/")
        self.page.wait_for_function("() => window.pykernelApp && window.pykernelApp.state !== 'loading'",
                                    timeout=180_000)
        state = self.page.evaluate("() => pykernelApp.state")
        if state == "fatal":
            raise SystemExit(f"the playground could not start: {self.page.inner_text('body')[:500]}")
        # the page may still run its own Python (the points preview) after ready: a user's
        # Train waits behind it too, but it is not part of what we time
        self.page.wait_for_function("() => pykernelApp.idle()", timeout=60_000)
        self.app = self.page.evaluate("() => ({readyMs: pykernelApp.readyMs, adapter: pykernelApp.adapter,"
                                      " backend: pykernelApp.backend, info: pykernelApp.info})")
        self.python(PK_SETUP + "\nNone")

    def python(self, code):
        self.page.bring_to_front()
        return self.page.evaluate("(code) => pykernelApp.python.run(code)", code)

    def close(self):
        self.page.close()


class TfjsTab:
    def __init__(self, context, base_url):
        self.page = context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        t0 = time.perf_counter()
        self.page.goto(base_url + "/bench-tfjs/")
        self.page.wait_for_function("() => window.tfjsBench !== undefined", timeout=60_000)
        self.load_s = time.perf_counter() - t0

    def call(self, method, *args):
        self.page.bring_to_front()
        return self.page.evaluate(f"(args) => tfjsBench.{method}(...args)", list(args))

    def close(self):
        self.page.close()


# -- measurements -------------------------------------------------------------------------

def model_specs(models, matmul_sizes):
    """[(row name, spec)] in the order asked for; 'matmul' becomes one row per size."""
    rows = []
    for name in models:
        if name == "matmul":
            rows += [(f"matmul{size}", {"size": size}) for size in matmul_sizes]
        elif name in TRAIN_MODELS or name == "first":
            rows.append((name, TRAIN_MODELS.get(name, TRAIN_MODELS[FIRST_STEP_MODEL])))
        else:
            raise SystemExit(f"unknown model {name!r}: choose from tiny, mlp, cnn, matmul, first")
    return rows


def error_text(error):
    """The message of an error thrown in a page: Playwright puts it first, then the JS stack
    ("    at ..."); the page's PythonError carries the Python exception's last line."""
    lines = [line.strip() for line in str(error).strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("at ")]
    text = lines[0] if lines else type(error).__name__
    for prefix in ("Page.evaluate: ", "page.evaluate: ", "Error: "):
        text = text.removeprefix(prefix)
    return text


def guarded(fn):
    """A side that fails is reported (and left out of medians), not fatal to the run."""
    try:
        return fn()
    except Exception as e:   # noqa: BLE001 - any failure in a page is a result here
        return {"error": error_text(e)}


def measure_steady(pk, tfjs, name, spec, budget_s, max_step_s):
    sides = ["pk_webgpu"] + (["pk_cpu"] if name == "tiny" else []) + ["tfjs_webgpu", "tfjs_wasm"]
    results = {}
    for side in sides:
        if side.startswith("pk_"):
            device = side[3:]
            code = f"__vs_measure({name!r}, {device!r}, {json.dumps(spec)}, {budget_s}, {max_step_s})"
            results[side] = guarded(lambda: pk.python(code))
        else:
            backend = side[5:]
            results[side] = guarded(lambda: (tfjs.call("use", backend),
                                             tfjs.call("measure", name, spec, budget_s, max_step_s))[1])
        print(f"  {name:10} {SIDE_TITLES[side]:16} {describe(name, spec, results[side])}", flush=True)
    return results


def measure_first(context, base_url, spec):
    """A new model's first step, each side in a tab of its own, opened for it and closed after."""
    results = {}
    pk = None
    try:
        pk = PykernelTab(context, base_url)
        results["pk_webgpu"] = {**guarded(lambda: pk.python(f"__vs_first({FIRST_STEP_MODEL!r}, {json.dumps(spec)})")),
                                "ready_ms": pk.app["readyMs"]}
    except Exception as e:   # noqa: BLE001
        results["pk_webgpu"] = {"error": error_text(e)}
    finally:
        if pk:
            pk.close()
    for backend in ("webgpu", "wasm"):
        tab = None
        try:
            tab = TfjsTab(context, base_url)
            init = tab.call("use", backend)
            results[f"tfjs_{backend}"] = {**guarded(lambda: tab.call("first", FIRST_STEP_MODEL, spec)),
                                          "page_load_s": tab.load_s, "backend_init_s": init["init_s"]}
        except Exception as e:   # noqa: BLE001
            results[f"tfjs_{backend}"] = {"error": error_text(e)}
        finally:
            if tab:
                tab.close()
    for side, result in results.items():
        print(f"  {'first':10} {SIDE_TITLES[side]:16} {describe('first', spec, result)}", flush=True)
    return results


def metric(name):
    """(label, unit, higher_is_faster) of a row."""
    if name == "tiny":
        return "ms/step", "ms", False
    if name == "first":
        return "first step s", "s", False
    if name.startswith("matmul"):
        return "GFLOP/s", "GFLOP/s", True
    return "samples/s", "samples/s", True


def value_of(name, spec, result):
    """The row's figure from one measurement, or None (skipped, failed)."""
    if result is None or "error" in result or "skipped" in result:
        return None
    if name == "first":
        return result["seconds"]
    n, seconds = result["n"], result["seconds"]
    if name == "tiny":
        return seconds / n * 1000
    if name.startswith("matmul"):
        return n * 2 * spec["size"] ** 3 / seconds / 1e9
    return n * spec["batch"] / seconds


def describe(name, spec, result):
    if "error" in result:
        return f"error: {result['error']}"
    if "skipped" in result:
        return f"n/a ({result['skipped']})"
    value = value_of(name, spec, result)
    extra = f" (n={result['n']}, {result['seconds']:.2f} s, first step {result['first_step_s']:.2f} s)" \
        if "n" in result else ""
    return f"{value:.4g} {metric(name)[1]}{extra}"


# -- the table --------------------------------------------------------------------------

def summarise(rows, rounds):
    """Per row and side: the median over rounds (None where no round has a value)."""
    summary = {}
    for name, spec in rows:
        summary[name] = {}
        for side in SIDES:
            values = [v for r in rounds if (v := value_of(name, spec, r[name].get(side))) is not None]
            summary[name][side] = statistics.median(values) if values else None
    return summary


def speed_ratio(name, pk, peer):
    """pykernel's speed over the peer's: > 1 means pykernel is faster, whatever the metric."""
    if pk is None or peer is None:
        return None
    return pk / peer if metric(name)[2] else peer / pk


def table(rows, summary):
    head = ["model", "metric", *SIDE_TITLES.values(), "pk/tfjs-webgpu", "pk/tfjs-wasm"]
    lines = []
    for name, _ in rows:
        medians = summary[name]
        pk_sides = [s for s in ("pk_webgpu", "pk_cpu") if medians[s] is not None]
        # pykernel's faster device is the one compared (on tiny that is what the page's Auto picks)
        pick = max if metric(name)[2] else min
        best = pick(pk_sides, key=lambda s: medians[s]) if pk_sides else None
        # "-": not measured on that side (pykernel's pure-Python CPU runs only the tiny model)
        cells = [name, metric(name)[0]] + [f"{medians[s]:.4g}" if medians[s] is not None else
                                           ("-" if s == "pk_cpu" and name != "tiny" else "n/a") for s in SIDES]
        for peer in ("tfjs_webgpu", "tfjs_wasm"):
            ratio = speed_ratio(name, medians[best] if best else None, medians[peer])
            tag = f" ({best[3:]})" if ratio is not None and len(pk_sides) > 1 else ""
            cells.append(f"{ratio:.2f}x{tag}" if ratio is not None else "n/a")
        lines.append(cells)
    widths = [max(len(str(c)) for c in column) for column in zip(head, *lines)]
    out = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths)),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) for cells in lines]
    return "\n".join(out)


def first_context(rounds):
    """Medians of what comes before a first step: page ready times (not in the 'first' figure)."""
    def median(values):
        values = [v for v in values if v is not None and not math.isnan(v)]
        return statistics.median(values) if values else math.nan
    firsts = [r["first"] for r in rounds]
    context = {"pk_ready_s": median(f["pk_webgpu"].get("ready_ms", math.nan) / 1000 for f in firsts)}
    for backend in ("webgpu", "wasm"):
        context[f"tfjs_{backend}_ready_s"] = median(
            f[f"tfjs_{backend}"].get("page_load_s", math.nan) + f[f"tfjs_{backend}"].get("backend_init_s", math.nan)
            for f in firsts)
    return context


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default="tiny,mlp,cnn,matmul,first",
                        help="comma-separated, run in this order each round (default %(default)s)")
    parser.add_argument("--matmul-sizes", default="512,1024")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds a timed block lasts, about")
    parser.add_argument("--max-step", type=float, default=30.0,
                        help="seconds: a side whose step takes longer is skipped (n/a)")
    parser.add_argument("--quick", action="store_true", help="1 round, 1 s blocks, matmul 512 only")
    parser.add_argument("--at-commit", default=None, metavar="REV",
                        help="serve pykernel (and the page) as commit REV has them, not the working tree")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: as the browser tests)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.budget, args.matmul_sizes = 1, 1.0, "512"

    from playwright.sync_api import sync_playwright
    from conftest import CHROMIUM_ARGS, chromium_executable

    rows = model_specs([m.strip() for m in args.models.split(",") if m.strip()],
                       [int(s) for s in args.matmul_sizes.split(",") if s.strip()])
    workdir = tempfile.TemporaryDirectory(prefix="vs_tfjs-")
    source_root = wheel_dir = None
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "pykernel", "shaders", "web"],
                                capture_output=True, text=True).stdout.strip())
    if args.at_commit:
        source_root = pathlib.Path(workdir.name) / "src"
        source_root.mkdir()
        wheel_dir = pathlib.Path(workdir.name) / "wheel"
        commit, dirty = export_commit(args.at_commit, source_root), False
        print(f"serving pykernel at {commit[:12]} (building its wheel)", flush=True)
    base_url, uv = serve(source_root, wheel_dir)

    record = {"command": " ".join(["python bench/vs_tfjs.py"] + (sys.argv[1:] if argv is None else list(argv))),
              "pykernel_commit": commit, "pykernel_tree_dirty": dirty, "machine": {
                  "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                  "cpus": os.cpu_count()},
              "settings": {"rounds": args.rounds, "budget_s": args.budget, "max_step_s": args.max_step},
              "specs": dict(rows), "rounds": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium or chromium_executable(), args=CHROMIUM_ARGS)
        record["chromium"] = browser.version
        context = browser.new_context()
        steady = [(name, spec) for name, spec in rows if name != "first"]
        pk = tfjs = None
        if steady:
            pk = PykernelTab(context, base_url)
            record["pykernel_page"] = {**pk.app, **pk.python("__vs_info()")}
        tfjs = TfjsTab(context, base_url)
        tfjs.call("use", "webgpu")
        tfjs.call("use", "wasm")
        record["tfjs_page"] = tfjs.call("info")
        record["tfjs_page"]["webgpu_adapter_from_tfjs"] = tfjs.page.evaluate(
            "async () => { await tf.setBackend('webgpu'); const a = tf.backend().adapterInfo; "
            "return a ? {vendor: a.vendor, architecture: a.architecture} : null; }")
        print(f"Chromium {record['chromium']}; pykernel page: {record.get('pykernel_page', {}).get('adapter')} "
              f"(cpu device: {record.get('pykernel_page', {}).get('cpu_kind')}); TF.js "
              f"{record['tfjs_page']['tfjs']} WebGPU adapter: {record['tfjs_page'].get('adapter')}; wasm "
              f"{record['tfjs_page']['wasm']}", flush=True)
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", flush=True)
            this_round = {}
            for name, spec in rows:
                if name == "first":
                    this_round[name] = measure_first(context, base_url, spec)
                else:
                    this_round[name] = measure_steady(pk, tfjs, name, spec, args.budget, args.max_step)
            record["rounds"].append(this_round)
        record["page_errors"] = {"pykernel": pk.errors if pk else [], "tfjs": tfjs.errors}
        browser.close()
    uv.should_exit = True
    workdir.cleanup()

    record["medians"] = summarise(rows, record["rounds"])
    print()
    print(f"Chromium {record['chromium']}, {record['machine']['cpus']} CPUs; pykernel {commit[:12]}"
          f"{' (+ uncommitted changes)' if dirty else ''}; medians of {args.rounds} round(s); ratios: "
          "pykernel speed / TF.js speed (> 1: pykernel faster; pykernel's faster device where both ran)")
    print(table(rows, record["medians"]))
    if any(name == "first" for name, _ in rows):
        record["first_context"] = first_context(record["rounds"])
        c = record["first_context"]
        print(f"first: time after ready; before it, pykernel's page took {c['pk_ready_s']:.2f} s from navigation to "
              f"ready (Pyodide, wheel, kernel warm-up), TF.js {c['tfjs_webgpu_ready_s']:.2f} s (webgpu) / "
              f"{c['tfjs_wasm_ready_s']:.2f} s (wasm) for page load + tf.setBackend (medians)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
