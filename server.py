"""pykernel's web server: the playground page, the vendored Pyodide runtime, the pykernel
wheel and the WGSL shaders, all from this machine (no internet needed).

    python server.py [--host 127.0.0.1] [--port 8000] [--max-connections N]

Every response is cross-origin isolated (COOP/COEP), which the page needs for
SharedArrayBuffer: that is how the Stop button interrupts Python running in the worker.
Every response also carries `X-Content-Type-Options: nosniff` and a Content-Security-Policy.
Versioned assets (Pyodide, the wheel by content hash) are cached for a year; the page's
own files are revalidated on every load (ETag), so an edit shows up on reload. Error
responses are never cached.

The wheel is rebuilt in a worker thread when a source changes; until the new one is
complete, /runtime.json keeps naming the previous one, and every wheel URL of the last few
builds keeps serving exactly the bytes its SHA-256 names. Each build also records the
WebGPU warm-up's shader sources beside its wheel, which the page compiles while Pyodide
loads (pykernel/backends/webgpu/warmup.py).
"""
import argparse
import contextlib
import hashlib
import json
import logging
import mimetypes
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

ROOT = pathlib.Path(__file__).resolve().parent
WEB_DIR = ROOT / "web"
SHADER_DIR = ROOT / "shaders"
PYODIDE_DIR = ROOT / "node_modules" / "pyodide"
WHEEL_DIR = ROOT / "build" / "wheel"

log = logging.getLogger("pykernel.server")

# Some systems' mime tables lack these; a wrong type for .wasm disables streaming compilation.
for _type, _ext in (("application/wasm", ".wasm"), ("text/javascript", ".mjs"),
                    ("text/javascript", ".js"), ("text/plain", ".wgsl"), ("application/json", ".map")):
    mimetypes.add_type(_type, _ext)

ISOLATION_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# What the page needs, and nothing more: its module scripts, the module Worker and Pyodide
# (pyodide.mjs, pyodide.asm.mjs) all come from this origin; 'wasm-unsafe-eval' lets the
# worker compile pyodide.asm.wasm; fetch() reaches only /runtime.json, the wheel (and its
# warm-up shaders) and Pyodide's files; the favicon is a data: URL; styles come from style.css only (scripts set
# styles through the CSSOM, which CSP allows). Checked in Chromium: the page loads,
# trains and runs Python with no violation in the console.
# frame-ancestors 'self' (with COOP same-origin) keeps other origins from framing the page
# for now; making it embeddable in other origins' iframes is a later change.
_CSP = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
]
# Every response carries the policy, because a worker runs under the policy delivered with
# its own script (worker.js), not the page's: Pyodide and the user's Python run there.
# Nothing evaluates strings as code (tests pass Playwright functions, not expression strings).
CSP = "; ".join(_CSP).encode()
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]
LONG_CACHE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
NO_STORE = b"no-store"
CACHEABLE_FOREVER = frozenset({200, 206, 304})   # a 404 today may be a 200 after a rebuild
_SET_HERE = frozenset({b"cache-control", b"content-security-policy"}
                      | {k for k, _ in ISOLATION_HEADERS + SECURITY_HEADERS})   # replaced, not duplicated


def pyodide_version(pyodide_dir=PYODIDE_DIR):
    package = pyodide_dir / "package.json"
    if not package.exists():
        raise FileNotFoundError(f"Pyodide is not installed at {pyodide_dir}: run `make setup` "
                                "(npm ci installs the pinned pyodide package)")
    return json.loads(package.read_text())["version"]


# -- the pykernel wheel ---------------------------------------------------------------
#
# Layout of wheel_dir (build/wheel/ by default):
#   <sha256 of the wheel>/pykernel-<version>-py3-none-any.whl   one per build, never rewritten
#   current.json      which of them is up to date, and for which state of the sources
#   .lock             held (flock) while checking/building: one build at a time, across processes
#   .build-*/         a build in progress: a private copy of the sources and pip's output
# A build copies the sources into its own directory, so it never writes into the checkout
# (no build/lib or *.egg-info shared with other builds) and builds exactly the state it
# fingerprinted. Only the last KEEP_BUILDS builds are kept: pages that loaded an older
# /runtime.json get a 404 for their wheel and recover on reload.

KEEP_BUILDS = 5
BUILD_TIMEOUT_S = 300
_WHEEL_NAME = re.compile(r"pykernel-[A-Za-z0-9_.+!-]+-py3-none-any\.whl")
_SHA256 = re.compile(r"[0-9a-f]{64}")
WARMUP_SHADERS = "warmup-shaders.json"   # beside each wheel: _record_warmup_shaders
BUILD_FORMAT = 2   # what a build makes (2: the wheel and its warm-up shaders)


def _source_files(root):
    """The files a wheel is built from, relative to root: what a build copies and what the
    freshness check stats. Dotfiles (editor swap files), caches and half-written *.tmp files
    are left out: they are not part of the package, and must not trigger rebuilds."""
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (root / name).is_file():
            yield pathlib.PurePath(name)
    for top in ("pykernel", "shaders"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith(".") and not name.endswith((".pyc", ".tmp")):
                    yield pathlib.Path(dirpath, name).relative_to(root)


def _fingerprint(root):
    """Names, sizes and mtimes of every source: any edit, addition or deletion changes it."""
    digest = hashlib.sha256()
    for rel in _source_files(root):
        try:
            stat = (root / rel).stat()
        except FileNotFoundError:   # deleted while we walk: the next check sees the new state
            continue
        digest.update(f"{rel.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _recorded_wheel(wheel_dir, fingerprint):
    """The wheel current.json names, if it was built from sources in this exact state (by
    this build: one of a build that did not record warm-up shaders is made again)."""
    try:
        record = json.loads((wheel_dir / "current.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if record.get("sources") != fingerprint or record.get("build") != BUILD_FORMAT:
        return None
    sha, name = record.get("sha256", ""), record.get("name", "")
    if not (_SHA256.fullmatch(sha) and _WHEEL_NAME.fullmatch(name)):
        return None
    wheel = wheel_dir / sha / name
    return wheel if wheel.is_file() else None


_thread_lock = threading.Lock()


@contextlib.contextmanager
def _build_lock(wheel_dir):
    """One check-and-build at a time: across this process's threads, and across processes
    sharing wheel_dir (pytest-xdist workers, two servers, `make setup` beside a server)."""
    with _thread_lock:
        wheel_dir.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:   # Windows: threads are serialised, processes are not
            yield
            return
        with open(wheel_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # released by close, or by the kernel if we die
            yield


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)   # mkstemp makes it private; the rest of build/ is not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _build(root, wheel_dir):
    """Build a wheel from a private copy of the sources; store it under its SHA-256."""
    staging = pathlib.Path(tempfile.mkdtemp(dir=wheel_dir, prefix=".build-"))
    try:
        src, out = staging / "src", staging / "out"
        for rel in _source_files(root):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):   # deleted meanwhile: fingerprint differs
                shutil.copy2(root / rel, src / rel)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--disable-pip-version-check", "--wheel-dir", str(out), str(src)],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        built = [p for p in out.glob("*.whl") if _WHEEL_NAME.fullmatch(p.name)]
        if result.returncode != 0 or len(built) != 1:
            raise RuntimeError(f"building the pykernel wheel failed:\n{result.stdout}\n{result.stderr}")
        shaders = _record_warmup_shaders(src, staging)
        sha = _sha256_file(built[0])
        final = wheel_dir / sha / built[0].name
        final.parent.mkdir(exist_ok=True)
        if shaders:   # in place before the wheel: a wheel that can be seen has its shaders
            os.replace(shaders, final.parent / WARMUP_SHADERS)
        if final.exists():   # the same bytes were built before: keep that file, mark it newest
            os.utime(final)
        else:                # rename within one filesystem: readers see all of it or nothing
            os.replace(built[0], final)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _record_warmup_shaders(src, staging):
    """The WebGPU warm-up's shader sources for these sources (pykernel.backends.webgpu.warmup:
    the page compiles them while Pyodide loads), or None if recording them failed: the page
    then compiles them when Python asks, as it would without the file."""
    out = staging / WARMUP_SHADERS
    result = subprocess.run(
        [sys.executable, "-m", "pykernel.backends.webgpu.warmup", "--shaders", str(out)],
        cwd=src, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True,
        timeout=BUILD_TIMEOUT_S)
    if result.returncode != 0 or not out.is_file():
        log.warning("recording the WebGPU warm-up shaders failed (the page compiles them later):\n%s",
                    result.stderr[-2000:])
        return None
    return out


def _prune(wheel_dir, keep, newest):
    """Under the build lock: drop builds older than the newest `keep` (never `newest`, the
    one just recorded, whatever the mtimes say), and staging directories of builds that
    died (no build can be running while we hold the lock)."""
    builds = []
    for entry in wheel_dir.iterdir():
        if entry.name.startswith(".build-") and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif _SHA256.fullmatch(entry.name) and entry.is_dir():
            wheels = list(entry.glob("*.whl"))
            builds.append((max((w.stat().st_mtime for w in wheels), default=0), entry))
    for _, entry in sorted(builds, reverse=True)[keep:]:
        if entry != newest:
            shutil.rmtree(entry, ignore_errors=True)


def ensure_wheel(root=ROOT, wheel_dir=WHEEL_DIR):
    """The path of a pykernel wheel built from the sources as they are now, building it
    (pip, setuptools) when they changed. Pyodide installs it offline with unpackArchive.
    The path is wheel_dir/<sha256 of its bytes>/<wheel name>; the file never changes."""
    root, wheel_dir = pathlib.Path(root), pathlib.Path(wheel_dir)
    wheel = _recorded_wheel(wheel_dir, _fingerprint(root))   # the common case: no lock needed
    if wheel:
        return wheel
    with _build_lock(wheel_dir):
        fingerprint = _fingerprint(root)   # taken before copying: an edit during the build
        wheel = _recorded_wheel(wheel_dir, fingerprint)   # makes the next check rebuild
        if wheel:              # another process built it while we waited for the lock
            return wheel
        wheel = _build(root, wheel_dir)
        _write_atomically(wheel_dir / "current.json", json.dumps(
            {"sources": fingerprint, "sha256": wheel.parent.name, "name": wheel.name, "build": BUILD_FORMAT}))
        _prune(wheel_dir, KEEP_BUILDS, newest=wheel.parent)
        return wheel


class WheelServer:
    """The wheel an app announces: always a complete one. A freshness check (and, when a
    source changed, a rebuild) runs in one background thread at a time, never on the event
    loop; requests meanwhile get the previous wheel at once."""

    CHECK_INTERVAL_S = 0.25   # under a stream of requests, stat the sources at most this often

    def __init__(self, root, wheel_dir):
        self.root, self.wheel_dir = pathlib.Path(root), pathlib.Path(wheel_dir)
        self.current = ensure_wheel(self.root, self.wheel_dir)   # fail at start-up, not on a page load
        self._lock = threading.Lock()
        self._worker = None
        self._last_check = time.monotonic()
        self._failed = None   # sources whose build failed: not retried until they change

    def latest(self):
        """The newest complete wheel (never waits); starts a background refresh when due."""
        with self._lock:
            now = time.monotonic()
            idle = self._worker is None or not self._worker.is_alive()
            if idle and now - self._last_check >= self.CHECK_INTERVAL_S:
                self._last_check = now
                self._worker = threading.Thread(target=self._refresh, name="pykernel-wheel", daemon=True)
                self._worker.start()
        return self.current

    def _refresh(self):
        fingerprint = None
        try:
            fingerprint = _fingerprint(self.root)
            if fingerprint == self._failed:
                return
            self.current = ensure_wheel(self.root, self.wheel_dir)
        except Exception:
            self._failed = fingerprint
            log.exception("rebuilding the pykernel wheel failed; still serving %s", self.current)

    def path(self, digest, name):
        """The stored wheel with these bytes, or None. Any of the kept builds is served, so a
        page that loaded /runtime.json just before a rebuild still gets its wheel."""
        if not (_SHA256.fullmatch(digest) and _WHEEL_NAME.fullmatch(name)):
            return None
        wheel = self.wheel_dir / digest / name
        return wheel if wheel.is_file() else None

    def shaders(self, digest):
        """The warm-up shaders recorded beside the wheel with these bytes, or None."""
        if not _SHA256.fullmatch(digest):
            return None
        shaders = self.wheel_dir / digest / WARMUP_SHADERS
        return shaders if shaders.is_file() else None


# -- the app --------------------------------------------------------------------------

class HeaderPolicy:
    """ASGI middleware: cross-origin isolation and the security headers on every response,
    and a cache policy: versioned assets that were found are cached forever, errors never
    (a 404 or 500 cached as immutable would outlive the fault for a year), the rest is
    revalidated."""

    def __init__(self, app, long_cache_prefixes):
        self.app = app
        self.long_cache_prefixes = tuple(long_cache_prefixes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        versioned = scope["path"].startswith(self.long_cache_prefixes)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status = message["status"]
                if status >= 400:
                    cache = NO_STORE
                elif versioned and status in CACHEABLE_FOREVER:
                    cache = LONG_CACHE
                else:
                    cache = REVALIDATE
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SET_HERE]
                message = {**message, "headers": headers + ISOLATION_HEADERS + SECURITY_HEADERS + [
                    (b"content-security-policy", CSP), (b"cache-control", cache)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(root=ROOT, wheel_dir=WHEEL_DIR, pyodide_dir=PYODIDE_DIR):
    root, wheel_dir, pyodide_dir = pathlib.Path(root), pathlib.Path(wheel_dir), pathlib.Path(pyodide_dir)
    version = pyodide_version(pyodide_dir)
    pyodide_prefix = f"/pyodide/{version}"
    wheels = WheelServer(root, wheel_dir)

    async def runtime(request):
        """What the worker loads: where Pyodide is, and which wheel (content-addressed)."""
        wheel = wheels.latest()
        manifest = {
            "pyodideIndexURL": f"{pyodide_prefix}/",
            "pyodideVersion": version,
            "wheelURL": f"/wheels/{wheel.parent.name}/{wheel.name}",
        }
        if (wheel.parent / WARMUP_SHADERS).is_file():
            manifest["warmupShadersURL"] = f"/wheels/{wheel.parent.name}/{WARMUP_SHADERS}"
        return JSONResponse(manifest)

    async def wheel_file(request):
        digest, name = request.path_params["digest"], request.path_params["name"]
        if name == WARMUP_SHADERS:
            shaders = wheels.shaders(digest)
            if shaders is None:
                return Response("no warm-up shaders for this wheel", status_code=404)
            return FileResponse(shaders, media_type="application/json")
        wheel = wheels.path(digest, name)
        if wheel is None:
            return Response("no such wheel (/runtime.json names the current one)", status_code=404)
        return FileResponse(wheel, media_type="application/zip")

    app = Starlette(routes=[
        Route("/runtime.json", runtime),
        Route("/wheels/{digest}/{name}", wheel_file),
        Mount(pyodide_prefix, StaticFiles(directory=pyodide_dir), name="pyodide"),
        Mount("/shaders", StaticFiles(directory=root / "shaders"), name="shaders"),
        Mount("/", StaticFiles(directory=root / "web", html=True), name="web"),   # last: the page
    ])
    middleware = HeaderPolicy(app, long_cache_prefixes=("/pyodide/", "/wheels/"))
    middleware.wheels = wheels   # for tests and tools: which wheel is announced
    return middleware


# -- connection limits ----------------------------------------------------------------
#
# uvicorn on its own keeps a connection that never sends a request (or sends half a
# header, or never reads its response) forever: its keep-alive timer runs only after a
# response, and any byte received cancels it. 300 such sockets exhausted a 256-fd limit.
# Its limit_concurrency answers requests with 503 past N connections but still accepts and
# holds every socket, so it bounds no file descriptors. The protocol below adds what is
# missing (see server_config for the numbers).

def default_max_connections():
    """Half of what the fd limit leaves after a reserve: a connection may hold a socket and
    a file it is sending; the reserve covers the listening socket, the event loop, the
    build lock and pip's pipes."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 500
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, (soft - 64) // 2))


def _guarded_h11_protocol(head_timeout, send_timeout, max_connections):
    """A subclass of uvicorn's h11 protocol with three limits:
    - max_connections: a connection beyond it is closed as soon as it is accepted;
    - head_timeout: from accepting a connection, and from the end of each response, the
      client has this long to deliver a complete request head, however it trickles the
      bytes (slowloris); an idle keep-alive connection goes sooner (timeout_keep_alive);
    - send_timeout: a response whose bytes the client stops reading (the write buffer stays
      over its high-water mark this long) is aborted."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _head_timer = _send_timer = None

        def connection_made(self, transport):
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._arm_head_timer()

        def connection_lost(self, exc):
            self._cancel_timers()
            super().connection_lost(exc)

        def handle_events(self):
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:   # a complete request head arrived
                self._cancel_head_timer()

        def on_response_complete(self):
            if not self.transport.is_closing():
                self._arm_head_timer()   # before super(): it may parse a pipelined request
            super().on_response_complete()

        def pause_writing(self):
            super().pause_writing()
            if self._send_timer is None:
                self._send_timer = self.loop.call_later(send_timeout, self._send_timed_out)

        def resume_writing(self):
            super().resume_writing()
            if self._send_timer is not None:
                self._send_timer.cancel()
                self._send_timer = None

        def _arm_head_timer(self):
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _cancel_head_timer(self):
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _cancel_timers(self):
            self._cancel_head_timer()
            if self._send_timer is not None:
                self._send_timer.cancel()
                self._send_timer = None

        def _head_timed_out(self):
            self._head_timer = None
            if not self.transport.is_closing() and self.conn.our_state in (h11.IDLE, h11.DONE):
                self.transport.close()

        def _send_timed_out(self):
            self._send_timer = None
            self.transport.abort()   # close() would wait for the buffer to drain: never

    return GuardedH11Protocol


def server_config(app, host="127.0.0.1", port=8000, *, max_connections=None, keep_alive_timeout=5.0,
                  head_timeout=10.0, send_timeout=30.0, log_level="warning"):
    """The uvicorn.Config main() serves with (tests use it too, with shorter timeouts)."""
    import uvicorn
    protocol = _guarded_h11_protocol(head_timeout=head_timeout, send_timeout=send_timeout,
                                     max_connections=max_connections or default_max_connections())
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level,
        http=protocol,                          # always h11 (httptools would bypass the guards)
        ws="none",                              # the app has no websockets: no other protocol class
        timeout_keep_alive=keep_alive_timeout,  # idle between requests (uvicorn's own timer)
        h11_max_incomplete_event_size=16 * 1024,   # a request head larger than this is a 400
        server_header=False,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve the pykernel playground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-connections", type=int, default=default_max_connections(),
                        help="open connections at most; more are closed on accept (default: from the fd limit, %(default)s)")
    parser.add_argument("--keep-alive-timeout", type=float, default=5.0,
                        help="seconds an idle connection stays open after a response (default %(default)s)")
    parser.add_argument("--head-timeout", type=float, default=10.0,
                        help="seconds a client has to send a complete request head (default %(default)s)")
    args = parser.parse_args(argv)
    import uvicorn
    logging.basicConfig(level=logging.WARNING)
    app = create_app()
    print(f"pykernel playground: http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:{args.port}/",
          flush=True)
    uvicorn.Server(server_config(app, args.host, args.port, max_connections=args.max_connections,
                                 keep_alive_timeout=args.keep_alive_timeout,
                                 head_timeout=args.head_timeout)).run()


if __name__ == "__main__":
    main()
