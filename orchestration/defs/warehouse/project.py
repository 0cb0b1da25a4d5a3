"""The dbt project as Dagster sees it. The manifest is prepared at set-up (`dbt parse`),
and again by `dagster dev` when models change, never on every import."""

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
