-- Grain: one tenant, with its current tier (from its price plan; `unknown` without one).
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with ranked as (
    {{ ranking('tenant_id') }}
),

current_plans as (
    select tenant_id, tier
    from {{ ref('int_tenant_plan_versions') }}
    where valid_to is null
)

select
    ranked.*,
    coalesce(current_plans.tier, 'unknown') as tier
from ranked
left join current_plans on ranked.tenant_id = current_plans.tenant_id
