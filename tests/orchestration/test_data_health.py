"""Freshness per source, quarantine share and unpriced models on hand-made raw tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from orchestration.alerts.data_health import (
    LoadQuarantine,
    quarantine_spike_alert,
    source_freshness,
    stale_source_alert,
)

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'; create schema raw")
    con.execute("create table raw.usage_log_files (_source_modified_at timestamptz)")
    con.execute("insert into raw.usage_log_files values (?), (?)",
                [NOW - timedelta(hours=30), NOW - timedelta(hours=2)])  # fmt: skip
    for table, end in (("openai_usage_completions", NOW - timedelta(days=5)),
                       ("openai_costs", NOW - timedelta(days=3)),
                       ("anthropic_usage_messages", NOW - timedelta(hours=20))):  # fmt: skip
        con.execute(f"create table raw.{table} (bucket_end_at timestamp)")
        con.execute(f"insert into raw.{table} values (?)", [end.replace(tzinfo=None)])
    return con


def test_each_source_is_judged_by_its_newest_arrival_against_its_own_cadence():
    found = {
        f.source: f for f in source_freshness(_warehouse(), ["openai", "anthropic"], 6, 48, NOW)
    }
    assert not found["usage_logs"].stale and round(found["usage_logs"].hours_silent) == 2
    assert found["openai"].stale and round(found["openai"].hours_silent) == 72  # newest table wins
    assert not found["anthropic"].stale
    alert = stale_source_alert(found["openai"], "http://x")
    assert alert.kind == "stale_source" and alert.value == "openai"
    assert "72.0 h" in alert.summary and "missing, not zero" in alert.summary


def test_a_configured_source_that_never_sent_is_stale_and_zero_turns_the_check_off():
    con = _warehouse()
    con.execute("drop table raw.usage_log_files")
    logs = source_freshness(con, [], 6, 48, NOW)[0]
    assert logs.last_seen is None and logs.stale
    assert stale_source_alert(logs, "x").dedup_key == "stale_source|usage_logs|never"
    assert not source_freshness(con, [], 0, 0, NOW)[0].stale


def test_the_spike_alert_names_the_share_and_the_top_reasons():
    load = LoadQuarantine("1796524629.71", records=40, quarantined=30)
    alert = quarantine_spike_alert(load, 0.05, [("missing_field:timestamp", 30)], "http://x")
    assert alert.title == "75% of the last load quarantined"
    assert "missing_field:timestamp (30)" in alert.summary and alert.severity == "critical"
