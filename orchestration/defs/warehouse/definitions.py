"""The dbt warehouse: models, tests as checks, and the dbt CLI resource."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.warehouse.assets import dbt_daily_marts, dbt_models
from orchestration.defs.warehouse.project import DBT_EXECUTABLE, dbt_project


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[dbt_models, dbt_daily_marts],
        resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
    )
