-- Grain: action_type x day: what kind of call the money goes to, with its share of the day.
select
    usage_date,
    action_type,
    sum(attempts) as attempts,
    sum(requests) as requests,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens,
    cast({{ safe_divide('sum(total_cost)', 'sum(sum(total_cost)) over (partition by usage_date)') }} as double)
        as cost_share
from {{ ref('agg_usage_daily') }}
group by usage_date, action_type
