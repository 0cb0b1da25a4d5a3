"""Where the marts are published: the settings' targets, each of which a launch in the UI may
override (run config). Secrets stay in the settings, read from the environment: Dagster's
config, shown in the UI, never holds them unless a user types one in."""

from pathlib import Path

import dagster as dg

from orchestration.settings import Settings


class PublishTargets(dg.ConfigurableResource):
    """The published DuckDB file, the Parquet export root, and the optional PostgreSQL."""

    settings: dg.ResourceDependency[Settings]
    duckdb_file: str | None = None
    exports_url: str | None = None
    postgres_url: str | None = None
    bi_password: str | None = None

    def duckdb_path(self) -> Path:
        return Path(self.duckdb_file) if self.duckdb_file else self.settings.published_duckdb

    def exports(self) -> str:
        return self.exports_url or self.settings.exports_url

    def postgres(self) -> str | None:
        return self.postgres_url or self.settings.publish_postgres_url

    def bi_role_password(self) -> str | None:
        return self.bi_password or self.settings.publish_bi_password
