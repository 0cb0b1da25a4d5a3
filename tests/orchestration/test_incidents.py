"""Incidents, not rows: grouping, true causes, the single-call rule, on hand-made marts."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from orchestration.alerts.anomalies import Thresholds, _robust, daily_anomalies
from orchestration.alerts.anomaly_review import (
    shared_calls,
    with_true_price_changes,
    without_single_call_spikes,
)
from orchestration.alerts.incidents import explain, group_incidents, incident_alert
from orchestration.alerts.notifier import slack_message

DAY = "2026-11-14"


def finding(
    scope_type, value, observed, expected, cause, granularity="day", window=DAY, parts=None
):
    return {"scope_type": scope_type, "scope_value": value, "window": window,
            "granularity": granularity, "observed": observed, "expected": expected, "z": 5.0,
            "cause": cause, "cause_parts": parts or {cause: observed - expected}}  # fmt: skip


def test_findings_of_one_day_and_cause_are_one_incident_with_ranked_root_causes():
    findings = [
        finding("model", "o4-mini", 2.0, 0.9, "longer_prompts"),
        finding("feature", "code_review", 5.3, 2.7, "longer_prompts"),
        finding("tenant", "acme", 3.0, 1.5, "longer_prompts", "hour", f"{DAY} 11:00:00"),
        finding("feature", "code_review", 1.2, 0.3, "longer_prompts", "hour", f"{DAY} 10:00:00"),
        finding("tenant", "nakatomi", 6.5, 1.1, "more_requests", window="2026-11-17"),
    ]
    incidents = group_incidents(findings)
    assert [(i.day, i.cause, len(i.findings)) for i in incidents] == [
        (DAY, "longer_prompts", 4), ("2026-11-17", "more_requests", 1)]  # fmt: skip
    alert = incident_alert(incidents[0], "http://x")
    assert (alert.dimension, alert.value, alert.cause) == (
        "feature",
        "code_review",
        "longer_prompts",
    )
    assert [(r["dimension"], r["value"], r["excess_usd"]) for r in alert.root_causes] == [
        ("feature", "code_review", 2.6), ("tenant", "acme", 1.5), ("model", "o4-mini", 1.1)]  # fmt: skip
    assert alert.dedup_key == f"anomaly|{DAY}|longer_prompts"
    assert "Also: tenant acme (+$1.50), model o4-mini (+$1.10)" in alert.summary
    assert "root causes" in slack_message(alert)["blocks"][2]["fields"][-1]["text"]
    # A later scan that finds only an hour of it names the same incident: no second message.
    later = group_incidents([findings[3]])
    assert incident_alert(later[0], "x").dedup_key == alert.dedup_key


def test_findings_that_share_their_calls_join_whatever_their_causes():
    findings = [finding("model", "opus", 1.8, 0.2, "longer_completions", "hour", f"{DAY} 11:00:00"),
                finding("feature", "research", 1.9, 0.3, "model_mix", "hour", f"{DAY} 11:00:00")]  # fmt: skip
    assert len(group_incidents(findings)) == 2
    assert len(group_incidents(findings, {(0, 1)})) == 1


def test_mostly_only_when_the_cause_explains_over_half_else_the_top_two():
    assert explain("longer_prompts", {"longer_prompts": 2.8, "more_requests": -2.3}, 2.6) == (
        "mostly longer prompts (+$2.80)")  # fmt: skip
    text = explain("model_mix", {"model_mix": 0.9, "price_change": 0.8, "longer_prompts": 0.4}, 2.2)
    assert text == "a shift to pricier models (+$0.90) and a price change (+$0.80)"
    assert "mostly" not in text


@pytest.fixture
def marts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts; create schema intermediate")
    con.execute("""create table marts.fct_llm_attempts (event_at timestamp, total_cost decimal(18, 6),
                   feature varchar, tenant_id varchar, model varchar, provider varchar,
                   price_version_id varchar, environment varchar)""")  # fmt: skip
    # vandelay: 24 ordinary calls and one of $2.20; nakatomi: 500 ordinary calls (staging, a
    # custom dimension).
    rows = [(f"{DAY} 10:00:00", 0.01, "chat", "vandelay", "m", "openai", "v1", "prod")] * 24
    rows += [(f"{DAY} 21:00:00", 2.20, "chat", "vandelay", "m", "openai", "v1", "prod")]
    rows += [(f"{DAY} 12:00:00", 0.012, "chat", "nakatomi", "m", "openai", "v1", "staging")] * 500
    con.executemany("insert into marts.fct_llm_attempts values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("""create table marts.dim_price_versions as
                   select 'v1' as price_version_id, timestamp '2026-01-01' as valid_from""")
    con.execute("""create table intermediate.int_contract_versions as
                   select 'openai' as provider, '' as model_pattern, timestamp '2025-01-01' as valid_from""")
    return con


def test_an_excess_that_is_mostly_one_call_is_not_an_anomaly(marts):
    found = [finding("tenant", "vandelay", 2.44, 0.20, "model_mix"),
             finding("tenant", "nakatomi", 6.0, 1.2, "more_requests")]  # fmt: skip
    kept = without_single_call_spikes(marts, found, Thresholds())
    assert [f["scope_value"] for f in kept] == ["nakatomi"]


def test_price_change_only_when_a_price_version_or_contract_started_in_the_window(marts):
    found = [finding("tenant", "nakatomi", 6.0, 1.2, "price_change")]
    assert with_true_price_changes(marts, found)[0]["cause"] == "tier_or_context_mix"
    marts.execute("insert into marts.dim_price_versions values ('v1', timestamp '2026-11-10')")
    assert with_true_price_changes(marts, found)[0]["cause"] == "price_change"
    marts.execute("delete from marts.dim_price_versions where valid_from > '2026-06-01'")
    marts.execute(
        "insert into intermediate.int_contract_versions values ('openai', '', timestamp '2026-11-13')"
    )
    assert with_true_price_changes(marts, found)[0]["cause"] == "price_change"


def test_shared_calls_are_found_in_the_warehouse(marts):
    found = [finding("tenant", "nakatomi", 6.0, 1.2, "more_requests"),
             finding("model", "m", 8.5, 2.0, "more_requests"),
             finding("feature", "chat", 8.5, 2.0, "more_requests", window="2026-11-15")]  # fmt: skip
    assert shared_calls(marts, found) == {(0, 1)}


def test_the_minimum_excess_can_differ_per_dimension():
    rows = [("tenant", "small", datetime(2026, 11, 14), 4.0, 50, 1.0, 0.1),
            ("feature", "chat", datetime(2026, 11, 14), 4.0, 50, 1.0, 0.1)]  # fmt: skip
    t = Thresholds(min_excess_by_dimension=(("tenant", 5.0),))
    assert [f["scope_type"] for f in _robust(rows, t)] == ["feature"]


def test_small_swings_and_usual_bursts_do_not_alert():
    t = Thresholds()
    day = datetime(2026, 11, 14)
    # A small tenant's $2 swing in an organisation spending $100 a day (floor 5 %: $5).
    small = [("tenant", "tiny", day, 2.5, 40, 0.5, 0.05)]
    assert _robust(small, t, org_daily=100.0) == []
    assert len(_robust(small, t, org_daily=20.0)) == 1
    # An hour alerts only above the scope's dearest hour of the week before, and above 10 %.
    burst = ("feature", "agent", datetime(2026, 11, 14, 11), 3.0, 20, 0.1, 0.05)
    assert _robust([(*burst, 3.5)], t, org_daily=20.0) == []  # its bursts reach $3.50 anyway
    assert _robust([(*burst, 1.0)], t, org_daily=40.0) == []  # $2.90 < 10 % of $40
    assert len(_robust([(*burst, 1.0)], t, org_daily=20.0)) == 1


def test_a_custom_dimension_is_scanned_like_the_built_in_ones(marts):
    """TOKENLAKE_ANOMALY_DIMENSIONS may name a custom dimension: its column in the rollups is
    judged, and the single-call rule and shared calls read it from the attempts."""
    marts.execute("""create table marts.agg_usage_daily as
        select usage_date::date as usage_date, environment, 'chat' as feature,
               'vandelay' as tenant_id, 'm' as model,
               case when environment = 'staging' and usage_date = date '2026-11-14' then 6.0
                    when environment = 'staging' then 1.0 + (day(usage_date) % 3) * 0.1
                    else 20.0 end::decimal(18, 6) as total_cost,
               100 as attempts
        from range(date '2026-10-20', date '2026-11-15', interval 1 day) as t(usage_date),
             (values ('prod'), ('staging')) as e(environment)""")  # fmt: skip
    t = Thresholds(scopes=("feature", "environment"), min_excess_usd=1.0)
    found = [dict(f, cause="more_requests") for f in daily_anomalies(marts, t, date(2026, 11, 14))]
    assert [(f["scope_type"], f["scope_value"], str(f["window"])[:10]) for f in found] == [
        ("environment", "staging", DAY)]  # fmt: skip
    assert without_single_call_spikes(marts, found, t)[0]["largest_call"] == pytest.approx(0.012)
    both = [*found, finding("tenant", "nakatomi", 6.0, 1.2, "more_requests")]
    assert shared_calls(marts, both) == {(0, 1)}
