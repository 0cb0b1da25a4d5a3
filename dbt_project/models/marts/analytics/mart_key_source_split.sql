-- Grain: key_source x day: calls on the platform's keys (system, paid by us) vs customers' own
-- keys (byok, billed to them by the provider).
select
    usage_date,
    key_source,
    sum(attempts) as attempts,
    sum(requests) as requests,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    cast({{ safe_divide('sum(total_cost)', 'sum(sum(total_cost)) over (partition by usage_date)') }} as double)
        as cost_share,
    cast({{ safe_divide('sum(attempts)', 'sum(sum(attempts)) over (partition by usage_date)') }} as double)
        as attempt_share
from {{ ref('agg_usage_daily') }}
group by usage_date, key_source
