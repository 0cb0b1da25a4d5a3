"""What a candidate anomaly really is, before it becomes an alert: its cause (the largest part of
the day's change in `marts.mart_cost_change_drivers`, a price change only when a price really
changed), whether one expensive call makes it, and which findings are the same calls seen from
two dimensions (grouped into one incident by incidents.py)."""

from __future__ import annotations

import duckdb

from orchestration.alerts.anomalies import Thresholds, scope_column


def with_causes(con: duckdb.DuckDBPyConnection, anomalies: list[dict]) -> list[dict]:
    """Attach the day's largest contributor from the "why" mart (hours take their day's)."""
    if not anomalies:
        return []
    causes = {
        (s, v, str(d)): (c, parts)
        for s, v, d, c, *parts in con.execute(
            """select scope_type, scope_value, usage_date, main_cause, more_requests, more_retries,
                      longer_prompts, longer_completions, model_mix, cache_misses, price_change
               from marts.mart_cost_change_drivers"""
        ).fetchall()
    }
    names = ["more_requests", "more_retries", "longer_prompts", "longer_completions", "model_mix",
             "cache_misses", "price_change"]  # fmt: skip
    out = []
    for a in anomalies:
        day = str(a["window"])[:10]
        _, parts = causes.get((a["scope_type"], a["scope_value"], day), ("other", None))
        detail = {n: round(p, 4) for n, p in zip(names, parts, strict=True)} if parts else {}
        # An increase is caused by what added cost: the largest positive part (a part that
        # lowered cost, however large, explains no excess).
        rising = {n: v for n, v in detail.items() if v > 0}
        cause = max(rising, key=rising.get) if rising else "other"
        out.append(dict(a, cause=cause, cause_parts=detail))
    return out


# The most expensive single call of each candidate's window (set-based: one pass over the
# attempts of the judged days, unpivoted to the scopes of the candidates).
LARGEST_CALL_SQL = """
with c as (select * from candidates),
a as (
    select event_at, total_cost::double as cost, {columns}
    from marts.fct_llm_attempts
    where event_at >= (select min(win_start) from c) and total_cost is not null
),
scoped as (
    {unpivot}
)
select c.scope_type, c.scope_value, c.win_start, max(s.cost) as largest_call
from c join scoped s on s.scope_type = c.scope_type and s.scope_value = c.scope_value
    and s.event_at >= c.win_start and s.event_at < c.win_end
group by all
"""


def _largest_call_sql(scopes: list[str]) -> str:
    # Values as text: a custom dimension may be an integer or a boolean column.
    unpivot = "\n    union all ".join(
        f"select '{s}' as scope_type, cast({scope_column(s)} as varchar) as scope_value, "
        "event_at, cost from a"
        for s in scopes
    )
    columns = ", ".join(dict.fromkeys(scope_column(s) for s in scopes))
    return LARGEST_CALL_SQL.format(columns=columns, unpivot=unpivot)


def without_single_call_spikes(
    con: duckdb.DuckDBPyConnection, found: list[dict], t: Thresholds
) -> list[dict]:
    """Drop findings whose excess is mostly one call (see Thresholds.max_single_call_share)."""
    if not found:
        return []
    import pandas as pd

    candidates = pd.DataFrame([{
        "scope_type": a["scope_type"], "scope_value": str(a["scope_value"]),
        "win_start": pd.Timestamp(a["window"]),
        "win_end": pd.Timestamp(a["window"]) + pd.Timedelta(days=1 if a["granularity"] == "day" else 0,
                                                            hours=0 if a["granularity"] == "day" else 1),
    } for a in found])  # fmt: skip
    con.register("candidates", candidates)
    try:
        largest = {
            (s, v, pd.Timestamp(w)): c
            for s, v, w, c in con.execute(
                _largest_call_sql(sorted({a["scope_type"] for a in found}))
            ).fetchall()
        }
    finally:
        con.unregister("candidates")
    kept = []
    for a in found:
        call = (
            largest.get((a["scope_type"], str(a["scope_value"]), pd.Timestamp(a["window"])), 0.0)
            or 0.0
        )
        excess = a["observed"] - a["expected"]
        if call <= t.max_single_call_share * excess:
            kept.append(dict(a, largest_call=call))
    return kept


def with_true_price_changes(con: duckdb.DuckDBPyConnection, found: list[dict]) -> list[dict]:
    """`price_change` only when a price version or contract the scope used started inside the
    comparison window (its 7 days before through the window's end); otherwise the per-token cost
    moved because of the calls' mix (long context, service tier, ...): `tier_or_context_mix`."""
    out = []
    for a in found:
        if a.get("cause") != "price_change":
            out.append(a)
            continue
        column = scope_column(a["scope_type"])
        start = a["window"]
        changed = con.execute(
            f"""
            with used as (
                select distinct provider, model, price_version_id from marts.fct_llm_attempts
                where {column} = ? and event_at >= cast(? as timestamp) - interval 7 day
                  and event_at < cast(? as timestamp) + interval 1 day
            )
            select exists (
                select 1 from used u join marts.dim_price_versions v using (price_version_id)
                where v.valid_from > cast(? as timestamp) - interval 7 day
                  and v.valid_from < cast(? as timestamp) + interval 1 day
            ) or exists (
                select 1 from used u join intermediate.int_contract_versions k
                    on k.provider = u.provider
                    and (coalesce(k.model_pattern, '') = '' or regexp_full_match(u.model, k.model_pattern))
                where k.valid_from > cast(? as timestamp) - interval 7 day
                  and k.valid_from < cast(? as timestamp) + interval 1 day
            )""",
            [a["scope_value"], start, start, start, start, start, start],
        ).fetchone()[0]
        out.append(a if changed else dict(a, cause="tier_or_context_mix"))
    return out


# Cost of the attempts two findings of one day share, in the finer of their two windows.
SHARED_COST_SQL = """
with p as (select * from pairs)
select p.i, p.j, coalesce(sum(a.total_cost), 0)::double as shared
from p left join marts.fct_llm_attempts a
    on a.event_at >= p.win_start and a.event_at < p.win_end
    and ({value_of_i}) = p.value_i
    and ({value_of_j}) = p.value_j
group by all
"""


def _scope_value_sql(type_column: str, scopes: list[str]) -> str:
    """The attempt's value (as text) of the scope named in `type_column` of the pairs."""
    whens = " ".join(f"when '{s}' then cast(a.{scope_column(s)} as varchar)" for s in scopes)
    return f"case {type_column} {whens} end"


def shared_calls(
    con: duckdb.DuckDBPyConnection, found: list[dict], min_share: float = 0.5
) -> set[tuple[int, int]]:
    """Pairs (i, j) of findings of one day, of different dimensions, whose shared calls make up
    at least `min_share` of the smaller one's cost: the same calls seen from two sides."""
    import pandas as pd

    rows = []
    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            b = found[j]
            if a["scope_type"] == b["scope_type"] or str(a["window"])[:10] != str(b["window"])[:10]:
                continue
            hourly = [f for f in (a, b) if f["granularity"] == "hour"]
            if len(hourly) == 2 and str(a["window"]) != str(b["window"]):
                continue  # two different hours
            start = pd.Timestamp((hourly[0] if hourly else a)["window"])
            end = start + (pd.Timedelta(hours=1) if hourly else pd.Timedelta(days=1))
            rows.append({"i": i, "j": j, "win_start": start, "win_end": end,
                         "type_i": a["scope_type"], "value_i": str(a["scope_value"]),
                         "type_j": b["scope_type"], "value_j": str(b["scope_value"]),
                         "smaller": min(a["observed"], b["observed"])})  # fmt: skip
    if not rows:
        return set()
    pairs = pd.DataFrame(rows)
    con.register("pairs", pairs)
    try:
        scopes = sorted({f["scope_type"] for f in found})
        sql = SHARED_COST_SQL.format(
            value_of_i=_scope_value_sql("p.type_i", scopes),
            value_of_j=_scope_value_sql("p.type_j", scopes),
        )
        shared = {(i, j): c for i, j, c in con.execute(sql).fetchall()}
    finally:
        con.unregister("pairs")
    return {
        (r["i"], r["j"])
        for r in rows
        if shared.get((r["i"], r["j"]), 0.0) >= min_share * r["smaller"]
    }
