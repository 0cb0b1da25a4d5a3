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
  `bucket`: on an incremental run only the buckets from buckets_to_rebuild() are read again.
#}
{% macro incremental_usage_rollup(grain, bucket) -%}
{%- set bucket_type = 'date' if grain == 'day' else dbt.type_timestamp() -%}
{%- set bucket_of_event = rollup_bucket(grain, 'event_at') -%}
{%- set incremental = is_incremental_with('priced_at') %}
with
{% if incremental %}
rebuild as (
    {{ buckets_to_rebuild(grain, bucket) }}
),
{% endif %}

attempts as (
    select *, {{ bucket_of_event }} as {{ bucket }}
    from {{ ref('fct_llm_attempts') }}
    {% if incremental %}
    where event_at >= (select min(bucket) from rebuild)
        and {{ bucket_of_event }} in (select cast(bucket as {{ bucket_type }}) from rebuild)
    {% endif %}
)

{{ usage_rollup(bucket) }}
-- Stored in bucket order: a dashboard's "last 7 days" reads only the newest blocks of the table
-- (DuckDB skips the others by their min/max); incremental runs append newer buckets at the end.
order by {{ bucket }}
{%- endmacro %}
