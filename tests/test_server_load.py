"""server.py under real sockets: a wheel rebuild under load (32 clients, a source edit
mid-run), and the connection limits (idle, slow and excess connections are closed)."""
import contextlib
import hashlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("uvicorn")

import server  # noqa: E402

from checkout import REPO, source_copy  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(conn, path):
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


@contextlib.contextmanager
def server_process(root, wheel_dir):
    """server.py's app in its own process (as in production): the clients' threads here
    then cannot slow its event loop down by holding this process's GIL."""
    port = free_port()
    code = ("import pathlib, sys, server, uvicorn\n"
            "app = server.create_app(root=pathlib.Path(sys.argv[1]), wheel_dir=pathlib.Path(sys.argv[2]))\n"
            "uvicorn.Server(server.server_config(app, '127.0.0.1', int(sys.argv[3]))).run()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), str(wheel_dir), str(port)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "server.py exited"
            try:
                if get(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server.py did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wheel_rebuild_under_load_serves_no_error_and_no_wrong_bytes(tmp_path):
    """32 clients load /runtime.json, its wheel and the page, over and over; a source is
    edited mid-run. No request may fail, every wheel URL must always serve the bytes whose
    SHA-256 it names, a new wheel must appear, and the page must stay fast while the
    rebuild runs (it takes over a second: a build on the event loop would stall it)."""
    root = source_copy(tmp_path / "src")
    failures, downloads, page_latency = [], [], []   # list.append is atomic: shared by the threads
    stop = threading.Event()

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            try:
                status, body = get(conn, "/runtime.json")
                if status != 200:
                    failures.append(("/runtime.json", status))
                    continue
                url = json.loads(body)["wheelURL"]
                status, wheel = get(conn, url)
                if status != 200:
                    failures.append((url, status))
                else:
                    downloads.append((url, hashlib.sha256(wheel).hexdigest()))
                started = time.monotonic()
                status, _ = get(conn, "/")
                page_latency.append((started, time.monotonic() - started))
                if status != 200:
                    failures.append(("/", status))
            except (OSError, http.client.HTTPException) as e:
                failures.append(("connection", repr(e)))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            time.sleep(0.05)
        conn.close()

    with server_process(root, tmp_path / "wheel") as port:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        first_url = json.loads(get(probe, "/runtime.json")[1])["wheelURL"]
        threads = [threading.Thread(target=client, args=(port,)) for _ in range(32)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            init = root / "pykernel" / "__init__.py"
            init.write_text(init.read_text() + "\n# edited while 32 clients load the page\n")
            edited = time.monotonic()
            deadline = edited + 120
            while (url := json.loads(get(probe, "/runtime.json")[1])["wheelURL"]) == first_url:
                assert time.monotonic() < deadline, "no new wheel after the edit"
                time.sleep(0.05)
            rebuilt = time.monotonic()
            time.sleep(1.0)   # keep loading the new wheel for a while
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        old_status, old_bytes = get(probe, first_url)   # a page holding the old URL still works

    assert not failures, failures[:10]
    assert old_status == 200 and hashlib.sha256(old_bytes).hexdigest() == first_url.split("/")[-2]
    urls = {u for u, _ in downloads}
    assert {first_url, url} <= urls, "the clients did not load both wheels"
    wrong = [(u, sha) for u, sha in downloads if u.split("/")[-2] != sha]
    assert not wrong, wrong[:5]
    # every request for the page that was in flight while the rebuild ran
    during = [latency for started, latency in page_latency if started <= rebuilt and started + latency >= edited]
    before = [latency for started, latency in page_latency if started + latency < edited]
    assert len(during) >= 10, (len(during), rebuilt - edited)
    print(f"\nrebuild took {rebuilt - edited:.2f} s; GET / max latency: {max(before):.3f} s before, "
          f"{max(during):.3f} s during ({len(during)} requests); {len(downloads)} wheel downloads")
    assert max(during) < 1.0


# -- connection limits ----------------------------------------------------------------

KEEP_ALIVE_S, HEAD_TIMEOUT_S, SEND_TIMEOUT_S, MAX_CONNECTIONS = 0.5, 2.0, 1.5, 8


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """The real app behind server_config's protocol, with short timeouts, in a thread."""
    import uvicorn
    app = server.create_app(wheel_dir=tmp_path_factory.mktemp("wheel"))
    port = free_port()
    uv = uvicorn.Server(server.server_config(
        app, "127.0.0.1", port, max_connections=MAX_CONNECTIONS, keep_alive_timeout=KEEP_ALIVE_S,
        head_timeout=HEAD_TIMEOUT_S, send_timeout=SEND_TIMEOUT_S))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    uv.port = port
    yield uv
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def server_quiet(limited):
    """Wait until connections of earlier tests are gone: the limits count them."""
    deadline = time.monotonic() + 5
    while limited.server_state.connections:
        assert time.monotonic() < deadline, "connections of an earlier test are still open"
        time.sleep(0.05)
    return limited


def connect(port, **sockopts):
    s = socket.socket()
    for opt, value in sockopts.items():
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, opt), value)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_server(sock, within):
    """Seconds until the server closed sock (EOF or reset), or None if it is still open.
    Whatever the server sends before closing is read and ignored."""
    started = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - started < within:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except ConnectionError:
            return time.monotonic() - started
    return None


def test_connections_that_send_nothing_are_closed(server_quiet):
    sockets = [connect(server_quiet.port) for _ in range(MAX_CONNECTIONS - 2)]
    try:
        started = time.monotonic()
        times = [closed_by_server(s, within=HEAD_TIMEOUT_S + 3 - (time.monotonic() - started)) for s in sockets]
        assert None not in times, times
        assert time.monotonic() - started >= HEAD_TIMEOUT_S * 0.8   # by the timer, not at once
    finally:
        for s in sockets:
            s.close()


def test_a_trickled_request_head_is_cut_off(server_quiet):
    """Slowloris: a byte of header now and then must not keep a connection forever."""
    with connect(server_quiet.port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        closed = None
        while closed is None and time.monotonic() - started < HEAD_TIMEOUT_S + 3:
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            closed = closed_by_server(s, within=0.3)
        elapsed = time.monotonic() - started
        assert elapsed < HEAD_TIMEOUT_S + 2, f"still open after {elapsed:.1f} s of trickling"


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(server_quiet):
    conn = http.client.HTTPConnection("127.0.0.1", server_quiet.port, timeout=5)
    assert get(conn, "/")[0] == 200
    assert get(conn, "/runtime.json")[0] == 200   # kept alive between requests
    elapsed = closed_by_server(conn.sock, within=HEAD_TIMEOUT_S + 3)
    assert elapsed is not None and elapsed < KEEP_ALIVE_S + 1.0, elapsed
    conn.close()


def test_connections_beyond_the_limit_are_closed_at_once(server_quiet):
    held = [connect(server_quiet.port) for _ in range(MAX_CONNECTIONS)]
    try:
        deadline = time.monotonic() + 2
        while len(server_quiet.server_state.connections) < MAX_CONNECTIONS:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with connect(server_quiet.port) as extra:
            elapsed = closed_by_server(extra, within=1.0)
            assert elapsed is not None and elapsed < HEAD_TIMEOUT_S / 2, elapsed
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 5
    while server_quiet.server_state.connections:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert get(http.client.HTTPConnection("127.0.0.1", server_quiet.port, timeout=5), "/")[0] == 200


def test_a_client_that_stops_reading_is_dropped(server_quiet):
    """A 9.6 MB response to a client that reads nothing: aborted after send_timeout
    instead of holding the connection (and the open file) forever."""
    version = server.pyodide_version()
    with connect(server_quiet.port, SO_RCVBUF=4096) as s:
        s.sendall(f"GET /pyodide/{version}/pyodide.asm.wasm HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        time.sleep(SEND_TIMEOUT_S + 2.0)
        received = bytearray()
        s.settimeout(5)
        try:
            while chunk := s.recv(1 << 20):
                received += chunk
        except (ConnectionError, socket.timeout):
            pass
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    size = (server.PYODIDE_DIR / "pyodide.asm.wasm").stat().st_size
    assert len(body) < size, "the whole file was sent to a client that did not read"


def test_a_file_descriptor_limit_is_not_exhausted_by_idle_sockets(tmp_path):
    """The filed case: 300 idle sockets against a server with a 256-fd limit. Idle and
    excess connections are closed, so a real request still gets through."""
    import resource
    wheel_dir = tmp_path / "wheel"
    server.ensure_wheel(wheel_dir=wheel_dir)   # the server's process then need not build
    port = free_port()
    code = ("import pathlib, resource, sys, server, uvicorn\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
            "app = server.create_app(wheel_dir=pathlib.Path(sys.argv[1]))\n"
            "uvicorn.Server(server.server_config(app, '127.0.0.1', int(sys.argv[2]), head_timeout=2)).run()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(wheel_dir), str(port)], cwd=REPO)
    sockets = []
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert soft > 300 + 64, "this test needs more file descriptors for its own sockets"
        sockets = [connect(port) for _ in range(300)]
        time.sleep(2 + 1.5)   # the head timeout has closed the idle connections the server kept
        status, _ = get(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "/")
        assert status == 200
        assert proc.poll() is None
    finally:
        for s in sockets:
            s.close()
        proc.terminate()
        proc.wait(timeout=10)
