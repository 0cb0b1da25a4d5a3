"""The dbt project as Dagster sees it. The manifest is prepared at set-up (`dbt parse`),
and again by `dagster dev` when models change, never on every import."""

from dagster_dbt import DagsterDbtProjectPreparer, DbtProject

from orchestration.defs.dbt.dbt_cli import VenvDbtCliResource
from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """`dbt parse` under `dagster dev` with this environment's dbt (not whatever is on PATH)."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        VenvDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
VenvDbtPreparer().prepare_if_dev(dbt_project)
