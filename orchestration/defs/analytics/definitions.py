"""Forecasts, budgets, anomaly scans, data health and the digest (schedules: defs/jobs.py)."""

import dagster as dg

from orchestration.defs.analytics.assets import budget_status, spend_anomalies, spend_forecast
from orchestration.defs.analytics.data_health import source_freshness_asset, sources_are_fresh
from orchestration.defs.analytics.digest import spend_digest


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            spend_forecast,
            budget_status,
            spend_anomalies,
            source_freshness_asset,
            spend_digest,
        ],
        asset_checks=[sources_are_fresh],
    )
