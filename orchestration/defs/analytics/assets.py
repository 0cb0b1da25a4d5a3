"""Forecasts, budgets and anomalies as assets: each writes its table in the warehouse's
`analytics` schema and puts the alerts it finds in the outbox (delivered by the sensor)."""

import base64
import io
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd

from orchestration import warehouse
from orchestration.alerts.anomalies import Thresholds
from orchestration.alerts.scan import (
    anomaly_alerts,
    budget_alerts,
    daily_spend,
    data_as_of,
    forecasts,
)
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.skips import skip_off_duckdb
from orchestration.forecast.ols import backtest
from orchestration.settings import DAGSTER_UI_URL, Settings

FORECAST_KEY = dg.AssetKey(["analytics", "spend_forecast"])
BUDGETS_KEY = dg.AssetKey(["analytics", "budget_status"])
ANOMALIES_KEY = dg.AssetKey(["analytics", "spend_anomalies"])


def asset_link(key: dg.AssetKey) -> str:
    """The asset's page in the Dagster UI (alerts link to it)."""
    return f"{DAGSTER_UI_URL}/assets/{'/'.join(key.path)}"


def replace_scan_rows(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, where: str
) -> None:
    """Replace this scan's rows of `analytics.<table>` (earlier scans' rows stay: history)."""
    con.execute("create schema if not exists analytics")
    con.register("frame", frame)
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'analytics' and table_name = ?",
        [table],
    ).fetchone()[0]
    if not exists:
        con.execute(f"create table analytics.{table} as select * from frame")
    else:
        con.execute(f"delete from analytics.{table} where {where}")
        con.execute(f"insert into analytics.{table} by name select * from frame")
    con.unregister("frame")


def _plot(spend: pd.DataFrame, projection, as_of: datetime) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    org = spend[spend.scope_type == "organisation"].sort_values("usage_date")
    month = org[pd.to_datetime(org.usage_date).dt.date >= projection.month]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    ax.plot(pd.to_datetime(month.usage_date), month.spend.cumsum(), label="spend to date")
    if projection.status == "ok":
        end = pd.Timestamp(projection.month) + pd.offsets.MonthEnd(0)
        ax.errorbar([end], [projection.projected_total],
                    yerr=[[projection.projected_total - projection.lower],
                          [projection.upper - projection.projected_total]],
                    fmt="o", capsize=4, label="month-end projection (80 %)")  # fmt: skip
    ax.set_title(f"Organisation spend, {projection.month:%B %Y} (as of {as_of:%Y-%m-%d %H:%M} UTC)")
    ax.set_ylabel("USD")
    ax.legend(loc="upper left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


@dg.asset(
    key=FORECAST_KEY,
    deps=[dg.AssetKey(["marts", "agg_usage_daily"])],
    group_name="analytics",
    kinds={"python", "scikit-learn", "duckdb"},
    pool="warehouse",
    description=(
        "Month-end spend projection (OLS on the month's daily spend, 80 % prediction interval) for "
        "the organisation, each tenant and each feature: table analytics.spend_forecast."
    ),
)
def spend_forecast(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, settings, "the forecast"):
        return skipped
    with warehouse.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        as_of = data_as_of(con)
        if as_of is None:
            context.log.info("no usage logged yet: nothing to forecast")
            return dg.MaterializeResult(metadata={"status": "no usage yet"})
        spend = daily_spend(con)
        projections = forecasts(spend, as_of)
        rows = pd.DataFrame([{
            "as_of_date": as_of.date(), "as_of": as_of.replace(tzinfo=None), "month": p.month,
            "scope_type": t, "scope_value": v, "actual_to_date": p.actual_to_date,
            "projected_total": p.projected_total, "lower_80": p.lower, "upper_80": p.upper,
            "status": p.status, "method": p.method, "points": p.points,
        } for t, v, p in projections])  # fmt: skip
        replace_scan_rows(con, "spend_forecast", rows, f"as_of_date = date '{as_of.date()}'")
    org = next(p for t, _, p in projections if t == "organisation")
    history = spend[spend.scope_type == "organisation"]
    complete = {
        d: s for d, s in zip(pd.to_datetime(history.usage_date).dt.date, history.spend, strict=True)
        if d < as_of.date()
    }  # fmt: skip
    test = backtest(complete)
    context.log.info("organisation projection %s: %s", org.month, org)
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "organisation_projected_total": org.projected_total,
            "organisation_interval_80": f"{org.lower:,.2f} .. {org.upper:,.2f}"
            if org.status == "ok"
            else "insufficient data",
            "organisation_status": org.status,
            "scopes": len(rows),
            "insufficient_data": int((rows.status == "insufficient_data").sum()),
            "backtest_cases": test["cases"],
            "backtest_mape_pct": test["mape_pct"],
            "backtest_interval_coverage": test["coverage"],
            "plot": dg.MetadataValue.md(
                f"![forecast](data:image/png;base64,{_plot(spend, org, as_of)})"
            ),
            "summary": dg.MetadataValue.md(
                rows.sort_values("projected_total", ascending=False)
                .head(15)
                .to_markdown(index=False)
            ),
        }
    )


@dg.asset(
    key=BUDGETS_KEY,
    deps=[FORECAST_KEY, dg.AssetKey(["seeds", "budgets"])],
    group_name="analytics",
    kinds={"python", "duckdb"},
    pool="warehouse",
    description="Each budget of seeds/budgets.csv against actual and projected spend; alerts on thresholds.",
)
def budget_status(
    context: dg.AssetExecutionContext, alerts: AlertsResource, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, settings, "the budget check"):
        return skipped
    with warehouse.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        as_of = data_as_of(con)
        if as_of is None:
            return dg.MaterializeResult(metadata={"status": "no usage yet"})
        projections = forecasts(daily_spend(con), as_of)
        budgets = con.execute("select * from seeds.budgets").df()
        rows, found = budget_alerts(budgets, projections, asset_link(BUDGETS_KEY))
        frame = pd.DataFrame(rows).assign(as_of_date=as_of.date()) if rows else pd.DataFrame(
            {"as_of_date": [], "scope_type": []})  # fmt: skip
        if rows:
            replace_scan_rows(con, "budget_status", frame, f"as_of_date = date '{as_of.date()}'")
    outbox = alerts.outbox()
    new = sum(outbox.add(a) for a in found)
    context.log.info("budgets: %d checked, %d alerts (%d new)", len(rows), len(found), new)
    return dg.MaterializeResult(
        metadata={"budgets_checked": len(rows), "alerts": len(found), "new_alerts": new}
    )


@dg.asset(
    key=ANOMALIES_KEY,
    deps=[
        dg.AssetKey(["marts", "agg_usage_hourly"]),
        dg.AssetKey(["marts", "mart_cost_change_drivers"]),
    ],
    group_name="analytics",
    kinds={"python", "duckdb"},
    pool="warehouse",
    description=(
        "Daily and hourly spend anomalies per feature, tenant and model (robust z-score against the "
        "7 days before), each with its likely cause, grouped into incidents: table "
        "analytics.spend_anomalies (a row per finding), one alert per incident."
    ),
)
def spend_anomalies(
    context: dg.AssetExecutionContext, alerts: AlertsResource, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    if skipped := skip_off_duckdb(context, settings, "the anomaly scan"):
        return skipped
    thresholds = Thresholds(
        z_threshold=settings.anomaly_z,
        min_excess_usd=settings.anomaly_min_usd,
        min_excess_by_dimension=settings.anomaly_min_usd_by_dimension,
        scopes=settings.anomaly_dimensions,
    )
    with warehouse.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        rows, found = anomaly_alerts(con, thresholds, asset_link(ANOMALIES_KEY))
        if rows:
            frame = pd.DataFrame(rows).assign(
                window=lambda f: pd.to_datetime(f["window"]).astype("datetime64[us]"),
                detected_at=datetime.now(UTC).replace(tzinfo=None),
            )
            keys = ", ".join(f"'{a.dedup_key}'" for a in found)
            # Each finding row carries the key of the incident (alert) it belongs to.
            frame = frame.rename(columns={"incident_key": "dedup_key"})
            replace_scan_rows(con, "spend_anomalies", frame, f"dedup_key in ({keys})")
    outbox = alerts.outbox()
    new = sum(outbox.add(a) for a in found)
    context.log.info("anomalies: %d found, %d new alerts", len(found), new)
    return dg.MaterializeResult(
        metadata={
            "incidents": len(found),
            "findings": len(rows),
            "new_alerts": new,
            "found": dg.MetadataValue.md("\n".join(f"- {a.summary}" for a in found) or "none"),
        }
    )
