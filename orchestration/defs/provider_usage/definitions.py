"""Provider usage and cost APIs: daily-partitioned raw assets (synced by `sync_provider_usage`)."""

import dagster as dg

from orchestration.defs.provider_usage.assets import provider_assets
from orchestration.defs.resources import dlt_resource


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=provider_assets, resources={"dlt": dlt_resource})
