"""The daily-partitioned provider assets in Dagster: backfills, skipping, no secrets in the log."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from dagster._serdes import serialize_value

from demo.provider_api import ProviderAPIServer
from demo.provider_ledger import ledger_table
from ingestion.provider_usage import Window
from orchestration.provider_sync import partition_range_tags, provider_sync_window
from orchestration.settings import Settings
from tests.ingestion.test_provider_usage import (
    ANTHROPIC_KEY,
    NOW,
    OPENAI_KEY,
    fixture_rows,
)


@pytest.fixture
def server(tmp_path: Path):
    ledger = tmp_path / "ledger.parquet"
    pq.write_table(ledger_table(fixture_rows()), ledger)
    with ProviderAPIServer(ledger, OPENAI_KEY, ANTHROPIC_KEY, now=NOW) as srv:
        yield srv


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TOKENLAKE_HOME", str(home))
    monkeypatch.delenv("TOKENLAKE_WAREHOUSE", raising=False)
    return home


def configure(monkeypatch, server: ProviderAPIServer) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_BASE", server.base_url)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ANTHROPIC_KEY)


def run_days(first: date, last: date, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("sync_provider_usage")
    tags = partition_range_tags(Window.of_days(first, last))
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_backfill_of_30_days_is_one_run_that_fills_each_partition(home, server, monkeypatch):
    configure(monkeypatch, server)
    first, last = date(2026, 2, 1), date(2026, 3, 2)
    with dg.instance_for_test() as instance:
        result = run_days(first, last, instance)
        assert result.success
        for table in ("openai_usage_completions", "openai_costs", "anthropic_usage_messages"):
            done = instance.get_materialized_partitions(dg.AssetKey(["raw", table]))
            assert len(done) == 30 and min(done) == "2026-02-01" and max(done) == "2026-03-02"
        logs = [serialize_value(e) for e in instance.all_logs(result.run_id)]
    days = query(home, "select min(cast(bucket_start_at as date)), max(cast(bucket_start_at as date)) "
                       "from raw.openai_usage_completions")[0]  # fmt: skip
    assert first <= days[0] and days[1] <= last
    expected = sum(
        r["input_tokens"] for r in fixture_rows()
        if r["report"] == "completions" and first <= r["hour"].date() <= last
    )  # fmt: skip
    assert (
        query(home, "select sum(input_tokens) from raw.openai_usage_completions")[0][0] == expected
    )
    # The keys went into HTTP headers only: not into Dagster's event log (logs, metadata).
    assert logs and not any(OPENAI_KEY in line or ANTHROPIC_KEY in line for line in logs)


def test_a_provider_without_a_key_is_skipped_with_a_clear_message(home, server, monkeypatch):
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    with dg.instance_for_test() as instance:
        result = run_days(date(2026, 3, 1), date(2026, 3, 2), instance)
        assert result.success
        mats = result.asset_materializations_for_node("openai_usage")
        assert {m.metadata["status"].value for m in mats} == {"skipped"}
        assert "OPENAI_ADMIN_KEY is not set" in mats[0].metadata["reason"].value
        messages = [e.message for e in instance.all_logs(result.run_id) if e.message]
        assert any("OPENAI_ADMIN_KEY is not set: skipping" in m for m in messages)
    assert server.requests_seen == []


def test_unattended_window_starts_at_the_cursor_minus_the_look_back(home, server, monkeypatch):
    configure(monkeypatch, server)
    monkeypatch.setenv("TOKENLAKE_PROVIDER_HISTORY_DAYS", "20")
    settings = Settings.from_env()
    first = provider_sync_window(settings, now=NOW)
    assert first.days == (NOW.date() - timedelta(days=19), NOW.date())
    with dg.instance_for_test() as instance:
        assert run_days(*first.days, instance).success
    again = provider_sync_window(Settings.from_env(), now=NOW)
    # The last complete bucket is today's midnight: re-read 2 days before it, through today.
    assert again.days == (NOW.date() - timedelta(days=2), NOW.date())
