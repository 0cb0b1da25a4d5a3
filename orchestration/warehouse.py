"""The warehouse as the orchestration code sees it: dlt pipelines into it, and small queries
(checks, reports) that run on whichever engine it is."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dlt
import duckdb

from ingestion.pipeline import warehouse_pipeline
from orchestration.settings import Settings

# A pipeline that only lends its SQL client (no source ever runs through it).
QUERY_PIPELINE = "tokenlake_queries"


def pipeline(name: str, settings: Settings) -> dlt.Pipeline:
    """The dlt pipeline `name` into the configured warehouse."""
    return warehouse_pipeline(
        name, settings.warehouse, settings.dlt_dir, settings.destination, settings.warehouse_url
    )


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` (portable SQL, no parameters) from the warehouse, read-only where possible."""
    if settings.is_duckdb:
        if not settings.warehouse.exists():
            return []
        with connect_when_unlocked(settings.warehouse, read_only=True) as con:
            return con.execute(sql).fetchall()
    with pipeline(QUERY_PIPELINE, settings).sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql) or []]


# A writer in another process (a run outside the pool, `tokenlake dbt`) holds the file's lock
# for seconds to minutes: wait for it, boundedly, rather than fail a check or a sensor tick.
LOCK_WAIT_SECONDS = 300


def connect_when_unlocked(
    path: Path, read_only: bool, seconds: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file at `path` once no other process holds its write lock."""
    deadline = time.monotonic() + seconds
    pause = 0.5
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 10)


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB warehouse, held to the configured memory limit (a setting of
    the database in this process, so it also bounds connections opened on it by others here)."""
    con = duckdb.connect(str(settings.warehouse), read_only=read_only)
    con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    return con


def table_exists(settings: Settings, schema: str, table: str) -> bool:
    rows = query(
        settings,
        "select count(*) from information_schema.tables "
        f"where table_schema = '{schema}' and table_name = '{table}'",
    )
    return bool(rows and rows[0][0])


def not_on_duckdb(settings: Settings, step: str) -> str | None:
    """Why `step` does not run on this warehouse (None: it runs). Forecasts, alerts and the
    publish copies read the DuckDB file; on another engine BI tools read its marts directly."""
    if settings.is_duckdb:
        return None
    return f"{step} reads the DuckDB warehouse; the warehouse is {settings.destination}"
