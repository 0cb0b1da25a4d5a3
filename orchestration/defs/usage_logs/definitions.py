"""Usage logs: the dlt asset, its checks and the new-file sensor."""

import dagster as dg

from orchestration.defs.provider_usage.definitions import provider_assets
from orchestration.defs.resources import dlt_resource
from orchestration.defs.usage_logs.assets import LOG_FILES_KEY, log_files, usage_logs_assets
from orchestration.defs.usage_logs.checks import (
    every_record_accounted_for,
    quarantine_share_of_last_load,
    quarantined_records,
)
from orchestration.defs.usage_logs.sensors import build_new_log_files_sensor
from orchestration.defs.warehouse.assets import dbt_daily_marts

__all__ = ["LOG_FILES_KEY", "definitions", "ingest_logs_job"]

_downstream = dg.AssetSelection.assets(usage_logs_assets).downstream()
ingest_logs_job = dg.define_asset_job(
    "ingest_logs",
    # What depends on the logs, plus what those models read (the price book), so that the job
    # also works on a warehouse where nothing else has run yet.
    # The provider reports are daily-partitioned and synced on their own (sync_provider_usage).
    selection=(_downstream | _downstream.upstream())
    - dg.AssetSelection.keys(LOG_FILES_KEY, dg.AssetKey(["price_book", "litellm_import"]))
    - dg.AssetSelection.assets(*provider_assets)
    # The daily-partitioned marts follow in the hourly job (this sensor's runs name no days).
    - dg.AssetSelection.assets(dbt_daily_marts),
    description="Load new or changed log files, then rebuild what depends on them.",
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[log_files, usage_logs_assets],
        asset_checks=[
            every_record_accounted_for,
            quarantined_records,
            quarantine_share_of_last_load,
        ],
        jobs=[ingest_logs_job],
        sensors=[build_new_log_files_sensor(ingest_logs_job)],
        resources={"dlt": dlt_resource},
    )
