"""Which assets an hourly run builds: the once-a-day marts in the first run of each UTC day (and
whenever they were not built since the day began), left out of the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.defs.cadence import daily_keys, daily_mart_keys, hourly_run, provider_fed_keys
from orchestration.defs.dbt.assets import TEST_SCOPE_TAG

HOURLY = dg.AssetKey(["marts", "agg_usage_hourly"])
REPO = Path(__file__).resolve().parents[2]
PROVIDER_STAGING_VIEWS = [
    path.stem.removeprefix("stg_")
    for folder in ("openai", "anthropic")
    for path in (REPO / "dbt_project" / "models" / "staging" / folder).glob("stg_*.sql")
]


def test_the_daily_marts_are_the_whole_history_rebuilds():
    names = {k.path[-1] for k in daily_mart_keys()}
    assert {"focus_llm_costs", "mart_feature_ranking", "mart_chargeback_monthly"} <= names
    # The day-partitioned breakdowns: their own dbt invocation, once a day.
    assert {"mart_cache_savings", "mart_key_source_split", "mart_action_type_breakdown"} <= names
    # Incremental marts, and what the hourly anomaly scan reads, stay hourly.
    assert not names & {"agg_usage_hourly", "fct_llm_requests", "mart_cost_change_drivers"}


def test_the_month_end_forecast_and_budgets_are_daily_work_too():
    names = {k.to_user_string() for k in daily_keys() - daily_mart_keys()}
    assert names == {"analytics/spend_forecast", "analytics/budget_status"}


def test_first_run_of_the_day_builds_and_tests_everything_later_runs_leave_them_out():
    job_keys = {HOURLY, *daily_keys()}
    with dg.DagsterInstance.ephemeral() as instance:
        assert hourly_run(instance, job_keys) == (None, {TEST_SCOPE_TAG: "all"})
        for key in daily_mart_keys():
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        # The forecast not yet built today: still due.
        assert hourly_run(instance, job_keys) == (None, {TEST_SCOPE_TAG: "all"})
        for key in daily_keys() - daily_mart_keys():
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        now = datetime.now(UTC)
        assert hourly_run(instance, job_keys, now) == ([HOURLY], {})
        # The next UTC day: due again.
        tomorrow = now.replace(hour=0, minute=5) + timedelta(days=1)
        assert hourly_run(instance, job_keys, tomorrow) == (None, {TEST_SCOPE_TAG: "all"})
        # A job without daily marts is run whole.
        assert hourly_run(instance, {HOURLY}, now) == (None, {})


def test_with_no_provider_key_hourly_runs_leave_out_the_models_fed_only_by_provider_reports():
    fed = {k.to_user_string() for k in provider_fed_keys()}
    assert {
        "staging/stg_openai__costs",
        "staging/stg_anthropic__messages_usage",
        "intermediate/int_provider_daily_usage",
        "marts/mart_provider_usage_daily",
    } <= fed
    # Every staging view of a provider endpoint, and nothing that also reads the logs.
    assert {k for k in fed if k.startswith("staging/")} == {
        f"staging/stg_{name}" for name in PROVIDER_STAGING_VIEWS
    }
    assert not fed & {"marts/fct_llm_attempts", "marts/mart_cost_reconciliation"}

    provider_mart = dg.AssetKey(["marts", "mart_provider_usage_daily"])
    job_keys = {HOURLY, provider_mart, *daily_keys()}
    with dg.DagsterInstance.ephemeral() as instance:
        # The first run of the day builds them whatever the keys.
        assert hourly_run(instance, job_keys, providers_configured=False)[0] is None
        for key in daily_keys():
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        now = datetime.now(UTC)
        assert hourly_run(instance, job_keys, now, providers_configured=False) == ([HOURLY], {})
        assert hourly_run(instance, job_keys, now, providers_configured=True) == (
            [HOURLY, provider_mart],
            {},
        )
