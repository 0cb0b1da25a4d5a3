"""Turn forecasts, budgets and anomalies found in the warehouse into alerts (set-based reads)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from orchestration.alerts.anomalies import Thresholds, daily_anomalies, hourly_anomalies
from orchestration.alerts.anomaly_review import (
    shared_calls,
    with_causes,
    with_true_price_changes,
    without_single_call_spikes,
)
from orchestration.alerts.incidents import group_incidents, incident_alert
from orchestration.alerts.model import Alert
from orchestration.forecast.ols import Projection, project_month

# Spend on the platform's keys after contract discounts: what the organisation pays.
SPEND_SQL = """
select scope_type, scope_value, usage_date, sum(net_cost)::double as spend
from (
    select 'organisation' as scope_type, 'all' as scope_value, usage_date, net_cost
    from marts.agg_usage_daily where key_source = 'system'
    union all
    select 'tenant', tenant_id, usage_date, net_cost from marts.agg_usage_daily where key_source = 'system'
    union all
    select 'feature', feature, usage_date, net_cost from marts.agg_usage_daily where key_source = 'system'
)
group by all
"""


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest attempt in the warehouse: forecasts and scans are as of the data, not the
    clock. None before the first usage log arrives (nothing to forecast yet)."""
    moment = con.execute("select max(event_at) from marts.fct_llm_attempts").fetchone()[0]
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def daily_spend(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(SPEND_SQL).df()


def forecasts(spend: pd.DataFrame, as_of: datetime) -> list[tuple[str, str, Projection]]:
    month_start = as_of.date().replace(day=1)
    today = as_of.date()
    out = []
    for (scope_type, scope_value), group in spend.groupby(["scope_type", "scope_value"]):
        days = {
            d: v for d, v in zip(pd.to_datetime(group.usage_date).dt.date, group.spend, strict=True)
        }
        month = {d: v for d, v in days.items() if month_start <= d < today}
        out.append((scope_type, scope_value, project_month(month, as_of, days.get(today, 0.0))))
    return out


def budget_alerts(
    budgets: pd.DataFrame, projections: list[tuple[str, str, Projection]], link: str
) -> tuple[list[dict], list[Alert]]:
    """Each budget of the month against actual and projected spend: a status row per budget,
    an alert per threshold crossed (actual: critical, projected only: warning)."""
    by_scope = {(t, v): p for t, v, p in projections}
    rows, alerts = [], []
    for b in budgets.itertuples():
        scope_type, scope_value = b.scope_type, b.scope_value
        p = by_scope.get((scope_type, scope_value))
        if p is None or (pd.notna(b.month) and pd.Timestamp(b.month).date() != p.month):
            continue  # no spend in that scope yet, or a budget for another month
        amount = float(b.amount_usd)
        thresholds = sorted(float(x) for x in str(b.alert_thresholds).split(";") if x.strip())
        projected = p.projected_total
        rows.append({"month": p.month, "scope_type": scope_type, "scope_value": scope_value,
                     "budget_usd": amount, "actual_to_date": p.actual_to_date,
                     "projected_total": projected, "status": p.status})  # fmt: skip
        crossed = [(t, "actual") for t in thresholds if p.actual_to_date >= t * amount]
        crossed += [(t, "projected") for t in thresholds
                    if projected is not None and projected >= t * amount
                    and p.actual_to_date < t * amount]  # fmt: skip
        if not crossed:
            continue
        t, basis = max(crossed, key=lambda c: (c[0], c[1] == "actual"))
        observed = p.actual_to_date if basis == "actual" else projected
        severity = "critical" if basis == "actual" else "warning"
        month_end = p.month.replace(day=calendar.monthrange(p.month.year, p.month.month)[1])
        alerts.append(Alert(
            kind="budget", severity=severity,
            title=f"Budget {int(t * 100)}% {'reached' if basis == 'actual' else 'projected'}: {scope_type} {scope_value}",
            summary=(f"{scope_type} {scope_value} has spent ${p.actual_to_date:,.2f} of its "
                     f"${amount:,.2f} budget for {p.month:%B %Y}"
                     + (f" and is projected to reach ${projected:,.2f}" if projected is not None else "")
                     + f" ({basis} spend crossed {int(t * 100)}%)."),
            dimension=scope_type, value=scope_value,
            window_start=p.month.isoformat(), window_end=month_end.isoformat(),
            observed=round(observed, 2), expected=round(amount, 2), cause="other",
            cause_detail=f"{basis} spend >= {t:.0%} of budget", link=link,
            dedup_key=f"budget|{scope_type}|{scope_value}|{p.month}|{t}|{basis}",
        ))  # fmt: skip
    return rows, alerts


def anomaly_alerts(
    con: duckdb.DuckDBPyConnection, thresholds: Thresholds, link: str, as_of: date | None = None
) -> tuple[list[dict], list[Alert]]:
    """Findings (a row each, for analytics.spend_anomalies) and one alert per incident; `as_of`
    judges that day as if it were the newest (the backtest)."""
    found = with_causes(
        con,
        daily_anomalies(con, thresholds, as_of) + hourly_anomalies(con, thresholds, as_of),
    )
    found = with_true_price_changes(con, without_single_call_spikes(con, found, thresholds))
    incidents = group_incidents(found, shared_calls(con, found))
    alerts = [incident_alert(i, link) for i in incidents]
    key_of = {
        id(f): a.dedup_key for i, a in zip(incidents, alerts, strict=True) for f in i.findings
    }
    rows = [
        {k: v for k, v in f.items() if k not in ("cause_parts", "largest_call")}
        | {"incident_key": key_of[id(f)]}
        for f in found
    ]
    return rows, alerts
