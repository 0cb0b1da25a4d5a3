"""The dbt command a run builds with: a build of a long whole history runs one model at a time."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb

from orchestration.defs.dbt import assets
from orchestration.defs.dbt.assets import FULL_REFRESH_TAG, _build_args
from orchestration.settings import Settings


def _context(tags: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(run=SimpleNamespace(tags=tags))


def test_a_first_build_and_a_full_refresh_of_a_long_history_run_one_model_at_a_time(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(assets, "ONE_THREAD_BUILD_EVENTS", 1000)  # 3 M in production
    settings = Settings.from_env({"TOKENLAKE_HOME": str(tmp_path), "TOKENLAKE_LOGS_URL": "."})
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.usage_events as select 1 as attempt")
    assert "--threads" not in _build_args(_context({}), settings)  # a short history: two
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("insert into raw.usage_events select 1 from range(1000)")
    first = _build_args(_context({}), settings)
    assert first[-2:] == ["--threads", "1"] and "--full-refresh" not in first
    with duckdb.connect(str(settings.warehouse)) as con:  # priced once: later runs are hourly
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_attempts_priced as select 1 as attempt")
    assert "--threads" not in _build_args(_context({}), settings)
    refresh = _build_args(_context({FULL_REFRESH_TAG: "true"}), settings)
    assert "--full-refresh" in refresh and refresh[-2:] == ["--threads", "1"]
