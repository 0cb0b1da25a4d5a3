-- Negotiated discounts off list price, per provider (all models, or a model pattern), effective-dated.
with source as (
    select * from {{ ref('provider_contracts') }}
),

renamed as (
    select
        lower(provider) as provider,
        coalesce(model_pattern, '') as model_pattern,
        cast(cast(effective_from as date) as timestamp) as effective_from,
        cast(discount_pct as decimal(6, 4)) as discount_pct,
        note
    from source
)

select * from renamed
