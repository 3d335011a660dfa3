# Backbeat: two commands. `make run` serves the demo network; `make test` runs every check.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest demo bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

CHART_JS_VERSION := 4.6.1
CHART_JS := backbeat/web/static/vendor/chart.umd.min.js

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Chart.js comes from its npm package and is served locally, never from a CDN.
$(CHART_JS):
	mkdir -p .cache/npm $(dir $(CHART_JS))
	npm install --no-audit --no-fund --silent --prefix .cache/npm chart.js@$(CHART_JS_VERSION)
	cp .cache/npm/node_modules/chart.js/dist/chart.umd.min.js $(CHART_JS)

install: $(STAMP) $(CHART_JS)

run: $(STAMP) $(CHART_JS)
	$(BIN)/backbeat init --demo-if-empty
	$(BIN)/backbeat serve --host $(HOST) --port $(PORT)

test: $(STAMP) $(CHART_JS)
	$(BIN)/ruff check backbeat tests bench
	$(BIN)/mypy
	$(BIN)/mypy bench
	$(BIN)/mypy tests
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check backbeat tests bench

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy bench
	$(BIN)/mypy tests

demo: $(STAMP) $(CHART_JS)
	$(BIN)/backbeat demo

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
