"""The repository checkout, and copies of its sources for tests that edit them (server tests)."""
import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parents[1]


def source_copy(dest):
    """A copy of the checkout's sources (what the wheel is built from, and the page)."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("pykernel", "shaders", "web"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
