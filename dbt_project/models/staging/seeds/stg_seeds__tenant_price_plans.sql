-- What the platform charges each tenant: markup on provider cost and a per-request fee, effective-dated.
with source as (
    select * from {{ ref('tenant_price_plans') }}
),

renamed as (
    select
        tenant_id,
        lower(tier) as tier,
        cast(cast(effective_from as date) as timestamp) as effective_from,
        cast(markup_pct as decimal(6, 4)) as markup_pct,
        cast(per_request_fee_usd as decimal(18, 6)) as per_request_fee_usd,
        note
    from source
)

select * from renamed
