{{ daily_partitioned_config() }}
-- Grain: key_source x day: calls on the platform's keys (system, paid by us) vs customers' own
-- keys (byok, billed to them by the provider).
select
    usage_date,
    key_source,
    sum(attempts) as attempts,
    sum(requests) as requests,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    cast({{ safe_divide('sum(total_cost)', 'sum(sum(total_cost)) over (partition by usage_date)') }} as {{ float_type() }})
        as cost_share,
    cast({{ safe_divide('sum(attempts)', 'sum(sum(attempts)) over (partition by usage_date)') }} as {{ float_type() }})
        as attempt_share,
    -- newest pricing this day's rows reflect: later (re)pricing rebuilds the day
    max(priced_at) as source_priced_at
from {{ ref('agg_usage_daily_by_tenant') }}
{{ daily_partition_filter() }}
group by usage_date, key_source
