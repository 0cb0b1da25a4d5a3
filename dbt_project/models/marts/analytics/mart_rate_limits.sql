-- Grain: day x tenant tier x user x provider x model: calls let through vs rate-limited.
with daily as (
    select * from {{ ref('agg_usage_daily') }}
),

plans as (
    select tenant_id, tier, valid_from, valid_to from {{ ref('int_tenant_plan_versions') }}
)

select
    daily.usage_date,
    coalesce(plans.tier, 'unknown') as tier,
    daily.tenant_id,
    daily.user_id,
    daily.provider,
    daily.model,
    sum(daily.attempts) as attempts,
    sum(daily.rate_limited) as rate_limited,
    sum(daily.attempts - daily.rate_limited) as authorized,
    sum(case when daily.status = 'ok' then daily.attempts else 0 end) as succeeded,
    cast({{ safe_divide("sum(case when daily.status = 'ok' then daily.attempts else 0 end)", 'sum(daily.attempts)') }} as {{ float_type() }})
        as success_rate,
    cast({{ safe_divide('sum(daily.rate_limited)', 'sum(daily.attempts)') }} as {{ float_type() }}) as rate_limited_share
from daily
left join plans
    on daily.tenant_id = plans.tenant_id
    and daily.usage_date >= plans.valid_from
    and (plans.valid_to is null or daily.usage_date < plans.valid_to)
group by 1, 2, 3, 4, 5, 6
