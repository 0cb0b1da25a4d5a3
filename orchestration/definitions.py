"""The one Dagster `Definitions` of tokenlake: each domain under defs/ contributes its own."""

import os

import dagster as dg

from orchestration.defs.alerting import definitions as alerting
from orchestration.defs.alerting.assets import BUDGETS_KEY, FORECAST_KEY
from orchestration.defs.alerting.digest import DIGEST_KEY
from orchestration.defs.price_book import definitions as price_book
from orchestration.defs.provider_usage import definitions as provider_usage
from orchestration.defs.publish import definitions as publish
from orchestration.defs.usage_logs import definitions as usage_logs
from orchestration.defs.warehouse import definitions as warehouse
from orchestration.defs.warehouse.assets import FULL_REFRESH_TAG
from orchestration.settings import Settings

settings = Settings.from_env()
# dbt runs as a child process with the dbt project as working directory: give it absolute paths.
for name, value in settings.export_for_tools().items():
    os.environ.setdefault(name, value)

# The LiteLLM import is on demand (it reads the internet and writes your price book).
# The digest runs on its own schedules (daily, weekly), not on every pipeline run.
EVERYTHING = dg.AssetSelection.all() - dg.AssetSelection.keys(
    usage_logs.LOG_FILES_KEY, price_book.LITELLM_IMPORT_KEY, DIGEST_KEY
)

# The provider reports are daily-partitioned: a run names its days (`tokenlake run` reads from
# the last complete bucket minus the look-back through today).
full_pipeline_job = dg.define_asset_job(
    "full_pipeline",
    selection=EVERYTHING,
    partitions_def=provider_usage.DAILY,
    description="Everything once: sources -> raw -> staging -> marts -> forecasts/anomalies -> "
    "published outputs; incremental models add what is new. What `tokenlake run` executes.",
)

full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=EVERYTHING,
    partitions_def=provider_usage.DAILY,
    tags={FULL_REFRESH_TAG: "true"},
    description="Everything, with every incremental dbt model rebuilt from scratch (after a "
    "model change, or to re-read all history).",
)

hourly_incremental_job = dg.define_asset_job(
    "hourly_incremental",
    # The month-end forecast and budgets run daily (forecast_and_scan); anomalies hourly.
    selection=EVERYTHING - dg.AssetSelection.assets(FORECAST_KEY, BUDGETS_KEY),
    partitions_def=provider_usage.DAILY,
    description="New logs and the providers' recent days in, incremental models updated, "
    "anomaly scan, publish. Run by the hourly_refresh schedule.",
)

defs = dg.Definitions.merge(
    usage_logs.definitions(),
    provider_usage.definitions(),
    price_book.definitions(),
    warehouse.definitions(),
    alerting.definitions(),
    publish.definitions(),
    dg.Definitions(
        jobs=[full_pipeline_job, full_refresh_job, hourly_incremental_job],
        # On the DuckDB file every step that touches the warehouse is in pool `warehouse` (one
        # writer), so a process per step buys no parallelism and costs each step 5-15 s of
        # start-up: runs launched from the UI, schedules and sensors execute their steps in the
        # run's own process, as `tokenlake run` does. A server warehouse keeps a process per step.
        executor=dg.in_process_executor if settings.is_duckdb else dg.multiprocess_executor,
    ),
)
