"""server.py over HTTP (Starlette's TestClient): what the page needs to load offline."""
import io
import json
import os
import time
import zipfile

import pytest

starlette_testclient = pytest.importorskip("starlette.testclient")

import server  # noqa: E402


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


def test_page_is_served_cross_origin_isolated_and_revalidated(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    _isolated(page)
    assert page.headers["cache-control"] == "no-cache"
    for script in ("/worker.js", "/python.js", "/gpu_runtime.js"):
        response = client.get(script)
        assert response.status_code == 200, script
        assert response.headers["content-type"].startswith("text/javascript"), script
        _isolated(response)


def test_runtime_manifest_points_at_pyodide_and_the_wheel(client):
    runtime = client.get("/runtime.json").json()
    assert runtime["pyodideVersion"] == server.pyodide_version()
    wasm = client.get(runtime["pyodideIndexURL"] + "pyodide.asm.wasm")
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"
    assert "immutable" in wasm.headers["cache-control"]
    _isolated(wasm)
    for name in ("pyodide.mjs", "python_stdlib.zip", "pyodide-lock.json"):
        assert client.get(runtime["pyodideIndexURL"] + name).status_code == 200, name


def test_wheel_is_pure_python_and_carries_shaders_and_data(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    response = client.get(url)
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert url.endswith("-py3-none-any.whl")
    assert "pykernel/__init__.py" in names and "pykernel/playground.py" in names
    shaders = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("pykernel/backends/webgpu/shaders/"))
    assert shaders == sorted(p.name for p in server.SHADER_DIR.glob("*.wgsl"))
    assert "pykernel/keras/datasets/data/mnist.bin.gz" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]


def test_wheel_is_rebuilt_when_a_source_changes(client, tmp_path):
    first = server.ensure_wheel(wheel_dir=client.wheel_dir)
    assert server.ensure_wheel(wheel_dir=client.wheel_dir) == first   # fresh: not rebuilt
    stale = time.time() - 3600
    os.utime(first, (stale, stale))
    rebuilt = server.ensure_wheel(wheel_dir=client.wheel_dir)
    assert rebuilt.stat().st_mtime > stale + 60


def test_a_stale_wheel_url_is_not_found(client):
    url = client.get("/runtime.json").json()["wheelURL"]
    digest, name = url.split("/")[-2:]
    assert client.get(f"/wheels/0000000000000000/{name}").status_code == 404
    assert client.get(f"/wheels/{digest}/other.whl").status_code == 404


def test_shaders_are_served_as_text(client):
    response = client.get("/shaders/matmul.wgsl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "@compute" in response.text


def test_unknown_paths_are_404_and_no_directory_escape(client):
    assert client.get("/no-such-file.js").status_code == 404
    assert client.get("/../server.py").status_code == 404
    assert client.get("/shaders/../server.py").status_code == 404


def test_missing_pyodide_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make setup"):
        server.create_app(pyodide_dir=tmp_path)
