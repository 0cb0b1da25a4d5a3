"""Marts benchmark: `dbt build` vs a hand-written DuckDB script, incremental runs, dashboard queries.

    python -m benchmarks.marts_bench --events 1000000 [--events 10000000 ...]

For each size: demo logs are generated (cached under $TOKENLAKE_HOME/bench/), ingested with the
project's pipeline, and then, each timed on its own copy of that warehouse:

* full    `dbt build` as Dagster runs it (models, snapshots, seeds, data tests scoped to the
          rows the run writes: on a first build, every row; unit tests are for CI) and
          `dbt run` (models only);
* hand    one DuckDB script doing the same pricing (pattern match, version in force, tier,
          batch, long context, cache components, contract discount, cache savings) and the
          hourly and daily rollups with every measure the marts have; both are checked to agree
          on the row count and every measure's total at both grains (`same_rollups`);
* incr    one more hour of events ingested, then `dbt build` again (incremental models);
* publish the marts published to the read-only DuckDB file BI tools read (with its indexes);
* queries the queries a dashboard runs, 20 times each, on the published file (what a BI tool
          reads) and on the warehouse: p50 / p95 in ms.

Results go to $TOKENLAKE_HOME/bench/marts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.settings import DBT_BUILD_ARGS, DBT_PROJECT_DIR, REPO_ROOT, Settings

DBT = str(Path(sys.executable).with_name("dbt"))
END = datetime(2026, 11, 20, 18, tzinfo=UTC)

# What both hand-written rollups compute per bucket (the marts' usage_rollup() measures).
HAND_ROLLUP_MEASURES = """count(*) as attempts,
    sum(case when attempt = 1 then 1 else 0 end) as requests,
    sum(case when attempt > 1 then 1 else 0 end) as retries,
    sum(case when status <> 'ok' then 1 else 0 end) as errors,
    sum(case when status = 'rate_limited' then 1 else 0 end) as rate_limited,
    sum(case when is_priced then 0 else 1 end) as unpriced_attempts,
    sum(input_tokens) as input_tokens, sum(uncached_input_tokens) as uncached_input_tokens,
    sum(cache_read_tokens) as cache_read_tokens, sum(cache_write_tokens) as cache_write_tokens,
    sum(output_tokens) as output_tokens, sum(reasoning_tokens) as reasoning_tokens,
    coalesce(sum(uncached_input_cost), 0) as uncached_input_cost,
    coalesce(sum(cache_read_cost), 0) as cache_read_cost,
    coalesce(sum(cache_write_cost), 0) as cache_write_cost,
    coalesce(sum(output_cost), 0) as output_cost,
    coalesce(sum(total_cost), 0) as total_cost, coalesce(sum(net_cost), 0) as net_cost,
    coalesce(sum(cache_savings), 0) as cache_savings,
    sum(latency_ms) as latency_sum_ms, count(latency_ms) as latency_count,
    quantile_cont(latency_ms, 0.5) as latency_p50_ms,
    quantile_cont(latency_ms, 0.95) as latency_p95_ms"""

HAND_SQL = """
set TimeZone = 'UTC';
create or replace table book as
select provider, model_pattern, coalesce(nullif(service_tier, ''), 'standard') as tier,
       cast(effective_from as timestamp) as valid_from,
       cast(input_per_mtok as decimal(18, 6)) as input_price,
       cast(output_per_mtok as decimal(18, 6)) as output_price,
       cast(nullif(cache_read_per_mtok, '') as decimal(18, 6)) as cache_read_price,
       cast(nullif(cache_write_per_mtok, '') as decimal(18, 6)) as cache_write_price,
       cast(nullif(cache_write_1h_per_mtok, '') as decimal(18, 6)) as cache_write_1h_price,
       cast(nullif(long_context_threshold, '') as bigint) as threshold,
       cast(nullif(long_context_input_per_mtok, '') as decimal(18, 6)) as long_input_price,
       cast(nullif(long_context_output_per_mtok, '') as decimal(18, 6)) as long_output_price,
       cast(coalesce(nullif(batch_discount, ''), '0') as decimal(6, 4)) as batch_discount
from read_csv('{book}', all_varchar = true, header = true);
create or replace table versions as
select *, lead(valid_from) over (partition by provider, model_pattern, tier order by valid_from) as valid_to
from book;
create or replace table matches as
select m.provider, m.model, p.model_pattern
from (select distinct provider, model from raw.usage_events) m
join (select distinct provider, model_pattern from book) p
  on p.provider = m.provider and (p.model_pattern = m.model or regexp_full_match(m.model, p.model_pattern))
qualify row_number() over (partition by m.provider, m.model
                           order by (p.model_pattern = m.model) desc, length(p.model_pattern) desc) = 1;
-- Contract discounts: per model, the longest matching pattern in force wins ('' = provider-wide);
-- periods between the model's contract boundaries, so each attempt joins one row.
create or replace table contracts as
select provider, coalesce(model_pattern, '') as model_pattern, cast(effective_from as timestamp) as valid_from,
       lead(cast(effective_from as timestamp)) over (partition by provider, coalesce(model_pattern, '')
                                                     order by effective_from) as valid_to,
       cast(discount_pct as decimal(6, 4)) as discount_pct
from read_csv('{contracts}', all_varchar = true, header = true);
create or replace table contract_periods as
with models as (
    select distinct m.provider, m.model, c.model_pattern
    from (select distinct provider, model from raw.usage_events) m
    join contracts c on c.provider = m.provider
     and (c.model_pattern = '' or c.model_pattern = m.model or regexp_full_match(m.model, c.model_pattern))
),
bounds as (
    select distinct provider, model, bound_at
    from (select m.provider, m.model, unnest([c.valid_from, c.valid_to]) as bound_at
          from models m join contracts c using (provider, model_pattern))
    where bound_at is not null
),
periods as (
    select *, lead(bound_at) over (partition by provider, model order by bound_at) as period_end from bounds
)
select p.provider, p.model, p.bound_at as period_start, p.period_end, c.discount_pct
from periods p join models m using (provider, model) join contracts c
  on c.provider = m.provider and c.model_pattern = m.model_pattern
 and p.bound_at >= c.valid_from and (c.valid_to is null or p.bound_at < c.valid_to)
qualify row_number() over (partition by p.provider, p.model, p.bound_at
                           order by length(c.model_pattern) desc, c.model_pattern) = 1;
create or replace table priced as
with attempts as (
    select e.request_id, cast(e.attempt as integer) as attempt, cast(e."timestamp" as timestamp) as event_at,
           e.tenant_id, e.user_id, e.feature, e.agent, e.action_type, e.provider, e.model, e.region,
           e.key_source, e.status, e.service_tier, e.input_tokens, e.cache_read_tokens,
           e.cache_write_tokens, e.cache_write_1h_tokens,
           e.input_tokens - e.cache_read_tokens - e.cache_write_tokens as uncached_input_tokens,
           e.output_tokens, e.reasoning_tokens, e.latency_ms, m.model_pattern
    from raw.usage_events e left join matches m using (provider, model)
),
chosen as (
    select a.request_id, a.attempt, v.*
    from attempts a join versions v
      on v.provider = a.provider and v.model_pattern = a.model_pattern
     and v.tier in (a.service_tier, 'standard')
     and a.event_at >= v.valid_from and (v.valid_to is null or a.event_at < v.valid_to)
    qualify row_number() over (partition by a.request_id, a.attempt
                               order by case when v.tier = a.service_tier then 0 else 1 end) = 1
),
rated as (
    select a.*, c.input_price is not null as is_priced,
           coalesce(a.input_tokens > c.threshold, false) as long_ctx,
           case when a.service_tier = 'batch' and c.tier = 'standard' then 1 - c.batch_discount else 1 end as f,
           c.input_price, c.output_price, c.cache_read_price, c.cache_write_price,
           c.cache_write_1h_price, c.long_input_price, c.long_output_price
    from attempts a left join chosen c using (request_id, attempt)
),
p as (
    select *, case when long_ctx then long_input_price else input_price end as in_p,
              case when long_ctx then long_output_price else output_price end as out_p,
              case when long_ctx then long_input_price / nullif(input_price, 0) else 1 end as mult
    from rated
),
costs as (
    select *,
      cast(uncached_input_tokens * in_p * f / 1000000 as decimal(18, 10)) as uncached_input_cost,
      cast(cache_read_tokens * coalesce(cache_read_price, input_price) * mult * f / 1000000 as decimal(18, 10)) as cache_read_cost,
      cast(cast((cache_write_tokens - cache_write_1h_tokens) * coalesce(cache_write_price, input_price) * mult * f / 1000000 as decimal(18, 10))
      + cast(cache_write_1h_tokens * coalesce(cache_write_1h_price, cache_write_price, input_price) * mult * f / 1000000 as decimal(18, 10))
        as decimal(18, 10)) as cache_write_cost,
      cast(output_tokens * out_p * f / 1000000 as decimal(18, 10)) as output_cost
    from p
),
totals as (
    select costs.*, cast(uncached_input_cost + cache_read_cost + cache_write_cost + output_cost as decimal(18, 10)) as total_cost,
      cast(case when not is_priced then null when f < 1 then (uncached_input_cost + cache_read_cost + cache_write_cost + output_cost) / f * (1 - f)
                else 0 end as decimal(18, 10)) as batch_discount_amount,
      case when is_priced then cast(cache_read_tokens * (in_p - coalesce(cache_read_price, input_price) * mult) * f
                                    / 1000000 as decimal(18, 10)) end as cache_savings,
      case when is_priced then coalesce(d.discount_pct, 0) end as contract_discount_pct
    from costs left join contract_periods d
      on d.provider = costs.provider and d.model = costs.model
     and costs.event_at >= d.period_start and (d.period_end is null or costs.event_at < d.period_end)
)
select *, cast(total_cost * (1 - coalesce(contract_discount_pct, 0)) as decimal(18, 10)) as net_cost
from totals;
create or replace table hourly as
select date_trunc('hour', event_at) as usage_hour, tenant_id, user_id, feature, agent, action_type,
       provider, model, region, key_source, status, {measures}
from priced group by all order by usage_hour;
create or replace table daily as
select cast(event_at as date) as usage_date, tenant_id, user_id, feature, agent, action_type,
       provider, model, region, key_source, status, {measures}
from priced group by all order by usage_date;
"""

# The rollups' measures: the hand script's and the marts' totals of each must agree.
ROLLUP_MEASURES = [
    "attempts", "requests", "retries", "errors", "rate_limited", "unpriced_attempts",
    "input_tokens", "uncached_input_tokens", "cache_read_tokens", "cache_write_tokens",
    "output_tokens", "reasoning_tokens", "uncached_input_cost", "cache_read_cost",
    "cache_write_cost", "output_cost", "total_cost", "net_cost", "cache_savings",
    "latency_sum_ms", "latency_count",
]  # fmt: skip


def rollup_totals(database: Path, hourly: str, daily: str) -> list[float]:
    """Row count and every measure's total of the hourly and the daily rollup."""
    sums = ", ".join(f"sum({m})" for m in ROLLUP_MEASURES)
    with duckdb.connect(str(database), read_only=True) as con:
        return [
            float(value or 0)
            for table in (hourly, daily)
            for value in con.execute(f"select count(*), {sums} from {table}").fetchone()
        ]


# What a dashboard asks (the day filters use the newest day of data).
DASHBOARD_QUERIES = {
    "daily_cost_by_feature_30d": """select usage_date, feature, sum(total_cost) from marts.agg_usage_daily
        where usage_date >= (select max(usage_date) - 30 from marts.agg_usage_daily) group by 1, 2""",
    "hourly_cost_7d": """select usage_hour, sum(total_cost) from marts.agg_usage_hourly
        where usage_hour >= (select max(usage_hour) - interval 7 day from marts.agg_usage_hourly) group by 1""",
    "tenant_ranking": "select * from marts.mart_tenant_ranking order by cost_rank limit 20",
    "feature_ranking": "select * from marts.mart_feature_ranking order by cost_rank",
    "model_efficiency": "select * from marts.mart_model_efficiency order by total_cost desc",
    "why_today": """select * from marts.mart_cost_change_drivers
        where usage_date = (select max(usage_date) from marts.mart_cost_change_drivers)
        order by cost_change desc limit 10""",
    "heatmap": "select * from marts.mart_usage_heatmap",
    "cache_savings_30d": """select model, sum(estimated_savings), avg(cache_hit_rate) from marts.mart_cache_savings
        where usage_date >= (select max(usage_date) - 30 from marts.mart_cache_savings) group by 1""",
    "reconciliation_month": """select provider, model, sum(computed_cost), sum(provider_cost)
        from marts.mart_cost_reconciliation where usage_date >= (select max(usage_date) - 30
        from marts.mart_cost_reconciliation) group by 1, 2""",
    "chargeback": "select * from marts.mart_chargeback_monthly order by usage_month desc, margin desc limit 50",
    "rate_limits_by_tier": """select tier, sum(authorized), sum(rate_limited) from marts.mart_rate_limits
        where usage_date >= (select max(usage_date) - 7 from marts.mart_rate_limits) group by 1""",
    # A drill-down asks for the request the user clicked: its id is a literal parameter.
    "request_drilldown": "select * from marts.mart_request_attempts where request_id = '{request_id}'",
    "agent_sparklines": "select * from marts.mart_agent_daily where usage_date >= (select max(usage_date) - 30 from marts.mart_agent_daily)",
}


def dbt(args: list[str], warehouse: Path) -> float:
    # Tests scoped as in Dagster's runs (docs/marts.md: "Tests in proportion to the run").
    scope = Settings.from_env().dbt_test_environment()
    env = {**os.environ, **scope, "TOKENLAKE_WAREHOUSE": str(warehouse)}
    started = time.perf_counter()
    result = subprocess.run(
        [DBT, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(warehouse.parent / "dbt-target")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    return elapsed


def prepare(events: int, folder: Path) -> Path:
    """Demo logs of `events` attempts ingested once; the warehouse is copied for each timing."""
    base = folder / f"marts-{events}"
    warehouse = base / "ingested.duckdb"
    ready = base / "ready"
    if ready.exists():
        return warehouse
    from demo import generate
    from ingestion.pipeline import warehouse_pipeline
    from ingestion.price_book import user_price_book
    from ingestion.usage_logs.load import load_usage_logs

    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print(f"generating {events:,} events ...", flush=True)
    generate(base / "demo", events, seed=3, fmt="parquet", end=END)
    print("ingesting ...", flush=True)
    load_usage_logs(
        warehouse_pipeline("usage_logs", warehouse, base / "dlt"), str(base / "demo" / "logs")
    )
    warehouse_pipeline("price_book", warehouse, base / "dlt").run(user_price_book(None))
    ready.touch()
    return warehouse


def copy_of(warehouse: Path, name: str) -> Path:
    target = warehouse.parent / name / "warehouse.duckdb"
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    shutil.copyfile(warehouse, target)
    os.sync()  # the copy's write-back is not part of what the next step times
    return target


CONTRACT_COLUMNS = """"timestamp", request_id, attempt, tenant_id, user_id, feature, agent, action_type,
    provider, model, region, key_source, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, total_tokens, latency_ms, status,
    retry_count, cache_hit, batch, service_tier, session_id, prompt_template_id, computed_cost"""


def add_one_hour(warehouse: Path, folder: Path) -> int:
    """One more hour of events after the newest one (the last hour's traffic, new request ids)."""
    from ingestion.pipeline import warehouse_pipeline
    from ingestion.usage_logs.load import load_usage_logs

    logs = folder / "one-more-hour"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"""copy (
            select * exclude (extra_fields, _source_file, _source_line, _source_record, _source_modified_at)
                replace ("timestamp" + interval 1 hour as "timestamp", request_id || '-next' as request_id)
            from (select {CONTRACT_COLUMNS}, extra_fields, _source_file, _source_line, _source_record,
                         _source_modified_at from raw.usage_events)
            where "timestamp" >= (select max("timestamp") - interval 1 hour from raw.usage_events)
        ) to '{logs / "next-hour.parquet"}' (format parquet)""")
        added = con.execute(f"select count(*) from '{logs / 'next-hour.parquet'}'").fetchone()[0]
    load_usage_logs(warehouse_pipeline("usage_logs", warehouse, folder / "dlt-incr"), str(logs))
    return added


def query_latencies(
    database: Path, schema: str = "marts", repeat: int = 20
) -> dict[str, dict[str, float]]:
    """p50/p95 of each dashboard query on `database`, whose marts are in `schema`."""
    out = {}
    with duckdb.connect(str(database), read_only=True) as con:
        request_id = con.execute(
            f"select request_id from {schema}.fct_llm_requests where retries > 0 limit 1"
        ).fetchone()[0]
        for name, template in DASHBOARD_QUERIES.items():
            sql = template.replace("{request_id}", request_id).replace("marts.", f"{schema}.")
            con.execute(sql).fetchall()  # warm
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            out[name] = {"p50_ms": round(statistics.median(times), 2),
                         "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}  # fmt: skip
    return out


def bench(events: int, folder: Path) -> dict:
    ingested = prepare(events, folder)
    with duckdb.connect(str(ingested), read_only=True) as con:
        rows = con.execute("select count(*) from raw.usage_events").fetchone()[0]
    result: dict = {"events": rows}

    full = copy_of(ingested, "full")
    # The project is parsed ahead, untimed, as `make setup` does for Dagster's runs (each copy
    # has its own target folder and warehouse path, which would otherwise force a full parse).
    dbt(["parse"], full)
    result["dbt_build_full_s"] = round(dbt(list(DBT_BUILD_ARGS), full), 2)
    run_only = copy_of(ingested, "run")
    dbt(["seed"], run_only)  # seeds are data, not timed: `dbt run` builds the models only
    result["dbt_run_full_s"] = round(dbt(["run"], run_only), 2)

    hand = copy_of(ingested, "hand")
    with duckdb.connect(str(hand)) as con:
        started = time.perf_counter()
        con.execute(
            HAND_SQL.format(
                book=REPO_ROOT / "seeds" / "price_book.csv",
                measures=HAND_ROLLUP_MEASURES,
                contracts=REPO_ROOT / "seeds" / "provider_contracts.csv",
            )
        )
        result["hand_sql_s"] = round(time.perf_counter() - started, 2)
    # Both produce the same rollups: row counts and every measure's total, at both grains.
    hand_totals = rollup_totals(hand, "hourly", "daily")
    dbt_totals = rollup_totals(run_only, "marts.agg_usage_hourly", "marts.agg_usage_daily")
    result["same_rollups"] = all(
        abs(x - y) < 0.01 for x, y in zip(hand_totals, dbt_totals, strict=True)
    )
    result["dbt_run_vs_hand"] = round(result["dbt_run_full_s"] / result["hand_sql_s"], 2)
    result["dbt_build_vs_hand"] = round(result["dbt_build_full_s"] / result["hand_sql_s"], 2)

    result["incremental_events_added"] = add_one_hour(full, full.parent)
    result["dbt_build_incremental_s"] = round(dbt(list(DBT_BUILD_ARGS), full), 2)
    result["dbt_run_incremental_s"] = round(dbt(["run"], full), 2)  # nothing new: the floor
    result["incremental_vs_full"] = round(
        result["dbt_build_incremental_s"] / result["dbt_build_full_s"], 3
    )
    published = full.parent / "published" / "tokenlake.duckdb"
    started = time.perf_counter()
    publish_duckdb_file(full, published, datetime.now(UTC))
    result["publish_duckdb_file_s"] = round(time.perf_counter() - started, 2)
    # Dashboards read the published file (docs/publishing.md: a BI tool never opens the warehouse).
    result["dashboard_queries"] = query_latencies(published, schema="main")
    result["dashboard_p95_max_ms"] = max(q["p95_ms"] for q in result["dashboard_queries"].values())
    result["warehouse_queries"] = query_latencies(full)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="sizes (repeatable)")
    args = parser.parse_args()
    folder = Settings.from_env().home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    sizes = args.events or [1_000_000]
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": [],
    }
    for events in sizes:
        print(f"== {events:,} events", flush=True)
        run = bench(events, folder)
        print(json.dumps(run, indent=2), flush=True)
        report["runs"].append(run)
    out = folder / "marts.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
