-- Grain: provider x model over the ranking window: cost, calls, latency, errors, unit costs.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with attempts as (
    select * from {{ ref('fct_llm_attempts') }}
),

bounds as (
    select {{ dbt.dateadd('day', 1 - var('ranking_days'), 'max(usage_date)') }} as first_day
    from {{ ref('agg_usage_daily_by_tenant') }}
),

recent as (
    select attempts.*
    from attempts
    cross join bounds
    where attempts.event_at >= bounds.first_day
)

select
    provider,
    model,
    count(*) as attempts,
    sum(case when attempt = 1 then 1 else 0 end) as requests,
    sum(case when status <> 'ok' then 1 else 0 end) as errors,
    cast({{ safe_divide("sum(case when status <> 'ok' then 1 else 0 end)", 'count(*)') }} as {{ float_type() }}) as error_rate,
    min(case when is_priced then 1 else 0 end) = 1 as is_priced,
    cast(coalesce(sum(total_cost), 0) as {{ money_type() }}) as total_cost,
    cast({{ safe_divide('sum(total_cost) * 1000', "sum(case when attempt = 1 then 1 else 0 end)") }} as {{ money_type() }})
        as cost_per_1k_requests,
    cast({{ safe_divide('sum(total_cost) * 1000000', 'sum(input_tokens + output_tokens)') }} as {{ money_type() }})
        as cost_per_mtok,
    cast(avg(latency_ms) as {{ float_type() }}) as avg_latency_ms,
    {{ percentile('latency_ms', 0.95) }} as p95_latency_ms,
    cast(avg(input_tokens) as {{ float_type() }}) as avg_input_tokens,
    cast(avg(output_tokens) as {{ float_type() }}) as avg_output_tokens
from recent
group by provider, model
