"""Which assets an hourly run builds: the once-a-day marts in the first run of each UTC day (and
whenever they were not built since the day began), left out of the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.defs.cadence import daily_keys, daily_mart_keys, hourly_run
from orchestration.defs.dbt.assets import TEST_SCOPE_TAG

HOURLY = dg.AssetKey(["marts", "agg_usage_hourly"])


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
