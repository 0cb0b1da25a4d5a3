"""dbt models (staging -> intermediate -> marts) as Dagster assets; dbt tests as asset checks."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.defs.warehouse.project import dbt_project
from orchestration.settings import Settings


class TokenlakeDbtTranslator(DagsterDbtTranslator):
    """Keys mirror warehouse schemas (raw/…, staging/…, marts/…) so the lineage reads as layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # raw/<table> is the key of the dlt asset that loads it.
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["config"].get("schema") or "main"
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["config"].get("schema") or "warehouse"


class DbtBuildConfig(dg.Config):
    """Run configuration: `full_refresh` rebuilds incremental models from scratch."""

    full_refresh: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TokenlakeDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
    pool="warehouse",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
) -> Iterator[Any]:
    # Each run's dbt artifacts (logs, run results) go to the state folder, not the source tree.
    target = Settings.from_env().home / "dbt" / "runs" / context.run_id
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    yield from dbt.cli(args, context=context, target_path=target).stream()
