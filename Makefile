# wavekit: `make demo` (set up + offline speech recipe end to end on CPU)
#          `make test` (set up + whole test suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := .make-stamps

.PHONY: setup data demo test test-fast clean help

help:
	@echo "make demo   - set up .venv and offline data, run the fillets_cs speech recipe (demo config)"
	@echo "make test   - set up .venv (with test extras) and offline data, run the whole test suite"

$(STAMP)/venv: pyproject.toml
	@mkdir -p $(STAMP)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(STAMP)/venv

data:
	@bash scripts/install_data.sh

demo: setup data
	bash recipes/fillets_cs/run.sh --conf recipes/fillets_cs/conf/demo.yaml --exp exp/demo

test: setup data
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests

clean:
	rm -rf $(VENV) $(STAMP) exp
