"""Data checks on the raw usage-log tables, shown next to the asset in the Dagster UI."""

import dagster as dg

from orchestration import warehouse
from orchestration.defs.usage_logs.assets import RAW_EVENTS_KEY
from orchestration.settings import Settings


# In the warehouse pool like every writer: a DuckDB file open for writing by another process
# cannot be opened at all, not even read-only.
@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Every file's records: read = loaded + quarantined + skipped.",
    pool="warehouse",
)
def every_record_accounted_for() -> dg.AssetCheckResult:
    settings = Settings.from_env()
    bad = (
        warehouse.query(
            settings,
            "select count(*) from raw.usage_log_files "
            "where records_read <> rows_loaded + rows_quarantined + records_skipped",
        )[0][0]
        if warehouse.table_exists(settings, "raw", "usage_log_files")
        else 0  # no log file read yet: nothing to account for
    )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"unbalanced_files": int(bad)})


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Records quarantined (bad JSON, missing fields, inconsistent tokens), by reason.",
    pool="warehouse",
)
def quarantined_records() -> dg.AssetCheckResult:
    settings = Settings.from_env()
    rows = (
        warehouse.query(
            settings,
            "select split_part(reason, '; ', 1) as reason, count(*) from raw.usage_events_quarantine "
            "group by 1 order by 2 desc",
        )
        if warehouse.table_exists(settings, "raw", "usage_events_quarantine")
        else []
    )
    total = sum(int(n) for _, n in rows)
    return dg.AssetCheckResult(
        passed=total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": total, **{f"reason/{r}": int(n) for r, n in rows}},
    )
