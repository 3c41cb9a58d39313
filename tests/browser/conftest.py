"""Fixtures for browser tests: server.py on a free localhost port, and real Chromium with
real WebGPU (SwiftShader when there is no GPU) driven by Playwright.

Chromium: $PYKERNEL_CHROMIUM, else Debian's /usr/bin/chromium (make setup installs it),
else Playwright's own build (`playwright install chromium`, the usual route on a laptop).
Pages load Pyodide (~4 s), so a test module shares one page where it can (`playground`).
Screenshots and console logs of every test go to artifacts/browser/.
Every test here must leave the browser console free of uncaught errors (checked at teardown).
"""
import os
import pathlib
import shutil
import socket
import threading
import time

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (make setup does)")

import server  # noqa: E402  (the repository root is on sys.path under pytest's rootdir conftest)

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--enable-unsafe-webgpu", "--disable-gpu-sandbox",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
READY_TIMEOUT_MS = 120_000


def chromium_executable():
    explicit = os.environ.get("PYKERNEL_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None   # Playwright's bundled Chromium


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def base_url():
    import uvicorn
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(server.create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server.py did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    with playwright_api.sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        except Exception as e:
            pytest.fail(f"cannot launch Chromium ({e}); install it (make setup: apt chromium) or run "
                        "`playwright install chromium`, or set PYKERNEL_CHROMIUM to a Chromium binary")
        yield chromium
        chromium.close()


class ConsoleWatch:
    """Collects a page's console output and uncaught errors."""

    def __init__(self, page):
        self.lines = []
        self.uncaught = []
        page.on("console", lambda m: self.lines.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.uncaught.append(str(e)))

    def errors(self):
        # the browser's own "Failed to load resource" for /favicon.ico is not ours
        console_errors = [l for l in self.lines if l.startswith("[error]") and "favicon" not in l]
        return self.uncaught + console_errors


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    watch = ConsoleWatch(page)
    page.goto(url)
    return context, page, watch


def save_artifacts(page, watch, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception:
        pass
    (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(watch.uncaught + watch.lines))


@pytest.fixture(scope="module")
def playground(browser, base_url, request):
    """The playground page, loaded once per test module and ready to train."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    context, page, watch = open_page(browser, base_url + "/")
    page.wait_for_function("() => window.pykernelApp && window.pykernelApp.state !== 'loading'",
                           timeout=READY_TIMEOUT_MS)
    page.console_watch = watch
    yield page
    save_artifacts(page, watch, name)
    context.close()
    assert not watch.errors(), "browser console had errors:\n" + "\n".join(watch.errors())
