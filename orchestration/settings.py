"""Configuration from the environment (README: Configuration; docs/design.md §5).

Only this module reads TOKENLAKE_* variables; everything else receives values explicitly.
Secrets are kept out of repr() so that they never reach a log line by accident.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Re-exported: orchestration imports it from here.
from ingestion.redaction import redact_url as redact_url
from ingestion.usage_logs.reader_options import AUTO, BUILT_IN, CONTRACT, OtelOptions
from orchestration.dimensions import CustomDimension, parse_custom_dimensions

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where `tokenlake demo` serves the Dagster UI: alerts link to runs and assets there.
DAGSTER_UI_URL = "http://127.0.0.1:3000"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The dbt installed beside this Python: cron jobs and `dagster dev` often run without the venv
# on PATH, where another dbt (or none) may be found.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# The price book shipped with tokenlake (a dbt seed); users add rows in their own CSV.
SHIPPED_PRICE_BOOK = REPO_ROOT / "seeds" / "price_book.csv"
# How scheduled and UI runs build the warehouse. Unit tests check the SQL's logic on fixed
# inputs: `make test` and CI run them; a scheduled run would only repeat them, serially ahead of
# the pricing model (dbt's guidance: unit tests in development and CI, not in production).
DBT_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")
# Which rows a run's dbt tests check: "changed" (the rows it wrote) or "all".
DBT_TEST_SCOPE_VARIABLE = "TOKENLAKE_DBT_TEST_SCOPE"


class ConfigError(ValueError):
    """A setting that cannot work; the message is one line naming the variable and the fix."""


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
    # Log records in a gateway's format: auto (recognised), contract, or a format's name
    # (ingestion/usage_logs/formats/); or a YAML mapping of your own, applied to every record.
    logs_format: str = "auto"
    logs_mapping: Path | None = None
    # OpenTelemetry spans: the attributes naming the tenant, and the tenant of spans without one
    # (empty: quarantined as missing_field:tenant_id).
    otel_tenant_attributes: tuple[str, ...] = ("tenant.id", "tenant_id")
    otel_default_tenant: str = "unattributed"
    # Another warehouse than the DuckDB file: a dlt destination name, and its connection URL.
    destination: str = "duckdb"
    warehouse_url: str | None = field(default=None, repr=False)
    # Provider usage/cost APIs: bucket width, days re-read before the last complete bucket
    # (providers restate recent buckets), days read on the very first sync.
    provider_bucket_width: str = "1d"
    provider_lookback_days: int = 2
    provider_history_days: int = 90
    # Anomaly thresholds: robust z-score, and the least excess spend (USD) worth an alert.
    anomaly_z: float = 3.5
    anomaly_min_usd: float = 1.0
    # Per-dimension minimum excess (USD), e.g. {"tenant": 5.0}: TOKENLAKE_ANOMALY_MIN_USD_BY_DIMENSION.
    anomaly_min_usd_by_dimension: tuple[tuple[str, float], ...] = ()
    # What the anomaly scan groups spend by: feature, tenant, model and custom dimensions.
    anomaly_dimensions: tuple[str, ...] = ("feature", "tenant", "model")
    # Fields of extra_fields promoted to columns (orchestration/dimensions.py), and the
    # variable's text as given (dbt reads the variable itself).
    custom_dimensions: tuple[CustomDimension, ...] = ()
    custom_dimensions_spec: str = ""
    # dbt tests in Dagster runs: `changed` checks the rows the run wrote (dbt_project/macros/
    # test_scope.sql), `all` every row. A plain `dbt build` always checks every row.
    dbt_test_scope: str = "changed"
    # Unattended runs: how long a run waits for another run holding the warehouse, and how long
    # a stopped run (SIGTERM/SIGINT) may take to end its step before it is killed.
    warehouse_wait_seconds: float = 600.0
    # Webhook deliveries: one POST's timeout, and how long one tick or run spends delivering.
    webhook_timeout_seconds: float = 10.0
    webhook_window_seconds: float = 30.0
    # Email (digests): SMTP server, sender, recipients; the password is a secret.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "tokenlake@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    # Data health: hours a source may be silent (0: never stale), and the quarantine share of a
    # load that is a spike.
    logs_stale_hours: float = 6.0
    provider_stale_hours: float = 48.0
    quarantine_spike_share: float = 0.05
    stop_grace_seconds: float = 20.0
    # DuckDB's memory limit for every connection the project opens on the warehouse (dbt,
    # publishing, analytics; ingestion bounds its own loads lower): beyond it DuckDB spills to disk.
    duckdb_memory_limit: str = "1.1GB"
    # Hours the published snapshot keeps files a newer publish replaced (readers of the old
    # published DuckDB file still read them).
    publish_retain_hours: float = 24.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        # The design's spelling of two names (docs/design.md §8) works too.
        aliases = {k: env[a] for k, a in SPELLINGS.items() if not env.get(k) and env.get(a)}
        env = {**env, **aliases} if aliases else env
        home = Path(env.get("TOKENLAKE_HOME") or ".tokenlake").expanduser().resolve()
        warehouse = (
            Path(env.get("TOKENLAKE_WAREHOUSE") or home / "warehouse.duckdb").expanduser().resolve()
        )
        price_book = env.get("TOKENLAKE_PRICE_BOOK")
        mapping = env.get("TOKENLAKE_LOGS_MAPPING")
        dimensions_spec = (env.get("TOKENLAKE_CUSTOM_DIMENSIONS") or "").strip()
        try:
            dimensions = parse_custom_dimensions(dimensions_spec)
        except ValueError as exc:
            raise ConfigError(f"TOKENLAKE_CUSTOM_DIMENSIONS: {exc}") from None
        scopes = ("feature", "tenant", "model", *(d.name for d in dimensions))
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
            logs_format=_choice(env, "TOKENLAKE_LOGS_FORMAT", LOG_FORMATS, cls.logs_format),
            logs_mapping=Path(mapping).expanduser().resolve() if mapping else None,
            otel_tenant_attributes=_attribute_names(
                env, "TOKENLAKE_OTEL_TENANT_ATTRIBUTES", cls.otel_tenant_attributes
            ),
            otel_default_tenant=env.get("TOKENLAKE_OTEL_DEFAULT_TENANT", cls.otel_default_tenant),
            destination=_choice(env, "TOKENLAKE_DESTINATION", DESTINATIONS, cls.destination),
            warehouse_url=env.get("TOKENLAKE_WAREHOUSE_URL") or None,
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
            anomaly_min_usd_by_dimension=_per_dimension(
                env, "TOKENLAKE_ANOMALY_MIN_USD_BY_DIMENSION", scopes
            ),
            anomaly_dimensions=_names(
                env, "TOKENLAKE_ANOMALY_DIMENSIONS", scopes, cls.anomaly_dimensions
            ),
            custom_dimensions=dimensions,
            custom_dimensions_spec=dimensions_spec,
            dbt_test_scope=_choice(
                env, DBT_TEST_SCOPE_VARIABLE, ("changed", "all"), cls.dbt_test_scope
            ),
            warehouse_wait_seconds=_float(
                env, "TOKENLAKE_WAREHOUSE_WAIT_SECONDS", cls.warehouse_wait_seconds
            ),
            stop_grace_seconds=_float(env, "TOKENLAKE_STOP_GRACE_SECONDS", cls.stop_grace_seconds),
            webhook_timeout_seconds=_float(
                env, "TOKENLAKE_WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout_seconds
            ),
            webhook_window_seconds=_float(
                env, "TOKENLAKE_WEBHOOK_WINDOW_SECONDS", cls.webhook_window_seconds
            ),
            smtp_host=env.get("TOKENLAKE_SMTP_HOST") or None,
            smtp_port=_int(env, "TOKENLAKE_SMTP_PORT", cls.smtp_port, minimum=1),
            smtp_from=env.get("TOKENLAKE_SMTP_FROM") or cls.smtp_from,
            smtp_to=tuple(
                a.strip() for a in (env.get("TOKENLAKE_SMTP_TO") or "").split(",") if a.strip()
            ),
            smtp_user=env.get("TOKENLAKE_SMTP_USER") or None,
            smtp_password=env.get("TOKENLAKE_SMTP_PASSWORD") or None,
            smtp_starttls=(env.get("TOKENLAKE_SMTP_STARTTLS") or "").lower()
            in ("1", "true", "yes"),
            logs_stale_hours=_float(env, "TOKENLAKE_LOGS_STALE_HOURS", cls.logs_stale_hours),
            provider_stale_hours=_float(
                env, "TOKENLAKE_PROVIDER_STALE_HOURS", cls.provider_stale_hours
            ),
            quarantine_spike_share=_float(
                env, "TOKENLAKE_QUARANTINE_SPIKE_SHARE", cls.quarantine_spike_share
            ),
            duckdb_memory_limit=_memory(
                env, "TOKENLAKE_DUCKDB_MEMORY_LIMIT", cls.duckdb_memory_limit
            ),
            publish_retain_hours=_float(
                env, "TOKENLAKE_PUBLISH_RETAIN_HOURS", cls.publish_retain_hours
            ),
        )

    @property
    def otel(self) -> OtelOptions:
        return OtelOptions(self.otel_tenant_attributes, self.otel_default_tenant)

    @property
    def is_duckdb(self) -> bool:
        """The warehouse is the DuckDB file (the default), not another engine."""
        return self.destination == "duckdb"

    @property
    def providers_configured(self) -> bool:
        """A provider's admin key is set: its usage and cost reports are read."""
        return bool(self.openai_admin_key or self.anthropic_admin_key)

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml that builds on this warehouse."""
        return self.destination

    def warehouse_label(self) -> str:
        """Where the warehouse is, safe to print."""
        if self.is_duckdb:
            return str(self.warehouse)
        return f"{self.destination} {redact_url(self.warehouse_url or '(dlt configuration)')}"

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where in-memory DuckDB connections spill beyond the memory limit."""
        return self.home / "duckdb_tmp"

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

    def dbt_test_environment(self) -> dict[str, str]:
        """The variable dbt's test scope reads (dbt_project/macros/test_scope.sql)."""
        return {DBT_TEST_SCOPE_VARIABLE: self.dbt_test_scope}

    def export_for_tools(self) -> dict[str, str]:
        """Variables that child tools (dbt, dagster) need to see the same settings."""
        return {
            "TOKENLAKE_HOME": str(self.home),
            "TOKENLAKE_WAREHOUSE": str(self.warehouse),
            "TOKENLAKE_LOGS_URL": self.logs_url,
            "DAGSTER_HOME": str(self.dagster_home),
            "TOKENLAKE_DBT_TARGET": self.dbt_target,
            "TOKENLAKE_CUSTOM_DIMENSIONS": self.custom_dimensions_spec,
            "TOKENLAKE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            **warehouse_url_parts(self.warehouse_url if self.destination == "postgres" else None),
        }


LOG_FORMATS = (AUTO, CONTRACT, *BUILT_IN)
# Other accepted spellings: name -> alias.
SPELLINGS = {
    "TOKENLAKE_LOGS_FORMAT": "TOKENLAKE_LOG_FORMAT",
    "TOKENLAKE_LOGS_MAPPING": "TOKENLAKE_LOG_MAPPING",
}


def _memory(env: Mapping[str, str], name: str, default: str) -> str:
    """A DuckDB memory size: a number and a unit (512MB, 2GB, 1.5GiB), or a percentage of RAM."""
    value = (env.get(name) or default).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(%|[KMGT]i?B)", value, flags=re.IGNORECASE):
        raise ConfigError(f"{name}={value!r}: expected a size such as 512MB, 2GB or 80%")
    return value


# dlt destinations the warehouse can be (dbt profiles.yml has an output for each SQL engine).
DESTINATIONS = ("duckdb", "postgres", "clickhouse", "snowflake", "bigquery", "filesystem")


def warehouse_url_parts(url: str | None) -> dict[str, str]:
    """The pieces of a postgresql:// URL under the names dbt's profile reads; the password under
    dbt's DBT_ENV_SECRET_ prefix, which dbt scrubs from its logs."""
    if not url:
        return {}
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(
            "TOKENLAKE_WAREHOUSE_URL must be a postgresql://user:password@host:port/db URL"
        )
    return {
        "TOKENLAKE_WAREHOUSE_HOST": parts.hostname or "127.0.0.1",
        "TOKENLAKE_WAREHOUSE_PORT": str(parts.port or 5432),
        "TOKENLAKE_WAREHOUSE_USER": unquote(parts.username or ""),
        "DBT_ENV_SECRET_TOKENLAKE_WAREHOUSE_PASSWORD": unquote(parts.password or ""),
        "TOKENLAKE_WAREHOUSE_DATABASE": unquote(parts.path.lstrip("/")) or "postgres",
        # dbt's sessions in UTC (libpq reads PGTZ): timestamps cast to the hour and day in UTC,
        # as on DuckDB, whatever the server's own time zone.
        "PGTZ": "UTC",
    }


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def _attribute_names(
    env: Mapping[str, str], name: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    """`tenant.id,org.id` -> ("tenant.id", "org.id"): OpenTelemetry attribute names."""
    raw = env.get(name) or ""
    names = tuple(n.strip() for n in raw.split(",") if n.strip()) or default
    if bad := [n for n in names if not re.fullmatch(r"[A-Za-z0-9_.\-]+", n)]:
        raise ConfigError(f"{name}: {bad[0]!r} is not an attribute name (letters, digits, . _ -)")
    return names


def _names(
    env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    """`feature,tenant,environment` -> ("feature", "tenant", "environment"), each allowed."""
    raw = env.get(name) or ""
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip())) or default
    if unknown := [n for n in names if n not in allowed]:
        raise ConfigError(
            f"{name}: {', '.join(unknown)} is not a dimension (one of: {', '.join(allowed)})"
        )
    return names


def _per_dimension(
    env: Mapping[str, str], name: str, allowed: tuple[str, ...] = ("feature", "tenant", "model")
) -> tuple[tuple[str, float], ...]:
    """`tenant=5,model=2.5` -> (("tenant", 5.0), ("model", 2.5))."""
    raw = env.get(name) or ""
    out = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        dimension, _, amount = part.partition("=")
        try:
            value = float(amount)
        except ValueError:
            raise ConfigError(f"{name} must look like tenant=5,model=2.5, got {raw!r}") from None
        if dimension.strip() not in allowed or value < 0:
            raise ConfigError(
                f"{name}: {part!r}: the dimension must be one of {', '.join(allowed)} and the "
                "amount not negative"
            )
        out.append((dimension.strip(), value))
    return tuple(out)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value
