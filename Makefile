PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Warnings are errors, so a broken docstring or a failing example fails the build.
SPHINXBUILD = $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

.PHONY: demo test docs lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

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

docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(SPHINXBUILD)

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache fairuse-demo.html
	rm -rf docs/_build docs/auto_examples docs/generated docs/gen_modules
	rm -f docs/sg_execution_times.rst
