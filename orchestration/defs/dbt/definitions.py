"""The dbt warehouse: models, tests as checks, and the dbt CLI resource."""

import dagster as dg

from orchestration.defs.warehouse.assets import dbt_daily_marts, dbt_models
from orchestration.defs.warehouse.dbt_cli import VenvDbtCliResource
from orchestration.defs.warehouse.project import DBT_EXECUTABLE, dbt_project


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[dbt_models, dbt_daily_marts],
        resources={
            "dbt": VenvDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
        },
    )
