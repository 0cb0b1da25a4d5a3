"""The dbt project as Dagster sees it. The manifest is prepared at set-up (`dbt parse`),
and again by `dagster dev` when models change, never on every import."""

import sys
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtProject

from orchestration.defs.warehouse.dbt_cli import VenvDbtCliResource
from orchestration.settings import DBT_PROJECT_DIR

# The dbt installed beside this Python: cron jobs and `dagster dev` often run without the venv
# on PATH, and dagster-dbt would otherwise look for `dbt` there.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """`dbt parse` under `dagster dev` with this environment's dbt (not whatever is on PATH)."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        VenvDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
VenvDbtPreparer().prepare_if_dev(dbt_project)
