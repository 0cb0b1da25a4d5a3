"""Publishing for BI tools: the three published outputs and where they go."""

import dagster as dg

from orchestration.defs.publish.assets import publish_assets
from orchestration.defs.publish.resources import PublishTargets
from orchestration.defs.resources import settings_resource


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=publish_assets,
        resources={"publish": PublishTargets(settings=settings_resource)},
    )
