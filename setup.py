"""Build hook: the WGSL shaders live in the top-level `shaders/` folder of the source tree
(one place for pykernel and the web page), and a built wheel carries them inside the
package at `pykernel/backends/webgpu/shaders/`, where `kernels.py` looks for them.
Everything else is declared in pyproject.toml."""
import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

SHADERS = pathlib.Path(__file__).resolve().parent / "shaders"


class build_py_with_shaders(build_py):
    def run(self):
        super().run()
        if self.editable_mode:   # an editable install reads shaders/ from the checkout
            return
        target = pathlib.Path(self.build_lib) / "pykernel" / "backends" / "webgpu" / "shaders"
        target.mkdir(parents=True, exist_ok=True)
        for shader in sorted(SHADERS.glob("*.wgsl")):
            shutil.copy2(shader, target / shader.name)


setup(cmdclass={"build_py": build_py_with_shaders})
