"""Data checks on the raw usage-log tables, shown next to the asset in the Dagster UI."""

import dagster as dg
import duckdb

from orchestration.defs.usage_logs.assets import RAW_EVENTS_KEY
from orchestration.settings import Settings


@dg.asset_check(
    asset=RAW_EVENTS_KEY, description="Every file's records: read = loaded + quarantined + skipped."
)
def every_record_accounted_for() -> dg.AssetCheckResult:
    with duckdb.connect(str(Settings.from_env().warehouse), read_only=True) as con:
        has_table = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = 'usage_log_files'"
        ).fetchone()[0]
        bad = (
            con.execute(
                "select count(*) from raw.usage_log_files "
                "where records_read <> rows_loaded + rows_quarantined + records_skipped"
            ).fetchone()[0]
            if has_table
            else 0  # no log file read yet: nothing to account for
        )
    return dg.AssetCheckResult(passed=bad == 0, metadata={"unbalanced_files": bad})


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Records quarantined (bad JSON, missing fields, inconsistent tokens), by reason.",
)
def quarantined_records() -> dg.AssetCheckResult:
    with duckdb.connect(str(Settings.from_env().warehouse), read_only=True) as con:
        has_table = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = 'usage_events_quarantine'"
        ).fetchone()[0]
        rows = (
            con.execute(
                "select split_part(reason, '; ', 1) as reason, count(*) from raw.usage_events_quarantine "
                "group by 1 order by 2 desc"
            ).fetchall()
            if has_table
            else []
        )
    total = sum(n for _, n in rows)
    return dg.AssetCheckResult(
        passed=total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": total, **{f"reason/{r}": n for r, n in rows}},
    )
