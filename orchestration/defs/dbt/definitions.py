"""The dbt project: models, tests as checks, and the dbt CLI resource."""

import dagster as dg

from orchestration.dbt_process import DBT_STEP_EXECUTABLE
from orchestration.defs.dbt.assets import dbt_daily_marts, dbt_models
from orchestration.defs.dbt.dbt_cli import VenvDbtCliResource
from orchestration.defs.dbt.project import dbt_project


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[dbt_models, dbt_daily_marts],
        resources={
            "dbt": VenvDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_STEP_EXECUTABLE)
        },
    )
