-- FOCUS 1.2 Cost and Usage rows for LLM spend (FinOps Foundation's open billing format), so that
-- AI spend joins cloud spend in any FOCUS tool. Grain: day x tenant x feature x provider x model x
-- price version x token kind (uncached input, cache read, cache write, output), for the calls on
-- the platform's keys that are priced (BYOK calls are billed to the tenant by the provider, not
-- to the organisation; unpriced calls have no cost to state and are flagged in
-- mart_unpriced_models). Quantities are tokens; ListCost is at the price book's list price,
-- ContractedCost, EffectiveCost and BilledCost after the provider contract's discount.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with attempts as (
    select * from {{ ref('fct_llm_attempts') }}
    where is_priced and key_source = 'system'
),

by_token_kind as (
    {% for kind, tokens, cost in [
        ('input', 'uncached_input_tokens', 'uncached_input_cost'),
        ('cache_read', 'cache_read_tokens', 'cache_read_cost'),
        ('cache_write', 'cache_write_tokens', 'cache_write_cost'),
        ('output', 'output_tokens', 'output_cost'),
    ] %}
    select
        cast(event_at as date) as usage_date,
        tenant_id,
        feature,
        provider,
        model,
        price_version_id,
        priced_model_pattern,
        coalesce(priced_tier, 'standard') as priced_tier,
        '{{ kind }}' as token_kind,
        {{ tokens }} as tokens,
        {{ cost }} as list_cost,
        {{ cost }} * (1 - coalesce(contract_discount_pct, 0)) as contracted_cost
    from attempts
    where {{ tokens }} > 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

grouped as (
    select
        usage_date,
        tenant_id,
        feature,
        provider,
        model,
        price_version_id,
        priced_model_pattern,
        priced_tier,
        token_kind,
        sum(tokens) as tokens,
        sum(list_cost) as list_cost,
        sum(contracted_cost) as contracted_cost
    from by_token_kind
    group by
        usage_date, tenant_id, feature, provider, model, price_version_id, priced_model_pattern,
        priced_tier, token_kind
),

final as (
    select
        cast(contracted_cost as {{ money_type() }}) as {{ adapter.quote("BilledCost") }},
        provider as {{ adapter.quote("BillingAccountId") }},
        {{ dbt.concat([provider_display_name('provider'), "' organisation'"]) }} as {{ adapter.quote("BillingAccountName") }},
        'USD' as {{ adapter.quote("BillingCurrency") }},
        cast({{ dbt.dateadd('month', 1, dbt.date_trunc('month', 'usage_date')) }} as {{ dbt.type_timestamp() }})
            as {{ adapter.quote("BillingPeriodEnd") }},
        cast({{ dbt.date_trunc('month', 'usage_date') }} as {{ dbt.type_timestamp() }}) as {{ adapter.quote("BillingPeriodStart") }},
        'Usage' as {{ adapter.quote("ChargeCategory") }},
        cast(null as {{ dbt.type_string() }}) as {{ adapter.quote("ChargeClass") }},
        {{ dbt.concat(["model", "' '", "replace(token_kind, '_', ' ')", "' tokens'"]) }} as {{ adapter.quote("ChargeDescription") }},
        'Usage-Based' as {{ adapter.quote("ChargeFrequency") }},
        cast({{ dbt.dateadd('day', 1, 'usage_date') }} as {{ dbt.type_timestamp() }}) as {{ adapter.quote("ChargePeriodEnd") }},
        cast(usage_date as {{ dbt.type_timestamp() }}) as {{ adapter.quote("ChargePeriodStart") }},
        cast(tokens as decimal(38, 0)) as {{ adapter.quote("ConsumedQuantity") }},
        'Tokens' as {{ adapter.quote("ConsumedUnit") }},
        cast(contracted_cost as {{ money_type() }}) as {{ adapter.quote("ContractedCost") }},
        cast(contracted_cost / tokens as decimal(24, 18)) as {{ adapter.quote("ContractedUnitPrice") }},
        cast(contracted_cost as {{ money_type() }}) as {{ adapter.quote("EffectiveCost") }},
        -- No invoice is known for these charges (they are computed, not read off an invoice).
        cast(null as {{ dbt.type_string() }}) as {{ adapter.quote("InvoiceId") }},
        {{ provider_display_name('provider') }} as {{ adapter.quote("InvoiceIssuerName") }},
        cast(list_cost as {{ money_type() }}) as {{ adapter.quote("ListCost") }},
        cast(list_cost / tokens as decimal(24, 18)) as {{ adapter.quote("ListUnitPrice") }},
        'Standard' as {{ adapter.quote("PricingCategory") }},
        cast(tokens as decimal(38, 0)) as {{ adapter.quote("PricingQuantity") }},
        'Tokens' as {{ adapter.quote("PricingUnit") }},
        {{ provider_display_name('provider') }} as {{ adapter.quote("ProviderName") }},
        {{ provider_display_name('provider') }} as {{ adapter.quote("PublisherName") }},
        'AI and Machine Learning' as {{ adapter.quote("ServiceCategory") }},
        {{ dbt.concat([provider_display_name('provider'), "' API'"]) }} as {{ adapter.quote("ServiceName") }},
        'Generative AI' as {{ adapter.quote("ServiceSubcategory") }},
        {{ dbt.concat(["provider", "':'", "priced_model_pattern", "':'", "priced_tier", "':'", "token_kind"]) }}
            as {{ adapter.quote("SkuId") }},
        {{ dbt.concat(["price_version_id", "':'", "token_kind"]) }} as {{ adapter.quote("SkuPriceId") }},
        {{ dbt.concat(["replace(token_kind, '_', ' ')", "' tokens'"]) }} as {{ adapter.quote("SkuMeter") }},
        {{ json_object_of_strings([('tenant', 'tenant_id'), ('feature', 'feature'), ('model', 'model')]) }}
            as {{ adapter.quote("Tags") }},
        -- Not FOCUS columns (FOCUS tools ignore them): the keys back to the marts.
        usage_date as x_usage_date,
        tenant_id as x_tenant_id,
        feature as x_feature,
        model as x_model,
        price_version_id as x_price_version_id,
        token_kind as x_token_kind
    from grouped
)

select * from final
