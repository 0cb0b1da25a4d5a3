-- Tenant price plans with validity [valid_from, valid_to) per tenant.
with plans as (
    select * from {{ ref('stg_seeds__tenant_price_plans') }}
)

select
    *,
    effective_from as valid_from,
    lead(effective_from) over (partition by tenant_id order by effective_from) as valid_to
from plans
