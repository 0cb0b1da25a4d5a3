{# The dimensions of the usage rollups, in column order (agg_usage_daily_by_tenant: all but
   user_id), the custom dimensions last (macros/custom_dimensions.sql). #}
{% macro rollup_dimensions(without=[]) -%}
    {{ return((['tenant_id', 'user_id', 'feature', 'agent', 'action_type', 'provider', 'model',
                'region', 'key_source', 'status'] + custom_dimension_names())
              | reject('in', without) | list) }}
{%- endmacro %}

{#
  The measures of the usage rollups, grouped by `bucket` and every dimension, from a CTE named
  `attempts` (fct_llm_attempts rows). Money stays DECIMAL; unpriced attempts add no cost and
  are counted in unpriced_attempts.
#}
{% macro usage_rollup(bucket) -%}
{%- set group_by = ([bucket] + rollup_dimensions()) | join(', ') -%}
select
    {{ bucket }},
    {%- for dimension in rollup_dimensions() %}
    {{ dimension }},
    {%- endfor %}
    count(*) as attempts,
    sum(case when attempt = 1 then 1 else 0 end) as requests,
    sum(case when attempt > 1 then 1 else 0 end) as retries,
    sum(case when status <> 'ok' then 1 else 0 end) as errors,
    sum(case when status = 'rate_limited' then 1 else 0 end) as rate_limited,
    sum(case when is_priced then 0 else 1 end) as unpriced_attempts,
    sum(input_tokens) as input_tokens,
    sum(uncached_input_tokens) as uncached_input_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    sum(cache_write_tokens) as cache_write_tokens,
    sum(output_tokens) as output_tokens,
    sum(reasoning_tokens) as reasoning_tokens,
    cast(coalesce(sum(uncached_input_cost), 0) as {{ money_type() }}) as uncached_input_cost,
    cast(coalesce(sum(cache_read_cost), 0) as {{ money_type() }}) as cache_read_cost,
    cast(coalesce(sum(cache_write_cost), 0) as {{ money_type() }}) as cache_write_cost,
    cast(coalesce(sum(output_cost), 0) as {{ money_type() }}) as output_cost,
    cast(coalesce(sum(total_cost), 0) as {{ money_type() }}) as total_cost,
    cast(coalesce(sum(net_cost), 0) as {{ money_type() }}) as net_cost,
    cast(coalesce(sum(cache_savings), 0) as {{ money_type() }}) as cache_savings,
    sum(latency_ms) as latency_sum_ms,
    count(latency_ms) as latency_count,
    {{ ranked_percentile('latency_ms', 0.5) }} as latency_p50_ms,
    {{ ranked_percentile('latency_ms', 0.95) }} as latency_p95_ms,
    -- When the row was written: a bucket rebuilt for an attempt that left it is new too.
    {{ run_started_timestamp() }} as priced_at,
    -- Last: added after the rollups first shipped (incremental tables append new columns).
    sum(case when is_cache_reported then 0 else 1 end) as cache_unreported_attempts
from (
    -- Each attempt's rank by latency in its group, and the group's count: the percentiles pick
    -- their rows by rank with plain aggregates, which spill to disk. quantile_cont() keeps each
    -- group's latencies in memory and cannot spill: a first build of 10 M events needed 3 GB
    -- (and thrashed tens of GB of temp files under a 2 GB limit).
    select
        *,
        count(latency_ms) over (partition by {{ group_by }}) as latency_n,
        row_number() over (partition by {{ group_by }} order by latency_ms nulls last) as latency_rank
    from attempts
) as attempts
group by {{ group_by }}
{%- endmacro %}

{#
  The continuous percentile `p` (linear interpolation between the two nearest ranks, as
  percentile_cont / quantile_cont) of `value` in a group, from rows carrying `latency_rank`
  (1 = smallest; NULLs last) and `latency_n` (the group's non-NULL count). NULL when the group has
  no value. Equal to quantile_cont up to the last bit of a double.
#}
{% macro ranked_percentile(value, p) -%}
    {%- set f = float_type() -%}
    {%- set position = "(cast(latency_n - 1 as " ~ f ~ ") * cast(" ~ p ~ " as " ~ f ~ "))" -%}
    {%- set below = "cast(max(case when latency_rank = floor(" ~ position ~ ") + 1 then " ~ value ~ " end) as " ~ f ~ ")" -%}
    {%- set above = "cast(max(case when latency_rank = ceil(" ~ position ~ ") + 1 then " ~ value ~ " end) as " ~ f ~ ")" -%}
    ({{ below }} + max({{ position }} - floor({{ position }})) * ({{ above }} - {{ below }}))
{%- endmacro %}

{#
  A whole incremental rollup of fct_llm_attempts by `grain` ('hour' or 'day') into the column
  `bucket`: on an incremental run only the buckets from buckets_to_rebuild() are read again. Its
  first build (or --full-refresh) creates the table empty and fills it in chunks of days
  (insert_rollup_chunks(), its post-hook), except on Spark.
#}
{% macro incremental_usage_rollup(grain, bucket) -%}
{%- if is_incremental_with('priced_at') %}
with rebuild as (
    {{ buckets_to_rebuild(grain, bucket) }}
),
{{ rollup_of_attempts(grain, bucket,
    "event_at >= (select min(bucket) from rebuild) and " ~ rollup_bucket(grain, 'event_at')
    ~ " in (select cast(bucket as " ~ rollup_bucket_type(grain) ~ ") from rebuild)") }}
{%- elif builds_in_chunks() %}
with {{ rollup_of_attempts(grain, bucket, '1 = 0', ordered=false) }}
{%- else %}
with {{ rollup_of_attempts(grain, bucket) }}
{%- endif %}
{%- endmacro %}

{#
  The CTE `attempts` (those matching `condition`, SQL; none: all) and their rollup, in bucket
  order if `ordered`; the caller opens the WITH clause.
#}
{% macro rollup_of_attempts(grain, bucket, condition=none, ordered=true) -%}
attempts as (
    select *, {{ rollup_bucket(grain, 'event_at') }} as {{ bucket }}
    from {{ ref('fct_llm_attempts') }}
    {%- if condition %}
    where {{ condition }}
    {%- endif %}
)

{{ usage_rollup(bucket) }}
{%- if ordered %}
-- Stored in bucket order: a dashboard's "last 7 days" reads only the newest blocks of the table
-- (DuckDB skips the others by their min/max); incremental runs append newer buckets at the end.
order by {{ bucket }}
{%- endif %}
{%- endmacro %}

{% macro rollup_bucket_type(grain) -%}
    {{ return('date' if grain == 'day' else dbt.type_timestamp()) }}
{%- endmacro %}

{#
  A rollup's first build (or --full-refresh) in chunks of days. Every rollup group lies within
  one day, so rolling up each chunk of days and appending it gives the rows of one pass over all
  attempts; but each chunk's windows and groups fit in memory. In one pass, the 10 M-event build
  spilled its 9 M groups to disk and took minutes. Not on Spark, which spreads one pass out.
  The chunks are appended in time order, so the table stays clustered by week (a dashboard's
  recent days still skip the older blocks), without ORDER BY: in DuckDB 2.0.0, ORDER BY INSERTs
  of more than a row group into a table created in the same transaction can leave the rows
  invisible to a later CREATE TABLE AS in the same process (the daily rollup by tenant was built
  empty from them; tests/dbt/test_duckdb_behaviour.py). Both rollups are built so: at 10 M events
  the hourly one's 9 M groups and the daily one's 4 M spilled in one pass (daily: 26.5 s in one
  ordered pass, 15.2 s a week at a time; 17.1 s in 3-day chunks, 16.2 s in 14-day ones).

  Post-hook of a chunked rollup: on a first build (builds_in_chunks()), its chunks of var
  rollup_build_chunk_days days.
#}
{% macro insert_rollup_chunks(grain, bucket) -%}
{%- if execute and builds_in_chunks() -%}
    {%- set span = run_query("select min(event_at), max(event_at) from " ~ ref('fct_llm_attempts')) -%}
    {%- set first, last = span.columns[0].values()[0], span.columns[1].values()[0] -%}
    {%- if first is not none -%}
        {%- set step = modules.datetime.timedelta(days=var('rollup_build_chunk_days')) -%}
        {%- set start = modules.datetime.datetime(first.year, first.month, first.day) -%}
        {%- for _ in range(((last - start) / step) | int + 1) -%}
            {%- set chunk_start = start + step * loop.index0 -%}
            {%- set condition = "event_at >= " ~ timestamp_literal(chunk_start)
                ~ " and event_at < " ~ timestamp_literal(chunk_start + step) -%}
            {%- do run_query("insert into " ~ this ~ " with " ~ rollup_of_attempts(grain, bucket, condition, ordered=false)) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endif -%}
{%- endmacro %}
