{#
  Spend ranking of one dimension from agg_usage_daily_by_tenant: the last `ranking_days` days of data
  (ending at the newest day) against the same number of days before.
#}
{% macro ranking(expr, name=none) -%}
{%- set name = name or expr -%}
with daily as (
    select * from {{ ref('agg_usage_daily_by_tenant') }}
),

bounds as (
    select
        max(usage_date) as last_day,
        {{ dbt.dateadd('day', 1 - var('ranking_days'), 'max(usage_date)') }} as first_day,
        {{ dbt.dateadd('day', 1 - 2 * var('ranking_days'), 'max(usage_date)') }} as previous_first_day
    from daily
),

summed as (
    select
        {{ expr }} as {{ name }},
        sum(case when usage_date >= bounds.first_day then total_cost else 0 end) as total_cost,
        sum(case when usage_date >= bounds.first_day then net_cost else 0 end) as net_cost,
        sum(case when usage_date < bounds.first_day then total_cost else 0 end) as previous_total_cost,
        sum(case when usage_date >= bounds.first_day then attempts else 0 end) as attempts,
        sum(case when usage_date >= bounds.first_day then requests else 0 end) as requests,
        sum(case when usage_date >= bounds.first_day then errors else 0 end) as errors,
        sum(case when usage_date >= bounds.first_day then input_tokens else 0 end) as input_tokens,
        sum(case when usage_date >= bounds.first_day then output_tokens else 0 end) as output_tokens,
        sum(case when usage_date >= bounds.first_day then unpriced_attempts else 0 end) as unpriced_attempts,
        min(bounds.first_day) as period_start,
        min(bounds.last_day) as period_end
    from daily
    cross join bounds
    where daily.usage_date >= bounds.previous_first_day
    group by {{ expr }}
),

final as (
    select
        *,
        cast({{ safe_divide('total_cost', 'sum(total_cost) over ()') }} as {{ float_type() }}) as cost_share,
        cast({{ safe_divide('total_cost * 1000', 'requests') }} as {{ money_type() }}) as cost_per_1k_requests,
        cast({{ safe_divide('total_cost - previous_total_cost', 'previous_total_cost') }} as {{ float_type() }})
            as cost_change_pct,
        rank() over (order by total_cost desc) as cost_rank
    from summed
)

select * from final
{%- endmacro %}
