"""Forecasts, budgets, anomaly scans, alert delivery, and the schedules that keep them fresh."""

from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.alerting.assets import budget_status, spend_anomalies, spend_forecast
from orchestration.defs.alerting.data_health import source_freshness_asset, sources_are_fresh
from orchestration.defs.alerting.digest import daily_digest, digest_job, spend_digest, weekly_digest
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.alerting.sensors import deliver_alerts, run_failure_alerts
from orchestration.provider_sync import partition_range_tags
from orchestration.settings import Settings

scan_assets = [spend_forecast, budget_status, spend_anomalies, source_freshness_asset]

forecast_and_scan_job = dg.define_asset_job(
    "forecast_and_scan",
    selection=dg.AssetSelection.assets(*scan_assets),
    description="Month-end forecasts, budget checks and the anomaly scan on the current marts.",
)


@dg.schedule(
    job_name="hourly_incremental",
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: new logs and the providers' recent days in, incremental models updated, "
    "anomaly scan, publish; the once-a-day marts in the first run of each UTC day.",
)
def hourly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    from ingestion.provider_usage import sync_window
    from orchestration.defs.warehouse.cadence import hourly_run

    moment = context.scheduled_execution_time or datetime.now(UTC)
    settings = Settings.from_env()
    # The look-back window up to today: the providers restate recent days.
    window = sync_window(moment, moment, lookback_days=settings.provider_lookback_days)
    job = context.repository_def.get_job("hourly_incremental")
    selection, tags = hourly_run(context.instance, job.asset_layer.selected_asset_keys, moment)
    return dg.RunRequest(
        run_key=None, asset_selection=selection, tags={**partition_range_tags(window), **tags}
    )


daily_scan = dg.ScheduleDefinition(
    name="daily_forecast_and_scan",
    job=forecast_and_scan_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: forecasts, budgets and anomaly scan (the hourly refresh also scans).",
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[*scan_assets, spend_digest],
        asset_checks=[sources_are_fresh],
        jobs=[forecast_and_scan_job, digest_job],
        schedules=[hourly_refresh, daily_scan, daily_digest, weekly_digest],
        sensors=[deliver_alerts, run_failure_alerts],
        resources={"alerts": AlertsResource()},
    )
