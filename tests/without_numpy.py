"""Run a Python snippet in a fresh interpreter where `import numpy` fails, as in offline Pyodide."""
import subprocess
import sys
import textwrap

_BLOCK_NUMPY = """
import sys, importlib.abc
class _BlockNumpy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numpy" or name.startswith("numpy."):
            raise ImportError("numpy blocked")
sys.meta_path.insert(0, _BlockNumpy())
"""


def run_without_numpy(code, timeout=120):
    """stdout of `code` run with NumPy blocked; fails the test with stderr if it errors."""
    out = subprocess.run([sys.executable, "-c", _BLOCK_NUMPY + textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout
