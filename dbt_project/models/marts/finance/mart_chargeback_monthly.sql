-- Grain: tenant x calendar month. What the tenant's usage cost the platform (system keys, after
-- contract discounts: net_cost), what its price plan bills for it (markup on that cost plus a
-- per-request fee, with the plan in force each day), and the margin. BYOK calls are paid by the
-- tenant to the provider: they carry the per-request fee but no provider cost.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with daily as (
    select * from {{ ref('agg_usage_daily_by_tenant') }}
),

plans as (
    select * from {{ ref('int_tenant_plan_versions') }}
),

priced_days as (
    select
        daily.tenant_id,
        cast({{ dbt.date_trunc('month', 'daily.usage_date') }} as date) as usage_month,
        plans.tier,
        daily.requests,
        daily.unpriced_attempts,
        case when daily.key_source = 'system' then daily.net_cost else 0 end as provider_cost,
        case when daily.key_source = 'system' then daily.total_cost else 0 end as list_cost,
        case when daily.key_source = 'byok' then daily.total_cost else 0 end as byok_cost,
        coalesce(plans.markup_pct, 0) as markup_pct,
        coalesce(plans.per_request_fee_usd, 0) as per_request_fee_usd,
        plans.tenant_id is not null as has_plan
    from daily
    left join plans
        on daily.tenant_id = plans.tenant_id
        and daily.usage_date >= plans.valid_from
        and (plans.valid_to is null or daily.usage_date < plans.valid_to)
)

select
    tenant_id,
    usage_month,
    max(tier) as tier,
    min(case when has_plan then 1 else 0 end) = 1 as has_plan_all_month,
    sum(requests) as requests,
    sum(unpriced_attempts) as unpriced_attempts,
    cast(sum(list_cost) as {{ money_type() }}) as list_cost,
    cast(sum(provider_cost) as {{ money_type() }}) as provider_cost,
    cast(sum(byok_cost) as {{ money_type() }}) as byok_cost,
    cast(sum(provider_cost * (1 + markup_pct) + requests * per_request_fee_usd) as {{ money_type() }})
        as billed_amount,
    cast(sum(provider_cost * markup_pct + requests * per_request_fee_usd) as {{ money_type() }})
        as margin,
    cast({{ safe_divide('sum(provider_cost * markup_pct + requests * per_request_fee_usd)',
                        'sum(provider_cost * (1 + markup_pct) + requests * per_request_fee_usd)') }} as {{ float_type() }})
        as margin_pct
from priced_days
group by tenant_id, usage_month
