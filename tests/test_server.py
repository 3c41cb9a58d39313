"""server.py over HTTP (Starlette's TestClient): what the page needs to load offline, the
headers every response carries, and how the wheel is built, stored and rebuilt.
Under real sockets and load: tests/test_server_load.py."""
import hashlib
import io
import json
import subprocess
import sys
import time
import zipfile

import pytest

starlette_testclient = pytest.importorskip("starlette.testclient")

import server  # noqa: E402

from checkout import REPO, source_copy  # noqa: E402


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    wheel_dir = tmp_path_factory.mktemp("wheel")
    app = server.create_app(wheel_dir=wheel_dir)
    with starlette_testclient.TestClient(app) as client:
        client.wheel_dir = wheel_dir
        yield client


def _isolated(response):
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-embedder-policy"] == "require-corp"


def _secured(response):
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "'wasm-unsafe-eval'" in csp and "object-src 'none'" in csp
    # no eval anywhere: the page, and worker.js above all (Pyodide and the user's Python run
    # under the policy of the worker's own script)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_page_is_served_cross_origin_isolated_and_revalidated(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    _isolated(page)
    _secured(page)
    assert page.headers["cache-control"] == "no-cache"
    for script in ("/worker.js", "/python.js", "/gpu_runtime.js"):
        response = client.get(script)
        assert response.status_code == 200, script
        assert response.headers["content-type"].startswith("text/javascript"), script
        _isolated(response)
        _secured(response)   # worker.js: a worker runs under the policy of its own script


def test_runtime_manifest_points_at_pyodide_and_the_wheel(client):
    runtime = client.get("/runtime.json").json()
    assert runtime["pyodideVersion"] == server.pyodide_version()
    wasm = client.get(runtime["pyodideIndexURL"] + "pyodide.asm.wasm")
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"
    assert wasm.headers["cache-control"] == "public, max-age=31536000, immutable"
    _isolated(wasm)
    _secured(wasm)
    for name in ("pyodide.mjs", "python_stdlib.zip", "pyodide-lock.json"):
        assert client.get(runtime["pyodideIndexURL"] + name).status_code == 200, name


def test_wheel_is_pure_python_and_carries_shaders_and_data(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    response = client.get(url)
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    _isolated(response)
    _secured(response)
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert url.endswith("-py3-none-any.whl")
    assert "pykernel/__init__.py" in names and "pykernel/playground.py" in names
    shaders = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("pykernel/backends/webgpu/shaders/"))
    assert shaders == sorted(p.name for p in server.SHADER_DIR.glob("*.wgsl"))
    assert "pykernel/keras/datasets/data/mnist.bin.gz" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]


def test_wheel_url_names_the_sha256_of_the_bytes_it_serves(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    digest = url.split("/")[-2]
    assert len(digest) == 64
    assert sha256(client.get(url).content) == digest


def test_the_warmup_shaders_are_served_beside_the_wheel(client):
    """What the page compiles while Pyodide loads (web/worker.js): the WebGPU warm-up's
    shader sources, recorded at build time for this wheel, cached like it."""
    runtime = client.get("/runtime.json").json()
    digest = runtime["wheelURL"].split("/")[-2]
    assert runtime["warmupShadersURL"] == f"/wheels/{digest}/{server.WARMUP_SHADERS}"
    response = client.get(runtime["warmupShadersURL"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert "immutable" in response.headers["cache-control"]
    _isolated(response)
    recorded = response.json()
    assert recorded["limits"] == {"maxStorageBuffersPerShaderStage": 10}
    shaders = recorded["shaders"]
    assert len(shaders) >= 40 and all("@compute" in s["code"] and s["entryPoint"] == "main" for s in shaders)
    assert len({s["code"] for s in shaders}) == len(shaders)
    for bad in (f"/wheels/{'0' * 64}/{server.WARMUP_SHADERS}", f"/wheels/{digest[:16]}/{server.WARMUP_SHADERS}"):
        assert client.get(bad).status_code == 404, bad


def test_a_stale_wheel_url_is_not_found_and_not_cached(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    digest, name = url.split("/")[-2:]
    for bad in (f"/wheels/{'0' * 64}/{name}", f"/wheels/{digest}/other.whl",
                f"/wheels/{digest[:16]}/{name}", f"/wheels/..%2f..%2fserver.py/{name}"):
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert response.headers["cache-control"] == "no-store", bad


def test_error_responses_under_versioned_prefixes_are_never_immutable(client):
    prefix = client.get("/runtime.json").json()["pyodideIndexURL"]
    wheel = client.get("/runtime.json").json()["wheelURL"]
    responses = {
        "404 pyodide": client.get(prefix + "no-such-file.mjs"),
        "404 other pyodide version": client.get("/pyodide/0.0.1/pyodide.mjs"),
        "405 pyodide": client.post(prefix + "pyodide.mjs"),
        "405 wheel": client.post(wheel),
        "404 page": client.get("/no-such-file.js"),
    }
    for what, response in responses.items():
        assert response.status_code == int(what[:3]), what
        assert response.headers["cache-control"] == "no-store", what
        _isolated(response)
        _secured(response)


def test_a_server_error_is_not_cached(client):
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def broken(request):
        raise RuntimeError("boom")

    app = server.HeaderPolicy(Starlette(routes=[Route("/wheels/{x}", broken)]), long_cache_prefixes=("/wheels/",))
    with starlette_testclient.TestClient(app, raise_server_exceptions=False) as broken_client:
        response = broken_client.get("/wheels/x")
    assert response.status_code == 500
    assert response.headers["cache-control"] == "no-store"
    _secured(response)


def test_a_range_request_for_the_wheel_is_cacheable(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    response = client.get(url, headers={"range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == b"PK\x03\x04"
    assert "immutable" in response.headers["cache-control"]


def test_shaders_are_served_as_text(client):
    response = client.get("/shaders/matmul.wgsl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "@compute" in response.text
    _secured(response)


def test_unknown_paths_are_404_and_no_directory_escape(client):
    assert client.get("/no-such-file.js").status_code == 404
    assert client.get("/../server.py").status_code == 404
    assert client.get("/shaders/../server.py").status_code == 404


def test_missing_pyodide_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make setup"):
        server.create_app(pyodide_dir=tmp_path)


# -- building and storing the wheel ---------------------------------------------------

def test_a_source_edit_builds_a_new_wheel_and_keeps_the_old_one(tmp_path):
    root, wheel_dir = source_copy(tmp_path / "src"), tmp_path / "wheel"
    first = server.ensure_wheel(root, wheel_dir)
    first_bytes = first.read_bytes()
    assert first.parent.name == sha256(first_bytes)   # stored under the SHA-256 of its bytes
    assert server.ensure_wheel(root, wheel_dir) == first   # fresh: not rebuilt
    init = root / "pykernel" / "__init__.py"
    init.write_text(init.read_text() + "\nBUILD_MARK = 1\n")
    second = server.ensure_wheel(root, wheel_dir)
    assert second != first and second.parent.name == sha256(second.read_bytes())
    assert b"BUILD_MARK = 1" in zipfile.ZipFile(second).read("pykernel/__init__.py")
    assert first.read_bytes() == first_bytes   # the previous build is untouched
    assert not list(wheel_dir.glob(".build-*"))   # no staging left behind
    assert not (root / "build").exists()   # built in a private copy, not in the source tree
    (root / "pykernel" / "__init__.py").unlink()   # a deletion is a change too
    third = server.ensure_wheel(root, wheel_dir)
    assert "pykernel/__init__.py" not in zipfile.ZipFile(third).namelist()


def test_only_the_last_few_builds_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "KEEP_BUILDS", 2)
    root, wheel_dir = source_copy(tmp_path / "src"), tmp_path / "wheel"
    init = root / "pykernel" / "__init__.py"
    wheels = []
    for i in range(3):
        init.write_text(init.read_text() + f"\nGENERATION = {i}\n")
        wheels.append(server.ensure_wheel(root, wheel_dir))
    assert [w.exists() for w in wheels] == [False, True, True]


def test_two_processes_on_one_checkout_share_one_build(tmp_path):
    root, wheel_dir = source_copy(tmp_path / "src"), tmp_path / "wheel"
    code = "import sys, server; print(server.ensure_wheel(sys.argv[1], sys.argv[2]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), str(wheel_dir)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 1   # the second waited for the lock, then found the first's wheel
    assert [str(w) for w in wheel_dir.glob("*/*.whl")] == list(paths)   # built once
    assert not list(wheel_dir.glob(".build-*"))


def test_a_failed_rebuild_keeps_serving_the_previous_wheel(tmp_path):
    root, wheel_dir = source_copy(tmp_path / "src"), tmp_path / "wheel"
    app = server.create_app(root=root, wheel_dir=wheel_dir)
    setup_py = root / "setup.py"
    good_setup = setup_py.read_text()
    with starlette_testclient.TestClient(app) as client:
        url = client.get("/runtime.json").json()["wheelURL"]
        setup_py.write_text("raise SystemExit('broken on purpose')\n")
        deadline = time.monotonic() + 60
        while app.wheels._failed is None:   # the background rebuild ran and failed
            assert time.monotonic() < deadline, "the rebuild never ran"
            assert client.get("/runtime.json").json()["wheelURL"] == url
            time.sleep(0.1)
        runtime = client.get("/runtime.json")
        assert runtime.status_code == 200 and runtime.json()["wheelURL"] == url
        assert sha256(client.get(url).content) == url.split("/")[-2]
        setup_py.write_text(good_setup)   # fixed: the next check builds again
        while (new_url := client.get("/runtime.json").json()["wheelURL"]) == url:
            assert time.monotonic() < deadline, "no rebuild after the fix"
            time.sleep(0.1)
        assert client.get(new_url).status_code == 200
        assert client.get(url).status_code == 200   # the old URL still works


def test_runtime_json_does_not_wait_for_a_rebuild(tmp_path):
    root, wheel_dir = source_copy(tmp_path / "src"), tmp_path / "wheel"
    app = server.create_app(root=root, wheel_dir=wheel_dir)
    with starlette_testclient.TestClient(app) as client:
        url = client.get("/runtime.json").json()["wheelURL"]
        time.sleep(server.WheelServer.CHECK_INTERVAL_S)
        init = root / "pykernel" / "__init__.py"
        init.write_text(init.read_text() + "\n# edited\n")
        started = time.monotonic()
        assert client.get("/runtime.json").json()["wheelURL"] == url   # starts the rebuild
        assert time.monotonic() - started < 0.5   # a build takes over a second
        app.wheels._worker.join(timeout=120)
        new = client.get("/runtime.json").json()["wheelURL"]
        assert new != url and sha256(client.get(new).content) == new.split("/")[-2]


def test_current_json_records_the_wheel_and_its_sources(client):
    record = json.loads((client.wheel_dir / "current.json").read_text())
    wheel = client.wheel_dir / record["sha256"] / record["name"]
    assert wheel.is_file() and sha256(wheel.read_bytes()) == record["sha256"]
