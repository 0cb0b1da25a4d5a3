"""The daily and weekly digest: spend against the period before, the top movers, the month-end
forecast and budgets, and the incidents of the period, with a chart.

Built from the marts (set-based reads) and sent as one `digest` alert: to the webhook (Slack
blocks, or the JSON payload with the digest in `details`) and by email with the chart attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.alerts.model import Alert
from orchestration.alerts.scan import budget_alerts, daily_spend, data_as_of, forecasts

PERIOD_DAYS = {"daily": 1, "weekly": 7}
MOVER_DIMENSIONS = {"tenant": "tenant_id", "feature": "feature", "model": "model"}

# Spend on the platform's keys after contract discounts, per day and dimension value.
MOVERS_SQL = """
with spend as (
    select {column} as value,
           sum(case when usage_date between ? and ? then net_cost else 0 end)::double as now,
           sum(case when usage_date between ? and ? then net_cost else 0 end)::double as before
    from marts.agg_usage_daily_by_tenant
    where key_source = 'system' and usage_date between ? and ?
    group by 1
)
select value, now, before, now - before as change from spend
where now - before <> 0
order by abs(now - before) desc, value
limit 3
"""


@dataclass(frozen=True)
class Digest:
    period: str  # daily | weekly
    start: date
    end: date  # inclusive
    spend: float
    previous: float
    movers: dict[str, list[dict]]  # dimension -> [{value, now, before, change}]
    forecast: dict | None
    budgets: list[dict]
    incidents: list[dict]  # {title, summary, cause, window_start}

    @property
    def change_pct(self) -> float | None:
        return (self.spend / self.previous - 1) * 100 if self.previous else None

    def lines(self) -> list[str]:
        """The digest as text lines (email body, Slack sections)."""
        span = f"{self.start}" if self.start == self.end else f"{self.start} .. {self.end}"
        change = f" ({self.change_pct:+.1f} %)" if self.change_pct is not None else ""
        out = [
            f"Spend {span}: ${self.spend:,.2f}, previous {self.period} period ${self.previous:,.2f}{change}."
        ]
        for dimension, rows in self.movers.items():
            if rows:
                out.append(f"Top {dimension} movers: " + "; ".join(
                    f"{r['value']} {r['change']:+,.2f} (${r['now']:,.2f})" for r in rows))  # fmt: skip
        if self.forecast:
            f = self.forecast
            interval = (f" (80 %: ${f['lower']:,.2f} .. ${f['upper']:,.2f})"
                        if f["status"] == "ok" else " (too few days for a projection)")  # fmt: skip
            total = f"${f['projected_total']:,.2f}" if f["projected_total"] is not None else "n/a"
            out.append(
                f"Month-end forecast {f['month']}: {total}{interval}; spent ${f['actual_to_date']:,.2f} so far."
            )
        for b in self.budgets:
            out.append(f"Budget {b['scope_type']} {b['scope_value']}: ${b['actual_to_date']:,.2f} of "
                       f"${b['budget_usd']:,.2f} spent, projected "
                       + (f"${b['projected_total']:,.2f}." if b["projected_total"] is not None else "n/a."))  # fmt: skip
        if self.incidents:
            out.append(
                f"{len(self.incidents)} incident(s): "
                + " | ".join(i["summary"] for i in self.incidents)
            )
        else:
            out.append("No spend incidents.")
        return out


def build_digest(con: duckdb.DuckDBPyConnection, period: str, incidents: list[dict],
                 budgets: pd.DataFrame | None = None) -> Digest | None:  # fmt: skip
    """The digest of the last complete `period` before the newest data (None: no usage yet)."""
    as_of = data_as_of(con)
    if as_of is None:
        return None
    days = PERIOD_DAYS[period]
    end = as_of.date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    before_end, before_start = start - timedelta(days=1), start - timedelta(days=days)
    movers = {}
    for dimension, column in MOVER_DIMENSIONS.items():
        rows = con.execute(MOVERS_SQL.format(column=column),
                           [start, end, before_start, before_end, before_start, end]).fetchall()  # fmt: skip
        movers[dimension] = [{"value": v, "now": round(n, 2), "before": round(b, 2), "change": round(c, 2)}
                             for v, n, b, c in rows]  # fmt: skip
    spend = daily_spend(con)
    org = spend[spend.scope_type == "organisation"]
    days_col = pd.to_datetime(org.usage_date).dt.date
    total = float(org[(days_col >= start) & (days_col <= end)].spend.sum())
    previous = float(org[(days_col >= before_start) & (days_col <= before_end)].spend.sum())
    projections = forecasts(spend, as_of)
    org_projection = next((p for t, _, p in projections if t == "organisation"), None)
    forecast = None
    if org_projection is not None:
        p = org_projection
        forecast = {"month": f"{p.month:%Y-%m}", "actual_to_date": round(p.actual_to_date, 2),
                    "projected_total": None if p.projected_total is None else round(p.projected_total, 2),
                    "lower": None if p.lower is None else round(p.lower, 2),
                    "upper": None if p.upper is None else round(p.upper, 2), "status": p.status}  # fmt: skip
    budget_rows = budget_alerts(budgets, projections, "")[0] if budgets is not None else []
    in_period = [
        i
        for i in incidents
        if start.isoformat() <= (i.get("window_start") or "")[:10] <= end.isoformat()
    ]
    return Digest(period, start, end, round(total, 2), round(previous, 2), movers, forecast,
                  budget_rows, in_period)  # fmt: skip


def chart(con: duckdb.DuckDBPyConnection, digest: Digest, path: Path) -> Path:
    """Organisation spend per day over 30 days, the digest's period highlighted (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spend = daily_spend(con)
    org = spend[spend.scope_type == "organisation"].sort_values("usage_date")
    days = pd.to_datetime(org.usage_date).dt.date
    window = org[(days > digest.end - timedelta(days=30)) & (days <= digest.end)]
    window_days = pd.to_datetime(window.usage_date).dt.date
    colours = ["#d62728" if digest.start <= d <= digest.end else "#1f77b4" for d in window_days]
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.bar(pd.to_datetime(window.usage_date), window.spend, color=colours)
    ax.set_title(f"Daily spend, 30 days to {digest.end} ({digest.period} digest in red)")
    ax.set_ylabel("USD")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def digest_alert(digest: Digest, link: str, chart_path: Path | None) -> Alert:
    title = f"tokenlake {digest.period} digest: {digest.end}" if digest.period == "daily" else (
        f"tokenlake weekly digest: {digest.start} .. {digest.end}")  # fmt: skip
    lines = digest.lines()
    return Alert(
        kind="digest", severity="info", title=title, summary=lines[0],
        dimension="organisation", value="all", window_start=digest.start.isoformat(),
        window_end=(digest.end + timedelta(days=1)).isoformat(), observed=digest.spend,
        expected=digest.previous, cause="other", cause_detail=" ".join(lines[1:])[:2000],
        link=link, dedup_key=f"digest|{digest.period}|{digest.end}",
        details={"lines": lines, "movers": digest.movers, "forecast": digest.forecast,
                 "budgets": [{k: str(v) if isinstance(v, date) else v for k, v in b.items()}
                             for b in digest.budgets],
                 "incidents": digest.incidents, "chart": str(chart_path) if chart_path else None,
                 "built_at": datetime.now(UTC).isoformat(timespec="seconds")},
    )  # fmt: skip
