-- Grain: one row per attempt (request_id, attempt). Every cost figure traces to price_version_id.
with priced as (
    select * from {{ ref('int_attempts_priced') }}
),

contract_discounts as (
    select * from {{ ref('int_attempt_contract_discounts') }}
),

final as (
    select
        priced.request_id,
        priced.attempt,
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
        session_id,
        prompt_template_id,
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
        coalesce(contract_discounts.contract_discount_pct, 0) as contract_discount_pct,
        cast(
            total_cost * (1 - coalesce(contract_discounts.contract_discount_pct, 0)) as {{ money_type() }}
        ) as net_cost,
        gateway_computed_cost,
        source_file,
        source_line
    from priced
    left join contract_discounts
        on priced.request_id = contract_discounts.request_id
        and priced.attempt = contract_discounts.attempt
)

select * from final
