"""Time from navigation to "ready to train" on the playground page, cold and warm.

    python bench/page_load.py [--runs 5] [--chromium /usr/bin/chromium] [--json out.json]

Starts server.py on a free port, opens the page in headless Chromium (real WebGPU) and
reads the page's own measurement, `window.pykernelApp.readyMs` (performance.now() at the
worker's ready message: navigation start is 0), plus the worker's stage timings (ms since
the worker started: Pyodide loaded, wheel installed, GPU opened, pykernel checked on the
device). "cold" runs use a fresh browser context (empty HTTP cache); "warm" runs reload in
one context, so Pyodide and the wheel come from the cache (server.py marks them immutable).
Then the first training step of a small model (every kernel compiled once) is timed too,
since that is when a user first waits again.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

FIRST_STEP = """
import time
from pykernel import keras
(x, y), _ = keras.datasets.playground.load_data("circle", n_samples=64)
net = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(8, activation="tanh"),
                        keras.layers.Dense(1, activation="sigmoid")])
net.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
t0 = time.perf_counter()
float(net.train_on_batch(x[:32], y[:32])[0])
first = time.perf_counter() - t0
t0 = time.perf_counter()
for _ in range(10):
    out = net.train_on_batch(x[:32], y[:32])
float(out[0])
[first * 1000, (time.perf_counter() - t0) * 100]
"""


def measure(page, url):
    page.goto(url)
    page.wait_for_function("() => window.pykernelApp && window.pykernelApp.state !== 'loading'", timeout=180_000)
    app = page.evaluate("({state: pykernelApp.state, readyMs: pykernelApp.readyMs, adapter: pykernelApp.adapter})")
    if app["state"] == "fatal":
        raise SystemExit(f"the page could not start: {page.inner_text('body')[:500]}")
    timings = page.evaluate("pykernelApp.info && pykernelApp.info.timings")
    return {"ready_ms": app["readyMs"], "adapter": app["adapter"], "worker": timings}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: as the browser tests)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import threading
    import uvicorn
    from playwright.sync_api import sync_playwright

    import server
    from conftest import CHROMIUM_ARGS, _free_port, chromium_executable

    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(server.create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=uv.run, daemon=True).start()
    while not uv.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/"

    results = {"cold": [], "warm": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium or chromium_executable(), args=CHROMIUM_ARGS)
        for _ in range(args.runs):
            context = browser.new_context()
            results["cold"].append(measure(context.new_page(), url))
            context.close()
        context = browser.new_context()
        page = context.new_page()
        measure(page, url)   # fill the cache
        for _ in range(args.runs):
            results["warm"].append(measure(page, url))
        first, steady = page.evaluate("(code) => pykernelApp.python.run(code)", FIRST_STEP)
        results["first_step_ms"], results["step_ms"] = first, steady
        results["browser"] = browser.version
        browser.close()
    uv.should_exit = True

    adapter = results["cold"][0]["adapter"]
    print(f"Chromium {results['browser']}, WebGPU adapter: {adapter}, {args.runs} runs each")
    print(f"{'load':6} {'ready ms (median)':>18} {'min':>7} {'max':>7}   worker stages, median ms "
          "(pyodide / wheel / gpu / ready)")
    for kind in ("cold", "warm"):
        ready = [r["ready_ms"] for r in results[kind]]
        stages = {k: statistics.median(r["worker"][k] for r in results[kind] if r["worker"])
                  for k in ("pyodide", "wheel", "gpu", "ready")} if results[kind][0]["worker"] else {}
        print(f"{kind:6} {statistics.median(ready):18.0f} {min(ready):7.0f} {max(ready):7.0f}   "
              + " / ".join(f"{v:.0f}" for v in stages.values()))
    print(f"first train step (Dense 8 -> 1, Adam, batch 32; compiles every kernel): "
          f"{results['first_step_ms']:.0f} ms; later steps {results['step_ms']:.1f} ms each")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
