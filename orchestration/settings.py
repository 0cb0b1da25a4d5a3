"""Configuration from the environment (README: Configuration; DESIGN.md §5).

Only this module reads TOKENLAKE_* variables; everything else receives values explicitly.
Secrets are kept out of repr() so that they never reach a log line by accident.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse: Path
    logs_url: str
    openai_api_base: str = "https://api.openai.com"
    anthropic_api_base: str = "https://api.anthropic.com"
    openai_admin_key: str | None = field(default=None, repr=False)
    anthropic_admin_key: str | None = field(default=None, repr=False)
    webhook_url: str | None = field(default=None, repr=False)
    publish_postgres_url: str | None = field(default=None, repr=False)
    price_book: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("TOKENLAKE_HOME") or ".tokenlake").expanduser().resolve()
        warehouse = (
            Path(env.get("TOKENLAKE_WAREHOUSE") or home / "warehouse.duckdb").expanduser().resolve()
        )
        price_book = env.get("TOKENLAKE_PRICE_BOOK")
        return cls(
            home=home,
            warehouse=warehouse,
            logs_url=env.get("TOKENLAKE_LOGS_URL") or str(home / "demo" / "logs"),
            openai_api_base=env.get("OPENAI_API_BASE") or cls.openai_api_base,
            anthropic_api_base=env.get("ANTHROPIC_API_BASE") or cls.anthropic_api_base,
            openai_admin_key=env.get("OPENAI_ADMIN_KEY") or None,
            anthropic_admin_key=env.get("ANTHROPIC_ADMIN_KEY") or None,
            webhook_url=env.get("TOKENLAKE_WEBHOOK_URL") or None,
            publish_postgres_url=env.get("TOKENLAKE_PUBLISH_POSTGRES_URL") or None,
            price_book=Path(price_book).expanduser().resolve() if price_book else None,
        )

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dlt_dir(self) -> Path:
        """dlt's pipeline working folders (state, pending load packages)."""
        return self.home / "dlt"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    def export_for_tools(self) -> dict[str, str]:
        """Variables that child tools (dbt, dagster) need to see the same settings."""
        return {
            "TOKENLAKE_HOME": str(self.home),
            "TOKENLAKE_WAREHOUSE": str(self.warehouse),
            "TOKENLAKE_LOGS_URL": self.logs_url,
            "DAGSTER_HOME": str(self.dagster_home),
        }


def redact_url(url: str) -> str:
    """A URL safe to print: user info (user:password@) replaced, e.g. in s3://key:secret@bucket."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)
