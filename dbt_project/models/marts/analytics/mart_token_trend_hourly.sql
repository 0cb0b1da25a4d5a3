-- Grain: one UTC hour: prompt (input) vs completion (output) tokens and what each cost.
select
    usage_hour,
    sum(attempts) as attempts,
    sum(input_tokens) as prompt_tokens,
    sum(cache_read_tokens) as cached_prompt_tokens,
    sum(output_tokens) as completion_tokens,
    sum(reasoning_tokens) as reasoning_tokens,
    cast(sum(uncached_input_cost + cache_read_cost + cache_write_cost) as {{ money_type() }}) as prompt_cost,
    cast(sum(output_cost) as {{ money_type() }}) as completion_cost,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost
from {{ ref('agg_usage_hourly') }}
group by usage_hour
