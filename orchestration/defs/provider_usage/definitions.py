"""Provider usage and cost APIs: daily-partitioned raw assets, a job to sync or backfill them."""

import dagster as dg

from orchestration.defs.provider_usage.assets import (
    DAILY,
    PROVIDERS,
    anthropic_usage_assets,
    openai_usage_assets,
)
from orchestration.defs.resources import dlt_resource

__all__ = ["DAILY", "PROVIDERS", "definitions", "provider_assets", "sync_provider_usage_job"]

provider_assets = [openai_usage_assets, anthropic_usage_assets]

sync_provider_usage_job = dg.define_asset_job(
    "sync_provider_usage",
    selection=dg.AssetSelection.assets(*provider_assets),
    partitions_def=DAILY,
    description="Read the providers' usage and cost reports for the chosen days (backfill here).",
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=provider_assets,
        jobs=[sync_provider_usage_job],
        resources={"dlt": dlt_resource},
    )
