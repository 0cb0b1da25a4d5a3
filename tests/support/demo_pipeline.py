"""The whole pipeline on small demo data, run in-process as `tokenlake run` runs it: demo logs,
the demo provider API over HTTP, dbt, forecasts, and publishing to a real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from tests.support.postgres_server import PostgresServer, create_database

BI_PASSWORD = "bi-test-password"
PUBLISH_DB = "analytics"


@dataclass
class DemoPipeline:
    home: Path
    pg: PostgresServer
    env: dict[str, str] = field(default_factory=dict)
    first_run_on: date | None = None  # the UTC day of the first run (provider windows end there)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def published_duckdb(self) -> Path:
        return self.home / "published" / "tokenlake.duckdb"

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def publish_url(self) -> str:
        return self.pg.url(db=PUBLISH_DB)

    @property
    def bi_url(self) -> str:
        return self.pg.url("tokenlake_bi", BI_PASSWORD, db=PUBLISH_DB)

    @contextmanager
    def environment(self, **extra: str) -> Iterator[None]:
        """The pipeline's variables set for the duration (and other TOKENLAKE_* removed)."""
        saved = dict(os.environ)
        for name in list(os.environ):
            if name.startswith(
                ("TOKENLAKE_", "DAGSTER_", "OPENAI_", "ANTHROPIC_", "DBT_ENV_SECRET_")
            ):
                del os.environ[name]
        os.environ.update({**self.env, **extra})
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def run(self, job: str = "full_pipeline", **extra: str) -> bool:
        from orchestration.headless import run_pipeline
        from orchestration.settings import Settings

        with self.environment(**extra):
            self.first_run_on = self.first_run_on or datetime.now(UTC).date()
            return run_pipeline(Settings.from_env(), job)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home / "dagster"))


def start_demo_pipeline(root: Path, events: int = 20_000) -> tuple[DemoPipeline, object]:
    """Generate demo data under root/home and run full_pipeline once; returns it and the API."""
    from demo import generate
    from demo.generator import DEMO_CUSTOM_DIMENSIONS, PROVIDER_API_DIR
    from demo.provider_api import ProviderAPIServer
    from demo.provider_ledger import LEDGER_FILE
    from demo.services import DEMO_ANTHROPIC_KEY, DEMO_OPENAI_KEY

    pg = PostgresServer().start()
    create_database(pg, PUBLISH_DB)
    home = root / "home"
    generate(home / "demo", events)
    api = ProviderAPIServer(
        home / "demo" / PROVIDER_API_DIR / LEDGER_FILE, DEMO_OPENAI_KEY, DEMO_ANTHROPIC_KEY
    ).start()
    pipeline = DemoPipeline(home=home, pg=pg)
    pipeline.env = {
        "TOKENLAKE_HOME": str(home),
        "TOKENLAKE_WAREHOUSE": str(home / "warehouse.duckdb"),
        "TOKENLAKE_LOGS_URL": str(home / "demo" / "logs"),
        "DAGSTER_HOME": str(home / "dagster"),
        "OPENAI_API_BASE": api.base_url,
        "OPENAI_ADMIN_KEY": DEMO_OPENAI_KEY,
        "ANTHROPIC_API_BASE": api.base_url,
        "ANTHROPIC_ADMIN_KEY": DEMO_ANTHROPIC_KEY,
        "TOKENLAKE_PUBLISH_POSTGRES_URL": pipeline.publish_url,
        "TOKENLAKE_PUBLISH_BI_PASSWORD": BI_PASSWORD,
        "TOKENLAKE_CUSTOM_DIMENSIONS": DEMO_CUSTOM_DIMENSIONS,
    }
    return pipeline, api
