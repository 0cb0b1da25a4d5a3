# One entry point for people and CI. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
# Python 3.11 (dbt-core 1.11, dagster 1.13 and dlt 1.31 install together on it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export TOKENLAKE_HOME ?= $(CURDIR)/.tokenlake

.PHONY: help setup demo run test test-fast lint format bench bench-alerts spark-build lock clean postgres-binaries

help:
	@echo "make demo   - set up, generate demo data, run the whole pipeline, open Dagster on http://127.0.0.1:3000"
	@echo "make test   - set up if needed and run every test"
	@echo "make bench  - the hourly cycle end to end, and ingest (results in \$$TOKENLAKE_HOME/bench/)"
	@echo "make spark-build - the dbt project on a local Apache Spark, totals checked against DuckDB"
	@echo "make lint   - ruff"
	@echo "make lock   - re-resolve requirements.lock from pyproject.toml"

# The stamp makes set-up idempotent: it re-runs only when the lock file changes.
# Bytecode is compiled at install time: imports stay fast even where PYTHONDONTWRITEBYTECODE is set.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "Python 3.11 is required (found: $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --no-deps --python $(BIN)/python -e .
	touch $@

# Dagster reads dbt's manifest; it is prepared here, not parsed on every import.
dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project/models dbt_project/macros dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml
	cd dbt_project && ../$(BIN)/dbt parse --quiet --project-dir . --profiles-dir .

setup: $(VENV)/.installed dbt_project/target/manifest.json

demo: setup
	$(BIN)/tokenlake demo

run: setup
	$(BIN)/tokenlake run

# Tests start a throw-away PostgreSQL from the machine's server binaries; install them if absent.
postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get install -y -q postgresql >/dev/null; } || \
	  { echo "PostgreSQL server binaries are needed by the tests: apt-get install postgresql"; exit 1; }

# Three workers (pytest-xdist) on two cores: the tests often wait on a subprocess or the daemon.
TEST_WORKERS ?= 3
# --no-loadscope-reorder: modules start in the order tests/conftest.py gives them (longest first).
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=20

test: setup postgres-binaries
	$(BIN)/ruff check .
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The hourly cycle users run (`tokenlake run`, full and +1 h, against a hand DuckDB floor), and the
# ingest alone; BENCH_EVENTS="1000000 10000000" for more sizes. Results: $TOKENLAKE_HOME/bench/.
BENCH_EVENTS ?= 1000000
bench: setup
	$(BIN)/python -m benchmarks.cycle_bench $(foreach n,$(BENCH_EVENTS),--events $(n))
	$(BIN)/python -m benchmarks.ingest_bench --events 1000000

# Anomaly alerts on the demo's last 60 days: messages, precision and recall for the planted incidents.
bench-alerts: setup
	$(BIN)/python -m benchmarks.alert_backtest --events 200000 --days 60

# dbt-spark and pyspark (~400 MB) are installed only here, from their own lock file.
$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-spark.lock
	touch $@

spark-build: setup $(VENV)/.spark-installed
	@command -v java >/dev/null || { echo "Spark needs a Java runtime (17): apt-get install openjdk-17-jre-headless"; exit 1; }
	$(BIN)/python -m benchmarks.spark_build --events $${EVENTS:-20000}

lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra spark -c requirements.lock --python-version 3.11 --no-header -o requirements-spark.lock

clean:
	rm -rf $(VENV) .tokenlake dbt_project/target dbt_project/logs
