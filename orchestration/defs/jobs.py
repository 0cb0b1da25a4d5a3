"""Every job and schedule of tokenlake, in one place: what runs, and when.

Assets, checks and sensors live with their domain under defs/<domain>/; this module only names
selections of them. The new-log-files sensor (defs/usage_logs/sensors.py) starts `ingest_logs`.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.analytics.assets import (
    BUDGETS_KEY,
    FORECAST_KEY,
    budget_status,
    spend_anomalies,
    spend_forecast,
)
from orchestration.defs.analytics.data_health import source_freshness_asset
from orchestration.defs.analytics.digest import DIGEST_KEY, DigestConfig, spend_digest
from orchestration.defs.cadence import hourly_run
from orchestration.defs.dbt.assets import FULL_REFRESH_TAG, dbt_daily_marts
from orchestration.defs.partitions import DAILY
from orchestration.defs.price_book.assets import LITELLM_IMPORT_KEY
from orchestration.defs.provider_usage.assets import provider_assets
from orchestration.defs.publish.assets import publish_assets
from orchestration.defs.usage_logs.assets import LOG_FILES_KEY, usage_logs_assets
from orchestration.provider_sync import partition_range_tags
from orchestration.settings import Settings

# The LiteLLM import is on demand (it reads the internet and writes your price book).
# The digest runs on its own schedules (daily, weekly), not on every pipeline run.
EVERYTHING = dg.AssetSelection.all() - dg.AssetSelection.keys(
    LOG_FILES_KEY, LITELLM_IMPORT_KEY, DIGEST_KEY
)

# --- the pipeline -------------------------------------------------------------------------

# The provider reports are daily-partitioned: a run names its days (`tokenlake run` reads from
# the last complete bucket minus the look-back through today).
full_pipeline_job = dg.define_asset_job(
    "full_pipeline",
    selection=EVERYTHING,
    partitions_def=DAILY,
    description="Everything once: sources -> raw -> staging -> marts -> forecasts/anomalies -> "
    "published outputs; incremental models add what is new. What `tokenlake run` executes.",
)

full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=EVERYTHING,
    partitions_def=DAILY,
    tags={FULL_REFRESH_TAG: "true"},
    description="Everything, with every incremental dbt model rebuilt from scratch (after a "
    "model change, or to re-read all history).",
)

hourly_incremental_job = dg.define_asset_job(
    "hourly_incremental",
    # The month-end forecast and budgets run daily (forecast_and_scan); anomalies hourly.
    selection=EVERYTHING - dg.AssetSelection.assets(FORECAST_KEY, BUDGETS_KEY),
    partitions_def=DAILY,
    description="New logs and the providers' recent days in, incremental models updated, "
    "anomaly scan, publish. Run by the hourly_refresh schedule.",
)

# Jobs run every hour: their once-a-day marts are left out once built that day (cadence.py).
HOURLY_JOBS = (full_pipeline_job.name, hourly_incremental_job.name)

_logs_downstream = dg.AssetSelection.assets(usage_logs_assets).downstream()
ingest_logs_job = dg.define_asset_job(
    "ingest_logs",
    # What depends on the logs, plus what those models read (the price book), so that the job
    # also works on a warehouse where nothing else has run yet.
    # The provider reports are daily-partitioned and synced on their own (sync_provider_usage).
    selection=(_logs_downstream | _logs_downstream.upstream())
    - dg.AssetSelection.keys(LOG_FILES_KEY, LITELLM_IMPORT_KEY)
    - dg.AssetSelection.assets(*provider_assets)
    # The daily-partitioned marts follow in the hourly job (this sensor's runs name no days).
    - dg.AssetSelection.assets(dbt_daily_marts),
    description="Load new or changed log files, then rebuild what depends on them.",
)

sync_provider_usage_job = dg.define_asset_job(
    "sync_provider_usage",
    selection=dg.AssetSelection.assets(*provider_assets),
    partitions_def=DAILY,
    description="Read the providers' usage and cost reports for the chosen days (backfill here).",
)

import_prices_job = dg.define_asset_job(
    "import_prices",
    selection=dg.AssetSelection.keys(LITELLM_IMPORT_KEY),
    description="On demand: refresh your price book from LiteLLM's community price file.",
)

publish_only_job = dg.define_asset_job(
    "publish_only",
    selection=dg.AssetSelection.assets(*publish_assets),
    description="Publish the current marts (DuckDB file, Parquet, PostgreSQL) without rebuilding; "
    "refused while a blocking check fails.",
)

# --- analytics and alerts -----------------------------------------------------------------

forecast_and_scan_job = dg.define_asset_job(
    "forecast_and_scan",
    selection=dg.AssetSelection.assets(
        spend_forecast, budget_status, spend_anomalies, source_freshness_asset
    ),
    description="Month-end forecasts, budget checks and the anomaly scan on the current marts.",
)

digest_job = dg.define_asset_job(
    "digest",
    selection=dg.AssetSelection.assets(spend_digest),
    description="The spend digest (config: period daily or weekly), sent to the webhook and by email.",
)

JOBS = [
    full_pipeline_job,
    full_refresh_job,
    hourly_incremental_job,
    ingest_logs_job,
    sync_provider_usage_job,
    import_prices_job,
    publish_only_job,
    forecast_and_scan_job,
    digest_job,
]

# --- schedules ----------------------------------------------------------------------------


@dg.schedule(
    job=hourly_incremental_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: new logs and the providers' recent days in, incremental models updated, "
    "anomaly scan, publish; the once-a-day marts in the first run of each UTC day.",
)
def hourly_refresh(
    context: dg.ScheduleEvaluationContext, settings: dg.ResourceParam[Settings]
) -> dg.RunRequest:
    from ingestion.provider_usage import sync_window

    moment = context.scheduled_execution_time or datetime.now(UTC)
    # The look-back window up to today: the providers restate recent days.
    window = sync_window(moment, moment, lookback_days=settings.provider_lookback_days)
    job = context.repository_def.get_job(hourly_incremental_job.name)
    selection, tags = hourly_run(
        context.instance,
        job.asset_layer.selected_asset_keys,
        moment,
        providers_configured=settings.providers_configured,
    )
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


def _digest_schedule(name: str, cron: str, period: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name,
        job=digest_job,
        cron_schedule=cron,
        execution_timezone="UTC",
        run_config=dg.RunConfig(ops={"analytics__digest": DigestConfig(period=period)}),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"The {period} spend digest.",
    )


daily_digest = _digest_schedule("daily_digest", "30 6 * * *", "daily")
weekly_digest = _digest_schedule("weekly_digest", "45 6 * * 1", "weekly")

SCHEDULES = [hourly_refresh, daily_scan, daily_digest, weekly_digest]
