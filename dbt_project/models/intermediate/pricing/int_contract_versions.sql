-- Contract discounts with validity [valid_from, valid_to) per (provider, model_pattern).
with contracts as (
    select * from {{ ref('stg_seeds__provider_contracts') }}
)

select
    *,
    effective_from as valid_from,
    lead(effective_from) over (partition by provider, model_pattern order by effective_from) as valid_to
from contracts
