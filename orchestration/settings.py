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
# Where `tokenlake demo` serves the Dagster UI: alerts link to runs and assets there.
DAGSTER_UI_URL = "http://127.0.0.1:3000"
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
    # Password given to the read-only role tokenlake_bi (else the role cannot log in itself).
    publish_bi_password: str | None = field(default=None, repr=False)
    exports_url: str = ""
    published_duckdb: Path | None = None
    price_book: Path | None = None
    # Provider usage/cost APIs: bucket width, days re-read before the last complete bucket
    # (providers restate recent buckets), days read on the very first sync.
    provider_bucket_width: str = "1d"
    provider_lookback_days: int = 2
    provider_history_days: int = 90
    # Anomaly thresholds: robust z-score, and the least excess spend (USD) worth an alert.
    anomaly_z: float = 3.5
    anomaly_min_usd: float = 1.0

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
            publish_bi_password=env.get("TOKENLAKE_PUBLISH_BI_PASSWORD") or None,
            exports_url=env.get("TOKENLAKE_EXPORTS_URL") or str(home / "exports"),
            published_duckdb=Path(
                env.get("TOKENLAKE_PUBLISHED_DUCKDB") or home / "published" / "tokenlake.duckdb"
            )
            .expanduser()
            .resolve(),
            price_book=Path(price_book).expanduser().resolve() if price_book else None,
            provider_bucket_width=_choice(
                env, "TOKENLAKE_PROVIDER_BUCKET_WIDTH", ("1d", "1h"), cls.provider_bucket_width
            ),
            provider_lookback_days=_int(
                env, "TOKENLAKE_PROVIDER_LOOKBACK_DAYS", cls.provider_lookback_days
            ),
            provider_history_days=_int(
                env, "TOKENLAKE_PROVIDER_HISTORY_DAYS", cls.provider_history_days, minimum=1
            ),
            anomaly_z=_float(env, "TOKENLAKE_ANOMALY_Z", cls.anomaly_z),
            anomaly_min_usd=_float(env, "TOKENLAKE_ANOMALY_MIN_USD", cls.anomaly_min_usd),
        )

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dlt_dir(self) -> Path:
        """dlt's pipeline working folders (state, pending load packages)."""
        return self.home / "dlt"

    @property
    def alerts_db(self) -> Path:
        """The alerts table with delivery state (SQLite: sensors and runs write it concurrently)."""
        return self.home / "alerts.sqlite"

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


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def redact_url(url: str) -> str:
    """A URL safe to print: user info (user:password@) replaced, e.g. in s3://key:secret@bucket."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)
