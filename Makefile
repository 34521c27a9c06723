# wavekit: `make demo` (set up + offline speech recipe end to end on CPU)
#          `make test` (set up + whole test suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := .make-stamps
# The suite on both cores (pytest-xdist): files whole on a worker, slow ones first (tests/conftest.py);
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2
PYTEST_DIST  := -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

.PHONY: setup data demo test test-fast lint clean help wheels

help:
	@echo "make demo   - set up .venv and offline data, speak with the embedded models, then run the fillets_cs recipe (demo config)"
	@echo "make test   - set up .venv (with test extras) and offline data, lint, run the whole test suite"
	@echo "make lint   - ruff (lint + import order) over the whole tree, then mypy over wavekit/"
	@echo "make wheels - collect the non-torch dependencies as Python 3.12 wheels in wheels/ (for scripts/device_check.sh)"

$(STAMP)/venv: pyproject.toml
	@mkdir -p $(STAMP)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(STAMP)/venv

data:
	@bash scripts/install_data.sh

# First wavekit speaks with its embedded models (exp/demo_pretrained/report.md; skipped, saying so, where
# they are not installed), then the short training recipe shows how to train your own (exp/demo/report.md).
demo: setup data
	bash recipes/fillets_cs/pretrained_demo.sh --exp exp/demo_pretrained
	bash recipes/fillets_cs/run.sh --conf recipes/fillets_cs/conf/demo.yaml --exp exp/demo

lint: setup
	$(PY) -m ruff check wavekit tests recipes scripts egs
	$(PY) -m mypy

test: setup data lint
	$(PY) -m pytest -q $(PYTEST_DIST) tests

test-fast: setup
	$(PY) -m pytest -q $(PYTEST_DIST) -m "not slow" tests

clean:
	rm -rf $(VENV) $(STAMP) exp

# The GPU machine has torch, torchaudio, numba, numpy, scipy, scikit-learn, click, PyYAML, tqdm,
# matplotlib, pytest and Python 3.12, and no network: carry the rest as wheels (no dependency
# resolution: every missing package is named, one version each). pesq (eval metrics only)
# publishes no wheels and is left out.
WHEEL_PKGS := librosa==0.11.0 soundfile==0.14.0 soxr==1.1.0 pystoi==0.4.1 audioread==3.1.0 \
              decorator==5.3.1 pooch==1.9.0 platformdirs==4.14.9 cffi==2.1.1 pycparser==3.12
WHEEL_PLATFORMS := $(foreach p,manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
                   manylinux2014_x86_64 manylinux1_x86_64 any,--platform $(p))

wheels:
	@mkdir -p wheels
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  $(WHEEL_PLATFORMS) -d wheels $(WHEEL_PKGS)
	@ls wheels
