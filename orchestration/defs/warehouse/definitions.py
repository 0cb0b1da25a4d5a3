"""The dbt warehouse: models, tests as checks, and the dbt CLI resource."""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.warehouse.assets import dbt_models
from orchestration.defs.warehouse.project import dbt_project

# The dbt installed beside this Python: cron jobs often run without the venv on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[dbt_models],
        resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
    )
