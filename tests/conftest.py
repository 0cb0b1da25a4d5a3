"""Shared fixtures: a throw-away TOKENLAKE_HOME, a real warehouse, real dlt runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pytest

from ingestion.pipeline import warehouse_pipeline
from ingestion.price_book import user_price_book
from ingestion.usage_logs.load import load_usage_logs
from ingestion.usage_logs.report import IngestReport


def pytest_configure(config: pytest.Config) -> None:
    # Parallel workers (pytest-xdist) must not share a default TOKENLAKE_HOME (one DuckDB writer).
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get("TOKENLAKE_HOME"):
        os.environ["TOKENLAKE_HOME"] = os.path.join(os.environ["TOKENLAKE_HOME"], worker)


# Modules with tests on the shared demo pipeline: with pytest-xdist they run on one worker, so
# that the pipeline runs once (every other module is its own unit: module fixtures built once).
DEMO_PIPELINE_MODULES = frozenset({
    "tests/notebooks/test_notebooks.py",
    "tests/orchestration/test_whole_graph.py",
    "tests/portability/test_postgres_warehouse.py",
    "tests/publish/test_dashboards.py",
    "tests/publish/test_focus_export.py",
    "tests/publish/test_published_outputs.py",
})  # fmt: skip


def pytest_itemcollected(item: pytest.Item) -> None:
    if "demo_pipeline" in getattr(item, "fixturenames", ()):
        module = item.nodeid.split("::", 1)[0]
        assert module in DEMO_PIPELINE_MODULES, f"add {module} to DEMO_PIPELINE_MODULES"


# The longest modules start first (with pytest-xdist a late long module leaves one worker busy
# while the others idle at the end): the shared demo pipeline's, then the whole-stack runs, one
# per worker (`make test` passes --no-loadscope-reorder, which keeps this order).
LONG_MODULES = (
    "tests/orchestration/test_dagster_ui.py",
    "tests/orchestration/test_tokenlake_cli.py",
    "tests/orchestration/test_unattended_runs.py",
    "tests/orchestration/test_alerts.py",
)
# xdist hands every worker a second module up front: short ones, so that a long module never
# waits behind another long one.
SECOND_MODULES = (
    "tests/orchestration/test_settings.py",
    "tests/publish/test_publish_units.py",
    "tests/ingestion/test_normalize.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = (*LONG_MODULES[:2], *SECOND_MODULES, *LONG_MODULES[2:])

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        if module in DEMO_PIPELINE_MODULES:
            return 0
        return 1 + order.index(module) if module in order else len(order) + 1

    items.sort(key=rank)  # stable: tests keep their order within a module


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; plain pytest runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "demo_pipeline" if module in DEMO_PIPELINE_MODULES else module

    return ModuleScheduling(config, log)


class Warehouse:
    """A warehouse file plus the dlt state folder that loads into it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "warehouse.duckdb"
        self.dlt_dir = root / "dlt"

    def ingest(self, logs_url: str | Path, **formats: str) -> IngestReport:
        """Load as `tokenlake run` does; `formats`: log_format=, mapping_path= (formats/)."""
        pipeline = warehouse_pipeline("usage_logs", self.path, self.dlt_dir)
        return load_usage_logs(pipeline, str(logs_url), **formats)

    def load_price_book(self, path: Path | None = None) -> None:
        """Load the user's price rows (TOKENLAKE_PRICE_BOOK) as the pipeline does; none = empty."""
        pipeline = warehouse_pipeline("price_book", self.path, self.dlt_dir)
        pipeline.run(user_price_book(str(path) if path else None)).raise_on_failed_jobs()

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "home")


def write_jsonl(path: Path, records: Iterable[dict | str]) -> Path:
    """Write records (dicts as JSON, strings verbatim) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def event(i: int, **overrides) -> dict:
    """A valid usage event; `i` makes the request id unique."""
    record = {
        "timestamp": f"2026-11-01T{i % 24:02d}:{i % 60:02d}:00Z",
        "request_id": f"req-{i}",
        "attempt": 1,
        "tenant_id": f"tenant-{i % 5}",
        "feature": "chat",
        "provider": "openai",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 1000 + i,
        "output_tokens": 100 + i,
        "cache_read_tokens": 200,
    }
    record.update(overrides)
    return record


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """Dagster reads dbt's manifest at import; `make setup` prepares it, this covers bare pytest."""
    from orchestration.headless import ensure_dbt_manifest

    return ensure_dbt_manifest()


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory):
    """full_pipeline run once in-process on 20 k demo events, publishing to a real PostgreSQL."""
    from tests.support.demo_pipeline import start_demo_pipeline

    pipeline, api = start_demo_pipeline(tmp_path_factory.mktemp("pipeline"))
    try:
        pipeline.first_run_succeeded = pipeline.run()
        yield pipeline
    finally:
        api.stop()
        pipeline.pg.stop()
