"""The one Dagster `Definitions` of tokenlake: each domain under defs/ contributes its own."""

import os

import dagster as dg

from orchestration.defs.alerting import definitions as alerting
from orchestration.defs.price_book import definitions as price_book
from orchestration.defs.provider_usage import definitions as provider_usage
from orchestration.defs.usage_logs import definitions as usage_logs
from orchestration.defs.warehouse import definitions as warehouse
from orchestration.settings import Settings

settings = Settings.from_env()
# dbt runs as a child process with the dbt project as working directory: give it absolute paths.
for name, value in settings.export_for_tools().items():
    os.environ.setdefault(name, value)

full_pipeline_job = dg.define_asset_job(
    "full_pipeline",
    # The LiteLLM import is on demand (it reads the internet and writes your price book).
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.keys(usage_logs.LOG_FILES_KEY, price_book.LITELLM_IMPORT_KEY),
    # The provider reports are daily-partitioned: a run names its days (`tokenlake run` reads
    # from the last complete bucket minus the look-back through today).
    partitions_def=provider_usage.DAILY,
    description="Everything once: sources -> raw -> staging -> marts. What `tokenlake run` executes.",
)

defs = dg.Definitions.merge(
    usage_logs.definitions(),
    provider_usage.definitions(),
    price_book.definitions(),
    warehouse.definitions(),
    alerting.definitions(),
    dg.Definitions(jobs=[full_pipeline_job]),
)
