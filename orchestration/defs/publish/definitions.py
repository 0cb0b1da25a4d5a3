"""Publishing for BI tools: the three published outputs and the job that only publishes."""

import dagster as dg

from orchestration.defs.publish.assets import publish_assets
from orchestration.defs.publish.resources import publish_targets_from_env

publish_only_job = dg.define_asset_job(
    "publish_only",
    selection=dg.AssetSelection.assets(*publish_assets),
    description="Publish the current marts (DuckDB file, Parquet, PostgreSQL) without rebuilding; "
    "refused while a blocking check fails.",
)


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=publish_assets,
        jobs=[publish_only_job],
        resources={"publish": publish_targets_from_env()},
    )
