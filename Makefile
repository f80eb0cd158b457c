PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make test-min` runs the suite on the lowest versions pyproject.toml allows,
# in a venv of its own so that .venv keeps the latest releases.
VENV_MIN := .venv-min
BIN_MIN := $(VENV_MIN)/bin
MIN_CONSTRAINTS := .ci/min-constraints.txt
# Warnings are errors, so a broken docstring or a failing example fails the build.
SPHINXBUILD = $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

.PHONY: demo test test-min docs lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN_MIN)/python:
	$(PYTHON) -m venv $(VENV_MIN)
	$(BIN_MIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet ".[plot]"
	$(BIN)/fairuse demo --overwrite

# The HTML report's screenshot test needs a headless Chromium. `make test` never
# installs system packages: CI runs `make chromium` first (.ci/run), and where no
# browser exists the test is skipped with its reason.
chromium:
	-@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get install -y -qq chromium || (apt-get update -qq && apt-get install -y -qq chromium)); } || echo "chromium is not installed: the HTML screenshot test will be skipped"

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2
	$(SPHINXBUILD)

# The dev extra and the package at the minimum versions pinned in
# $(MIN_CONSTRAINTS), then the test suite (no linters, no docs build). Slow
# (about 10 minutes on 2 cores), so CI does not run it.
test-min: $(BIN_MIN)/python
	$(BIN_MIN)/python -m pip install --quiet -e ".[dev]" -c $(MIN_CONSTRAINTS)
	$(BIN_MIN)/python -m pytest -n 2

docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(SPHINXBUILD)

clean:
	rm -rf $(VENV) $(VENV_MIN) build dist .pytest_cache .ruff_cache fairuse-demo.html
	rm -rf docs/_build docs/auto_examples docs/generated docs/gen_modules
	rm -f docs/sg_execution_times.rst
