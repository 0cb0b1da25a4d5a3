"""Spend anomalies per feature, tenant and model, daily and hourly, with their likely cause.

A day is compared with the 7 days before it; an hour with the same hour of the 7 days before,
each earlier value scaled to the judged day's weekday (organisation-wide weekday factors over
five weeks), so that quiet weekends neither hide an incident nor make Monday look like one.
The yardstick is robust: the median of those 7 values and their spread (1.4826 x MAD, floored
at `relative_floor` x median so that a perfectly flat history does not make every cent an
anomaly). A scope is anomalous when its robust z-score reaches `z_threshold` and it spends at
least `min_excess_usd` more than its median over at least `min_attempts` calls: one spike does
not hide the next (it moves the median little), and tiny scopes do not alert. Each finding's
cause and review: anomaly_review.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

# The built-in dimensions and their columns; a custom dimension (orchestration/dimensions.py) is
# its own column in the rollups and the attempts.
SCOPES = {"feature": "feature", "tenant": "tenant_id", "model": "model"}


def scope_column(scope: str) -> str:
    """The rollups' and attempts' column a scope groups by."""
    return SCOPES.get(scope, scope)


@dataclass(frozen=True)
class Thresholds:
    z_threshold: float = 3.5
    min_excess_usd: float = 1.0
    relative_floor: float = 0.25
    min_attempts: int = 5
    days_back: int = 7  # how many recent complete days a scan judges
    hours_back: int = 24  # how many recent complete hours a scan judges
    # The least excess worth an alert per dimension (feature, tenant, model), over min_excess_usd.
    min_excess_by_dimension: tuple[tuple[str, float], ...] = ()
    # What spend is grouped by: SCOPES' names and custom dimensions (TOKENLAKE_ANOMALY_DIMENSIONS).
    scopes: tuple[str, ...] = tuple(SCOPES)
    # An excess of which one call makes up more than this share is one expensive call (a long
    # document, a retry storm of one request), not a change in how a scope spends.
    max_single_call_share: float = 0.5
    # The least excess worth a message, as a share of the organisation's usual daily spend; an
    # hour alerts on its own only for a larger one (a real incident also shows in its day).
    min_share_of_org: float = 0.05
    min_share_of_org_hourly: float = 0.10

    def min_excess(self, dimension: str) -> float:
        return dict(self.min_excess_by_dimension).get(dimension, self.min_excess_usd)


DAILY_SQL = """
with last_day as (
    -- The newest complete day (the running day is still filling up), or the backtest's day.
    {last_day}
),
series as (
    select cast({column} as varchar) as scope_value, usage_date as day, sum(total_cost)::double as cost, sum(attempts) as attempts
    from marts.agg_usage_daily
    where usage_date >= (select day from last_day) - {span}
    group by all
),
scopes as (select distinct scope_value from series),
{weekday_factors},
days as (
    select unnest(generate_series((select day from last_day) - {span}, (select day from last_day),
                                  interval 1 day))::date as day
),
grid as (
    select s.scope_value, d.day, coalesce(x.cost, 0) as cost, coalesce(x.attempts, 0) as attempts
    from scopes s cross join days d
    left join series x on x.scope_value = s.scope_value and x.day = d.day
),
history as (
    -- Each earlier day scaled to the weekday of the day judged (weekends are quieter).
    select g.scope_value, g.day, g.cost, g.attempts,
           list(h.cost * fg.factor / fh.factor) as hist
    from grid g
    join grid h on h.scope_value = g.scope_value and h.day between g.day - 7 and g.day - 1
    join weekday_factors fg on fg.dow = isodow(g.day)
    join weekday_factors fh on fh.dow = isodow(h.day)
    where g.day > (select day from last_day) - {days_back} and g.cost > 0
    group by all
)
select '{scope}' as scope_type, scope_value, day, cost, attempts, list_median(hist) as med,
       list_median(list_transform(hist, lambda v: abs(v - list_median(hist)))) as mad,
       null::double as week_max
from history
"""


# The organisation's spend per weekday relative to its mean over the last five weeks: history
# is compared at the same weekday level (a Saturday is not judged against weekdays).
WEEKDAY_FACTORS = """weekday_factors as (
    select isodow(usage_date) as dow,
           coalesce(avg(cost) / nullif((select avg(cost) from (
               select usage_date, sum(total_cost)::double as cost from marts.agg_usage_daily
               where usage_date >= (select max(usage_date) from marts.agg_usage_daily) - 35
               group by 1)), 0), 1) as factor
    from (select usage_date, sum(total_cost)::double as cost from marts.agg_usage_daily
          where usage_date >= (select max(usage_date) from marts.agg_usage_daily) - 35
          group by 1)
    group by 1
)"""


def _robust(rows: list[tuple], t: Thresholds, org_daily: float = 0.0) -> list[dict]:
    """Anomalous rows. The least excess worth a message scales with the organisation (a share
    of its usual daily spend: a small tenant's $2 swing is not news) and may be set per
    dimension; an hour must also beat the scope's dearest hour of the week before (an agent
    whose calls come in bursts alerts on a burst larger than its usual ones, not on each)."""
    found = []
    for scope_type, value, window, cost, attempts, med, mad, *week_max in rows:
        hourly = bool(week_max) and week_max[0] is not None
        floor_share = (t.min_share_of_org_hourly if hourly else t.min_share_of_org) * org_daily
        if attempts < t.min_attempts:
            continue  # one expensive call is not a trend
        if hourly and cost <= week_max[0]:
            continue
        med = med or 0.0
        spread = max(1.4826 * (mad or 0.0), t.relative_floor * med, 0.01)
        z = (cost - med) / spread
        if z >= t.z_threshold and cost - med >= max(t.min_excess(scope_type), floor_share):
            found.append({"scope_type": scope_type, "scope_value": value, "window": window,
                          "observed": cost, "expected": med, "z": z})  # fmt: skip
    return found


def daily_anomalies(
    con: duckdb.DuckDBPyConnection, t: Thresholds, as_of: date | None = None
) -> list[dict]:
    """Anomalous days among the `t.days_back` complete days up to the newest one (or `as_of`)."""
    last_day = _last_day_sql(as_of)
    rows = []
    for scope in t.scopes:
        sql = DAILY_SQL.format(
            last_day=last_day,
            scope=scope,
            column=scope_column(scope),
            span=t.days_back + 7,
            days_back=t.days_back,
            weekday_factors=WEEKDAY_FACTORS,
        )
        rows += con.execute(sql).fetchall()
    return [dict(a, granularity="day") for a in _robust(rows, t, org_usual_daily(con, last_day))]


HOURLY_SQL = """
with last_hour as (
    -- The newest complete hour, or the backtest day's last hour.
    {last_hour}
),
series as (
    select cast({column} as varchar) as scope_value, usage_hour as hour, sum(total_cost)::double as cost, sum(attempts) as attempts
    from marts.agg_usage_hourly
    where usage_hour >= (select hour from last_hour) - interval {span} day
    group by all
),
scopes as (select distinct scope_value from series),
{weekday_factors},
hours as (
    select unnest(generate_series((select hour from last_hour) - interval {span} day,
                                  (select hour from last_hour), interval 1 hour)) as hour
),
grid as (
    select s.scope_value, h.hour, coalesce(x.cost, 0) as cost, coalesce(x.attempts, 0) as attempts,
           -- The scope's dearest hour of the week before: a bursty agent's usual bursts.
           max(coalesce(x.cost, 0)) over (partition by s.scope_value order by h.hour
                                          rows between 168 preceding and 1 preceding) as week_max
    from scopes s cross join hours h
    left join series x on x.scope_value = s.scope_value and x.hour = h.hour
),
history as (
    select g.scope_value, g.hour, g.cost, g.attempts, g.week_max,
           list(h.cost * fg.factor / fh.factor) as hist
    from grid g
    join weekday_factors fg on fg.dow = isodow(g.hour)
    join grid h on h.scope_value = g.scope_value
        and h.hour in (g.hour - interval 1 day, g.hour - interval 2 day, g.hour - interval 3 day,
                       g.hour - interval 4 day, g.hour - interval 5 day, g.hour - interval 6 day,
                       g.hour - interval 7 day)
    join weekday_factors fh on fh.dow = isodow(h.hour)
    where g.hour > (select hour from last_hour) - interval {hours_back} hour
      and g.cost > 0
    group by all
)
select '{scope}' as scope_type, scope_value, hour, cost, attempts, list_median(hist) as med,
       list_median(list_transform(hist, lambda v: abs(v - list_median(hist)))) as mad,
       week_max
from history
"""


def hourly_anomalies(
    con: duckdb.DuckDBPyConnection, t: Thresholds, as_of: date | None = None
) -> list[dict]:
    """Anomalous hours among the `t.hours_back` complete hours up to the newest (or `as_of`'s last)."""
    last_hour = (
        f"select timestamp '{as_of.isoformat()} 23:00:00' as hour"
        if as_of
        else "select max(usage_hour) - interval 1 hour as hour from marts.agg_usage_hourly"
    )
    rows = []
    for scope in t.scopes:
        sql = HOURLY_SQL.format(
            last_hour=last_hour,
            scope=scope, column=scope_column(scope), span=8, hours_back=t.hours_back,
            weekday_factors=WEEKDAY_FACTORS,
        )  # fmt: skip
        rows += con.execute(sql).fetchall()
    return [
        dict(a, granularity="hour")
        for a in _robust(rows, t, org_usual_daily(con, _last_day_sql(as_of)))
    ]


def _last_day_sql(as_of: date | None) -> str:
    """The day judged: the newest complete one (the running day is still filling up), or `as_of`."""
    if as_of:
        return f"select date '{as_of.isoformat()}' as day"
    return "select cast(max(usage_hour) as date) - 1 as day from marts.agg_usage_hourly"


def org_usual_daily(con: duckdb.DuckDBPyConnection, last_day_sql: str) -> float:
    """The organisation's median daily spend over the 7 days before the judged day."""
    value = con.execute(
        f"""with last_day as ({last_day_sql})
            select median(cost) from (
                select usage_date, sum(total_cost)::double as cost from marts.agg_usage_daily
                where usage_date between (select day from last_day) - 7 and (select day from last_day) - 1
                group by 1)"""
    ).fetchall()[0][0]  # fetched to the end: the connection is free for register()
    return float(value or 0.0)
