-- Grain: one UTC day x tenant x feature x agent x action_type x provider x model x region x
-- key_source x status: agg_usage_daily with its users summed (about 15x fewer rows), what the
-- analytics marts read. No latency percentiles: they do not add up over users.
-- Incremental: rebuilds the days agg_usage_daily rewrote since the last run; days it no longer
-- has (every attempt moved elsewhere) are deleted.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_buckets_missing_from('agg_usage_daily', 'usage_date') }}",
) }}

with daily as (
    select * from {{ ref('agg_usage_daily') }}
    {% if is_incremental_with('priced_at') %}
    where usage_date in (
        select usage_date from {{ ref('agg_usage_daily') }}
        where priced_at > (select max(priced_at) from {{ this }})
    )
    {% endif %}
)

{%- set dimensions = rollup_dimensions(without=['user_id']) %}

select
    usage_date,
    {%- for dimension in dimensions %}
    {{ dimension }},
    {%- endfor %}
    {%- for measure in ['attempts', 'requests', 'retries', 'errors', 'rate_limited',
                        'unpriced_attempts', 'input_tokens', 'uncached_input_tokens',
                        'cache_read_tokens', 'cache_write_tokens', 'output_tokens',
                        'reasoning_tokens', 'latency_sum_ms', 'latency_count'] %}
    sum({{ measure }}) as {{ measure }},
    {%- endfor %}
    {%- for cost in ['uncached_input_cost', 'cache_read_cost', 'cache_write_cost', 'output_cost',
                     'total_cost', 'net_cost', 'cache_savings'] %}
    cast(sum({{ cost }}) as {{ money_type() }}) as {{ cost }},
    {%- endfor %}
    {{ run_started_timestamp() }} as priced_at,
    sum(cache_unreported_attempts) as cache_unreported_attempts
from daily
group by usage_date, {{ dimensions | join(', ') }}
order by usage_date
