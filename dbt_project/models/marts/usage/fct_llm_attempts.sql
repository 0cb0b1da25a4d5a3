-- Grain: one row per attempt (request_id, attempt). Every cost figure traces to price_version_id.
-- A view: the attempts are stored once, priced, in int_attempts_priced (incremental, re-priced
-- when a price changes); a second table of the same rows would double the biggest write of a
-- build. Readers filtering on priced_at or event_at still prune by the stored table's zonemaps.
{{ config(materialized='view') }}

with priced as (
    select * from {{ ref('int_attempts_priced') }}
),

final as (
    select
        request_id,
        attempt,
        event_at,
        tenant_id,
        user_id,
        feature,
        agent,
        action_type,
        provider,
        model,
        region,
        key_source,
        status,
        service_tier,
        is_batch,
        is_cache_hit,
        is_cache_reported,
        session_id,
        prompt_template_id,
        {%- for dimension in custom_dimension_names() %}
        {{ dimension }},
        {%- endfor %}
        retry_count,
        latency_ms,
        input_tokens,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,
        total_tokens,
        is_priced,
        price_version_id,
        model_pattern as priced_model_pattern,
        priced_tier,
        is_tier_fallback,
        is_long_context,
        currency,
        uncached_input_cost,
        cache_read_cost,
        cache_write_cost,
        output_cost,
        batch_discount_amount,
        total_cost,
        cache_savings,
        coalesce(contract_discount_pct, 0) as contract_discount_pct,
        net_cost,
        gateway_computed_cost,
        source_file,
        source_line,
        priced_at
    from priced
)

select * from final
