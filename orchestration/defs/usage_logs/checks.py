"""Data checks on the raw usage-log tables, shown next to the asset in the Dagster UI."""

import dagster as dg

from orchestration import warehouse
from orchestration.alerts.data_health import (
    LoadQuarantine,
    quarantine_reasons,
    quarantine_spike_alert,
)
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.usage_logs.assets import RAW_EVENTS_KEY, RAW_FILES_KEY
from orchestration.settings import DAGSTER_UI_URL, Settings


# In the warehouse pool like every writer: a DuckDB file open for writing by another process
# cannot be opened at all, not even read-only.
@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Every file's records: read = loaded + quarantined + skipped.",
    pool="warehouse",
)
def every_record_accounted_for(settings: dg.ResourceParam[Settings]) -> dg.AssetCheckResult:
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
def quarantined_records(settings: dg.ResourceParam[Settings]) -> dg.AssetCheckResult:
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


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description=(
        "The last load's quarantine share is at most TOKENLAKE_QUARANTINE_SPIKE_SHARE (5 %): more "
        "means logs of a shape the contract does not know, and a quarantine_spike alert."
    ),
    pool="warehouse",
)
def quarantine_share_of_last_load(
    context: dg.AssetCheckExecutionContext,
    alerts: AlertsResource,
    settings: dg.ResourceParam[Settings],
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(RAW_FILES_KEY)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}

    def number(name: str) -> int:
        value = metadata.get(name)
        return int(value.value) if value is not None else 0

    load_ids = str(metadata["load_ids"].value) if "load_ids" in metadata else ""
    load = LoadQuarantine(
        load_ids.split(",")[-1],
        number("records_read") - number("records_skipped"),
        number("rows_quarantined"),
    )
    threshold = settings.quarantine_spike_share
    spike = load.records > 0 and load.share > threshold
    if spike:
        reasons = []  # the top reasons are read on DuckDB; other engines get the alert without
        if settings.is_duckdb:
            with warehouse.connect(settings, read_only=True) as con:
                reasons = [r for i in load_ids.split(",") if i for r in quarantine_reasons(con, i)]
        link = f"{DAGSTER_UI_URL}/assets/raw/usage_events_quarantine"
        alerts.outbox().add(quarantine_spike_alert(load, threshold, reasons, link))
    return dg.AssetCheckResult(
        passed=not spike,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "records": load.records,
            "quarantined": load.quarantined,
            "share": round(load.share, 4),
            "threshold": threshold,
        },
        description=(
            f"{load.quarantined:,} of {load.records:,} records quarantined "
            f"({load.share:.1%} > {threshold:.0%})"
            if spike
            else None
        ),
    )
