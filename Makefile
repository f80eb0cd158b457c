PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Warnings are errors, so a broken docstring or a failing example fails the build.
SPHINXBUILD = $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

.PHONY: demo test docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	$(BIN)/fairuse demo

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2
	$(SPHINXBUILD)

docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(SPHINXBUILD)

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
	rm -rf docs/_build docs/auto_examples docs/generated docs/gen_modules
	rm -f docs/sg_execution_times.rst
