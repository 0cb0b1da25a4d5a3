# One entry point for people and CI. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export TOKENLAKE_HOME ?= $(CURDIR)/.tokenlake

.PHONY: help setup demo run test test-fast lint format bench lock clean

help:
	@echo "make demo   - set up, generate demo data, run the whole pipeline, open Dagster on http://127.0.0.1:3000"
	@echo "make test   - set up if needed and run every test"
	@echo "make bench  - ingest benchmark (results in \$$TOKENLAKE_HOME/bench/)"
	@echo "make lint   - ruff"
	@echo "make lock   - re-resolve requirements.lock from pyproject.toml"

# The stamp makes set-up idempotent: it re-runs only when the lock file changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	$(BIN)/dbt deps --project-dir dbt_project --profiles-dir dbt_project --quiet || true
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/tokenlake demo

run: setup
	$(BIN)/tokenlake run

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m benchmarks.ingest_bench --events 1000000

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf $(VENV) .tokenlake dbt_project/target dbt_project/logs
