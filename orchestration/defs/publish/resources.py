"""Where the marts are published. Secrets arrive as EnvVar (the UI shows the variable's name,
never its value); anything not given is read from the environment when the asset runs."""

import os
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings


class PublishTargets(dg.ConfigurableResource):
    """The published DuckDB file, the Parquet export root, and the optional PostgreSQL."""

    duckdb_file: str | None = None
    exports_url: str | None = None
    postgres_url: str | None = None
    bi_password: str | None = None

    def duckdb_path(self) -> Path:
        return Path(self.duckdb_file) if self.duckdb_file else Settings.from_env().published_duckdb

    def exports(self) -> str:
        return self.exports_url or Settings.from_env().exports_url

    def postgres(self) -> str | None:
        return self.postgres_url or Settings.from_env().publish_postgres_url

    def bi_role_password(self) -> str | None:
        return self.bi_password or Settings.from_env().publish_bi_password


def publish_targets_from_env() -> PublishTargets:
    def secret(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(name) if os.environ.get(name) else None

    return PublishTargets(
        duckdb_file=os.environ.get("TOKENLAKE_PUBLISHED_DUCKDB") or None,
        exports_url=os.environ.get("TOKENLAKE_EXPORTS_URL") or None,
        postgres_url=secret("TOKENLAKE_PUBLISH_POSTGRES_URL"),
        bi_password=secret("TOKENLAKE_PUBLISH_BI_PASSWORD"),
    )
