"""Resources shared by several domains (one instance each: Definitions.merge requires it)."""

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from orchestration.settings import Settings

dlt_resource = DagsterDltResource()


@dg.resource(description="tokenlake's configuration (TOKENLAKE_* and provider variables).")
def settings_resource(context: dg.InitResourceContext) -> Settings:
    """The configuration (docs/design.md §5), read from the environment when a run, a sensor tick
    or a schedule tick starts. Assets, checks, sensors and schedules receive it as a parameter
    (`settings: dg.ResourceParam[Settings]`); none of them reads the environment itself."""
    return Settings.from_env()


class RawTableTranslator(DagsterDltTranslator):
    """A dlt resource's table as the Dagster asset `raw/<table>` (the warehouse's raw layer)."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(key=dg.AssetKey(["raw", data.resource.name]))
        )
