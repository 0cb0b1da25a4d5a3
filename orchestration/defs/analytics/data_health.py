"""Data health as an asset: when each source last sent data, and models without a price.

Writes `analytics.source_freshness` (published like the other analytics tables, so a BI tool
can show it) and puts `stale_source` and `unpriced_model` alerts in the outbox. Its check fails
(warning) while a source is silent past its expected cadence.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from orchestration import warehouse
from orchestration.alerts.data_health import (
    source_freshness,
    stale_source_alert,
    unpriced_model_alerts,
)
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.analytics.assets import asset_link, replace_scan_rows
from orchestration.defs.skips import skip_off_duckdb
from orchestration.settings import Settings

DATA_HEALTH_KEY = dg.AssetKey(["analytics", "source_freshness"])


def configured_providers(settings: Settings) -> list[str]:
    return [p for p in ("openai", "anthropic") if getattr(settings, f"{p}_admin_key")]


@dg.asset(
    key=DATA_HEALTH_KEY,
    deps=[
        dg.AssetKey(["raw", "usage_log_files"]),
        dg.AssetKey(["intermediate", "int_provider_daily_usage"]),
        dg.AssetKey(["marts", "mart_unpriced_models"]),
    ],
    group_name="analytics",
    kinds={"python", "duckdb"},
    pool="warehouse",
    description=(
        "When each source (the log location, each provider API) last sent data, against its "
        "expected cadence (TOKENLAKE_LOGS_STALE_HOURS, TOKENLAKE_PROVIDER_STALE_HOURS): table "
        "analytics.source_freshness; stale_source and unpriced_model alerts."
    ),
)
def source_freshness_asset(
    context: dg.AssetExecutionContext, alerts: AlertsResource, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, settings, "the data-health scan"):
        return skipped
    now = datetime.now(UTC)
    with warehouse.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        found = source_freshness(
            con, configured_providers(settings), settings.logs_stale_hours,
            settings.provider_stale_hours, now,
        )  # fmt: skip
        frame = pd.DataFrame([{
            "source": f.source,
            "last_seen_at": f.last_seen.replace(tzinfo=None) if f.last_seen else None,
            "hours_silent": f.hours_silent, "expected_within_hours": f.expected_within_hours,
            "is_stale": f.stale, "checked_at": now.replace(tzinfo=None),
        } for f in found]).astype({"last_seen_at": "datetime64[us]", "checked_at": "datetime64[us]",
                                   "hours_silent": "float64"})  # fmt: skip
        replace_scan_rows(con, "source_freshness", frame, "true")  # the current state only
        unpriced = unpriced_model_alerts(
            con, asset_link(dg.AssetKey(["marts", "mart_unpriced_models"]))
        )
    link = asset_link(DATA_HEALTH_KEY)
    stale = [f for f in found if f.stale]
    outbox = alerts.outbox()
    new = sum(outbox.add(stale_source_alert(f, link)) for f in stale)
    new += sum(outbox.add(a) for a in unpriced)
    context.log.info("data health: %d stale source(s), %d unpriced model(s), %d new alert(s)",
                     len(stale), len(unpriced), new)  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "stale_sources": ", ".join(f.source for f in stale) or "none",
            "unpriced_models": len(unpriced),
            "new_alerts": new,
            "sources": dg.MetadataValue.md(frame.to_markdown(index=False)),
        }
    )


@dg.asset_check(
    asset=DATA_HEALTH_KEY,
    description="No source silent past its expected cadence.",
    pool="warehouse",
)
def sources_are_fresh(settings: dg.ResourceParam[Settings]) -> dg.AssetCheckResult:
    if not settings.is_duckdb:
        return dg.AssetCheckResult(passed=True, metadata={"status": "skipped off DuckDB"})
    with warehouse.connect(settings, read_only=True) as con:
        stale = [r[0] for r in con.execute(
            "select source from analytics.source_freshness where is_stale order by 1").fetchall()]  # fmt: skip
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"stale_sources": ", ".join(stale) or "none"},
    )
