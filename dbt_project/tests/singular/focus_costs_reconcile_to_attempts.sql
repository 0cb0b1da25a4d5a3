-- A Dagster asset check on focus_llm_costs. Per day, the FOCUS export's ListCost equals the
-- attempts' list cost and its BilledCost and EffectiveCost their net cost (priced calls on the
-- platform's keys), to a millionth of a dollar; and no mandatory FOCUS column is NULL.
{{ config(meta={'dagster': {'ref': {'name': 'focus_llm_costs'}}}) }}
with focus as (
    select
        x_usage_date as usage_date,
        sum({{ adapter.quote("ListCost") }}) as list_cost,
        sum({{ adapter.quote("BilledCost") }}) as billed_cost,
        sum({{ adapter.quote("EffectiveCost") }}) as effective_cost,
        sum(case when {{ adapter.quote("ChargePeriodStart") }} is null
                   or {{ adapter.quote("BillingAccountId") }} is null
                   or {{ adapter.quote("ServiceName") }} is null
                   or {{ adapter.quote("PricingQuantity") }} is null
                   or {{ adapter.quote("SkuPriceId") }} is null then 1 else 0 end) as incomplete_rows
    from {{ ref('focus_llm_costs') }}
    group by 1
),

attempts as (
    select
        cast(event_at as date) as usage_date,
        sum(total_cost) as list_cost,
        sum(net_cost) as net_cost
    from {{ ref('fct_llm_attempts') }}
    where is_priced and key_source = 'system'
    group by 1
)

select
    coalesce(f.usage_date, a.usage_date) as usage_date,
    f.list_cost, a.list_cost as attempts_list_cost, f.billed_cost, f.effective_cost,
    a.net_cost as attempts_net_cost, f.incomplete_rows
from focus as f
full outer join attempts as a on f.usage_date = a.usage_date
where abs(coalesce(f.list_cost, 0) - coalesce(a.list_cost, 0)) > 0.000001
    or abs(coalesce(f.billed_cost, 0) - coalesce(a.net_cost, 0)) > 0.000001
    or abs(coalesce(f.effective_cost, 0) - coalesce(a.net_cost, 0)) > 0.000001
    or coalesce(f.incomplete_rows, 0) > 0
