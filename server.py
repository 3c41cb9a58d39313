"""pykernel's web server: the playground page, the vendored Pyodide runtime, the pykernel
wheel and the WGSL shaders, all from this machine (no internet needed).

    python server.py [--host 127.0.0.1] [--port 8000]

Every response is cross-origin isolated (COOP/COEP), which the page needs for
SharedArrayBuffer: that is how the Stop button interrupts Python running in the worker.
Versioned assets (Pyodide, the wheel by content hash) are cached for a year; the page's
own files are revalidated on every load (ETag), so an edit shows up on reload.
"""
import argparse
import contextlib
import functools
import hashlib
import mimetypes
import pathlib
import subprocess
import sys
import threading

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

ROOT = pathlib.Path(__file__).resolve().parent
WEB_DIR = ROOT / "web"
SHADER_DIR = ROOT / "shaders"
PYODIDE_DIR = ROOT / "node_modules" / "pyodide"
WHEEL_DIR = ROOT / "build" / "wheel"

# Some systems' mime tables lack these; a wrong type for .wasm disables streaming compilation.
for _type, _ext in (("application/wasm", ".wasm"), ("text/javascript", ".mjs"),
                    ("text/javascript", ".js"), ("text/plain", ".wgsl"), ("application/json", ".map")):
    mimetypes.add_type(_type, _ext)

ISOLATION_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
LONG_CACHE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


def pyodide_version(pyodide_dir=PYODIDE_DIR):
    import json
    package = pyodide_dir / "package.json"
    if not package.exists():
        raise FileNotFoundError(f"Pyodide is not installed at {pyodide_dir}: run `make setup` "
                                "(npm ci installs the pinned pyodide package)")
    return json.loads(package.read_text())["version"]


# -- the pykernel wheel ---------------------------------------------------------------

def _sources(root=ROOT):
    yield root / "pyproject.toml"
    yield root / "setup.py"
    yield from (root / "pykernel").rglob("*.py")
    yield from (root / "pykernel").rglob("*.gz")
    yield from (root / "shaders").glob("*.wgsl")


_wheel_lock = threading.Lock()


@contextlib.contextmanager
def _build_lock(root):
    """One build at a time across processes too (setuptools writes into the source tree's
    build/ and *.egg-info; pytest-xdist workers and a running server may all ask)."""
    with _wheel_lock:
        try:
            import fcntl
        except ImportError:   # Windows: threads are serialised, processes are not
            yield
            return
        lock_path = root / "build" / ".wheel-build.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_wheel(root=ROOT, wheel_dir=WHEEL_DIR):
    """The path of an up-to-date pykernel wheel, building it (pip, setuptools) when a
    source file is newer than the wheel. Pyodide installs it offline with unpackArchive."""
    with _build_lock(root):
        wheels = sorted(wheel_dir.glob("pykernel-*-py3-none-any.whl"))
        newest_source = max(p.stat().st_mtime for p in _sources(root) if p.exists())
        if wheels and wheels[-1].stat().st_mtime >= newest_source:
            return wheels[-1]
        for old in wheels:
            old.unlink()
        wheel_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--disable-pip-version-check", "--wheel-dir", str(wheel_dir), str(root)],
            capture_output=True, text=True)
        wheels = sorted(wheel_dir.glob("pykernel-*-py3-none-any.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"building the pykernel wheel failed:\n{result.stdout}\n{result.stderr}")
        return wheels[-1]


def _digest(path):
    stat = path.stat()
    return _digest_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _digest_of(path, mtime_ns, size):   # hashed once per build, not once per request
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# -- the app --------------------------------------------------------------------------

class IsolationAndCaching:
    """ASGI middleware: cross-origin isolation on every response, and a cache policy by
    path (versioned assets forever, everything else revalidated)."""

    def __init__(self, app, long_cache_prefixes):
        self.app = app
        self.long_cache_prefixes = tuple(long_cache_prefixes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cache = LONG_CACHE if scope["path"].startswith(self.long_cache_prefixes) else REVALIDATE

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": headers + ISOLATION_HEADERS + [(b"cache-control", cache)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(root=ROOT, wheel_dir=WHEEL_DIR, pyodide_dir=PYODIDE_DIR):
    version = pyodide_version(pyodide_dir)
    pyodide_prefix = f"/pyodide/{version}"
    ensure_wheel(root, wheel_dir)   # fail at start-up, not on the first page load

    async def runtime(request):
        """What the worker loads: where Pyodide is, and which wheel (content-addressed)."""
        wheel = ensure_wheel(root, wheel_dir)
        return JSONResponse({
            "pyodideIndexURL": f"{pyodide_prefix}/",
            "pyodideVersion": version,
            "wheelURL": f"/wheels/{_digest(wheel)}/{wheel.name}",
        })

    async def wheel_file(request):
        wheel = ensure_wheel(root, wheel_dir)
        if request.path_params["digest"] != _digest(wheel) or request.path_params["name"] != wheel.name:
            return Response(f"no such wheel (current: {wheel.name})", status_code=404)
        return FileResponse(wheel, media_type="application/zip")

    app = Starlette(routes=[
        Route("/runtime.json", runtime),
        Route("/wheels/{digest}/{name}", wheel_file),
        Mount(pyodide_prefix, StaticFiles(directory=pyodide_dir), name="pyodide"),
        Mount("/shaders", StaticFiles(directory=root / "shaders"), name="shaders"),
        Mount("/", StaticFiles(directory=root / "web", html=True), name="web"),   # last: the page
    ])
    return IsolationAndCaching(app, long_cache_prefixes=("/pyodide/", "/wheels/"))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve the pykernel playground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    import uvicorn
    app = create_app()
    print(f"pykernel playground: http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:{args.port}/",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
