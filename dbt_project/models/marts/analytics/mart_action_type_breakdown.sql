{{ daily_partitioned_config() }}
-- Grain: action_type x day: what kind of call the money goes to, with its share of the day.
select
    usage_date,
    action_type,
    sum(attempts) as attempts,
    sum(requests) as requests,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens,
    cast({{ safe_divide('sum(total_cost)', 'sum(sum(total_cost)) over (partition by usage_date)') }} as {{ float_type() }})
        as cost_share,
    -- newest pricing this day's rows reflect: later (re)pricing rebuilds the day
    max(priced_at) as source_priced_at
from {{ ref('agg_usage_daily_by_tenant') }}
{{ daily_partition_filter() }}
group by usage_date, action_type
