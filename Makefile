# The two commands of the README: `make demo` and `make test`. Each builds the virtual
# environment it needs (idempotently) from the project's own declared dependencies.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch for the backend tests; a bare `torch` pulls a multi-GB CUDA build.
TORCH_CPU ?= torch==2.13.0

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# -qq: pip still stops on errors, but setuptools' multi-line notice about editable installs,
# meant for packagers, stays out of the first command's output.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --quiet -e '.[test,jax]' '$(TORCH_CPU)'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/hpo demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every test a CPU can run: the fast default tier and the end-to-end runs marked `slow`.
# `.venv/bin/python -m pytest` alone runs the fast tier (a few minutes on 2 cores).
test: lint
	$(BIN)/python -m pytest -m 'not gpu'

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.pipeline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
