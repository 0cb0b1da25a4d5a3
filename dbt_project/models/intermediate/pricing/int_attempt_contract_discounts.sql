-- The negotiated discount in force for each priced attempt: a contract for the model's pattern
-- beats the provider-wide one (empty pattern); no contract means no discount.
with attempts as (
    select request_id, attempt, provider, model, event_at
    from {{ ref('int_attempts_priced') }}
    where is_priced
),

contracts as (
    select * from {{ ref('int_contract_versions') }}
),

models as (
    select distinct provider, model from attempts
),

model_contracts as (
    select distinct
        models.provider,
        models.model,
        contracts.model_pattern
    from models
    inner join contracts
        on models.provider = contracts.provider
        and (
            contracts.model_pattern = ''
            or models.model = contracts.model_pattern
            or {{ regex_full_match('models.model', 'contracts.model_pattern') }}
        )
),

candidates as (
    select
        attempts.request_id,
        attempts.attempt,
        contracts.discount_pct,
        contracts.model_pattern,
        row_number() over (
            partition by attempts.request_id, attempts.attempt
            order by {{ dbt.length('contracts.model_pattern') }} desc
        ) as contract_rank
    from attempts
    inner join model_contracts
        on attempts.provider = model_contracts.provider
        and attempts.model = model_contracts.model
    inner join contracts
        on model_contracts.provider = contracts.provider
        and model_contracts.model_pattern = contracts.model_pattern
        and attempts.event_at >= contracts.valid_from
        and (contracts.valid_to is null or attempts.event_at < contracts.valid_to)
)

select
    request_id,
    attempt,
    discount_pct as contract_discount_pct,
    model_pattern as contract_model_pattern
from candidates
where contract_rank = 1
