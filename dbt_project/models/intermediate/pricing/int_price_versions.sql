-- Each price row with its validity: from its effective_from to the next row of the same
-- (provider, model_pattern, service_tier); the newest is open-ended (valid_to null).
with prices as (
    select * from {{ ref('stg_seeds__price_book') }}
),

versions as (
    select
        *,
        effective_from as valid_from,
        lead(effective_from) over (
            partition by provider, model_pattern, service_tier
            order by effective_from
        ) as valid_to
    from prices
)

select * from versions
