-- The published compatibility view (docs/design.md §6): the attempt-grain fact under the names
-- dashboards written against an `llm_usage_events` table expect, plus every contract column.
-- computed_cost is tokenlake's cost (from the price book), not the gateway's.
{{ config(materialized='view') }}

select
    event_at as {{ adapter.quote('timestamp') }},
    tenant_id,
    user_id,
    feature,
    request_id,
    attempt,
    input_tokens as prompt_tokens,
    output_tokens as completion_tokens,
    input_tokens + output_tokens as total_tokens,
    total_cost as computed_cost,
    latency_ms,
    retry_count,
    model,
    provider,
    region,
    case when cache_read_tokens > 0 then 1 else 0 end as cache_hit,
    status,
    prompt_template_id,
    agent,
    action_type,
    key_source,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    cache_write_1h_tokens,
    reasoning_tokens,
    is_batch as batch,
    service_tier,
    session_id,
    gateway_computed_cost,
    priced_at
from {{ ref('fct_llm_attempts') }}
