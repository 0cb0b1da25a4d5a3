-- Models seen in usage that the price book cannot price: add a price row for each (docs/pricing.md).
with attempts as (
    select * from {{ ref('fct_llm_attempts') }}
),

final as (
    select
        provider,
        model,
        count(*) as attempts,
        count(distinct request_id) as requests,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from attempts
    where not is_priced
    group by provider, model
)

select * from final
