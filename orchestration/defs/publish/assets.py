"""Published outputs for BI tools: a read-only DuckDB file, Parquet exports, PostgreSQL.

Each runs only when no blocking check fails anywhere upstream (`gate.py`), reads the warehouse
read-only, and is in the `warehouse` pool so that it never reads while a writer runs.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.analytics.assets import ANOMALIES_KEY, BUDGETS_KEY, FORECAST_KEY
from orchestration.defs.analytics.data_health import DATA_HEALTH_KEY
from orchestration.defs.dbt.assets import dbt_daily_marts, dbt_models
from orchestration.defs.publish.gate import failing_blocking_checks
from orchestration.defs.publish.resources import PublishTargets
from orchestration.defs.skips import skip_off_duckdb
from orchestration.defs.usage_logs.checks import every_record_accounted_for, quarantined_records
from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.publish.parquet import export_parquet
from orchestration.publish.postgres import BI_ROLE, SCHEMA, publish_postgres
from orchestration.publish.snapshot import Snapshot, refresh_snapshot, store_folder
from orchestration.settings import redact_url

DUCKDB_FILE_KEY = dg.AssetKey(["publish", "duckdb_file"])
PARQUET_KEY = dg.AssetKey(["publish", "parquet_exports"])
POSTGRES_KEY = dg.AssetKey(["publish", "postgres"])

# What is published: every mart and the forecast/budget/anomaly/source-freshness tables.
PUBLISHED_ASSETS = sorted(
    [k for k in (*dbt_models.keys, *dbt_daily_marts.keys) if k.path[0] == "marts"]
    + [FORECAST_KEY, BUDGETS_KEY, ANOMALIES_KEY, DATA_HEALTH_KEY],
    key=lambda k: k.to_user_string(),
)


# Every check that guards the warehouse: dbt's tests and the log-ingestion checks.
GUARDING_CHECKS = sorted(
    {
        *dbt_models.check_keys,
        *dbt_daily_marts.check_keys,
        *every_record_accounted_for.check_keys,
        *quarantined_records.check_keys,
    },
    key=lambda k: k.to_user_string(),
)


def _require_passing_checks(context: dg.AssetExecutionContext) -> None:
    failing = failing_blocking_checks(context.instance, GUARDING_CHECKS)
    if failing:
        raise dg.Failure(
            description=(
                f"Not published: {len(failing)} blocking check(s) failed in their latest run; "
                "fix the data and rebuild. Failing: " + ", ".join(failing[:20])
            ),
            metadata={"failing_checks": dg.MetadataValue.json(failing)},
        )


def _snapshot(context: dg.AssetExecutionContext, publish: PublishTargets) -> Snapshot:
    """The published snapshot brought up to date with the warehouse: only the days that changed
    are written, once per run (the next publisher of the run finds it current)."""
    settings = publish.settings
    snapshot = refresh_snapshot(
        settings.warehouse,
        store_folder(publish.duckdb_path()),
        retain_seconds=settings.publish_retain_hours * 3600,
        memory_limit=settings.duckdb_memory_limit,
        temp_directory=settings.duckdb_temp_dir,
    )
    if snapshot.written:
        context.log.info(
            "snapshot v%s: %s rows written in %s parts of %s tables",
            snapshot.manifest.version,
            f"{snapshot.rows_written:,}",
            sum(len(parts) for parts in snapshot.written.values()),
            len(snapshot.written),
        )
    return snapshot


def _metadata(
    counts: dict[str, int], target: str, snapshot: Snapshot
) -> dict[str, dg.MetadataValue]:
    table = "| table | rows |\n|---|---:|\n" + "\n".join(
        f"| {name} | {rows:,} |" for name, rows in sorted(counts.items())
    )
    return {
        "target": dg.MetadataValue.text(target),
        "tables": dg.MetadataValue.int(len(counts)),
        "rows": dg.MetadataValue.int(sum(counts.values())),
        "row_counts": dg.MetadataValue.md(table),
        "dagster/row_count": dg.MetadataValue.int(sum(counts.values())),
        "snapshot_version": dg.MetadataValue.int(snapshot.manifest.version),
    }


# Off DuckDB, BI tools read the warehouse's marts schema itself.
OFF_DUCKDB = ("publishing", ": BI tools read its marts schema directly")


_COMMON = dict(deps=PUBLISHED_ASSETS, group_name="publish", pool="warehouse")


@dg.asset(
    key=DUCKDB_FILE_KEY,
    kinds={"duckdb"},
    description="Read-only DuckDB file of all marts for BI tools, swapped in atomically.",
    **_COMMON,
)
def published_duckdb_file(
    context: dg.AssetExecutionContext, publish: PublishTargets
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, publish.settings, *OFF_DUCKDB):
        return skipped
    _require_passing_checks(context)
    target = publish.duckdb_path()
    snapshot = _snapshot(context, publish)
    counts = publish_duckdb_file(snapshot, target, datetime.now(UTC))
    return dg.MaterializeResult(metadata=_metadata(counts, str(target), snapshot))


@dg.asset(
    key=PARQUET_KEY,
    kinds={"parquet"},
    description="Parquet folders, one per mart (by month for the big ones), for any BI tool or lake.",
    **_COMMON,
)
def parquet_exports(
    context: dg.AssetExecutionContext, publish: PublishTargets
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, publish.settings, *OFF_DUCKDB):
        return skipped
    _require_passing_checks(context)
    url = publish.exports()
    snapshot = _snapshot(context, publish)
    counts = export_parquet(snapshot, url)
    return dg.MaterializeResult(metadata=_metadata(counts, redact_url(url), snapshot))


@dg.asset(
    key=POSTGRES_KEY,
    kinds={"postgres"},
    description=f"Schema `{SCHEMA}` in TOKENLAKE_PUBLISH_POSTGRES_URL, readable by role `{BI_ROLE}`.",
    **_COMMON,
)
def published_postgres(
    context: dg.AssetExecutionContext, publish: PublishTargets
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, publish.settings, *OFF_DUCKDB):
        return skipped
    url = publish.postgres()
    if not url:
        context.log.warning(
            "TOKENLAKE_PUBLISH_POSTGRES_URL is not set: skipping the PostgreSQL publish."
        )
        return dg.MaterializeResult(
            metadata={"status": "skipped", "reason": "TOKENLAKE_PUBLISH_POSTGRES_URL is not set"}
        )
    _require_passing_checks(context)
    snapshot = _snapshot(context, publish)
    counts = publish_postgres(snapshot, url, datetime.now(UTC), publish.bi_role_password())
    metadata = _metadata(counts, redact_url(url), snapshot)
    return dg.MaterializeResult(metadata={**metadata, "status": dg.MetadataValue.text("published")})


publish_assets = [published_duckdb_file, parquet_exports, published_postgres]
