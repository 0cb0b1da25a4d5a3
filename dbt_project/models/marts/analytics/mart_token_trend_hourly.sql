-- Grain: one UTC hour: prompt (input) vs completion (output) tokens and what each cost.
-- Incremental: rebuilds the hours agg_usage_hourly rewrote since the last run; hours it no
-- longer has are deleted.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_hour',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_buckets_missing_from('agg_usage_hourly', 'usage_hour') }}",
) }}

select
    usage_hour,
    sum(attempts) as attempts,
    sum(requests) as requests,
    sum(input_tokens) as prompt_tokens,
    sum(cache_read_tokens) as cached_prompt_tokens,
    sum(output_tokens) as completion_tokens,
    sum(reasoning_tokens) as reasoning_tokens,
    cast(sum(uncached_input_cost + cache_read_cost + cache_write_cost) as {{ money_type() }}) as prompt_cost,
    cast(sum(output_cost) as {{ money_type() }}) as completion_cost,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    {{ run_started_timestamp() }} as priced_at
from {{ ref('agg_usage_hourly') }}
{% if is_incremental_with('priced_at') %}
where usage_hour in (
    select usage_hour from {{ ref('agg_usage_hourly') }}
    where priced_at > (select max(priced_at) from {{ this }})
)
{% endif %}
group by usage_hour
