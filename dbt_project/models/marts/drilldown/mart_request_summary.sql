-- Grain: one request (feature -> request -> attempt drill-down, level 2). A view over
-- fct_llm_requests with the shares a drill-down shows.
{{ config(materialized='view') }}

select
    request_id,
    feature,
    tenant_id,
    user_id,
    agent,
    action_type,
    provider,
    model,
    final_status,
    session_id,
    attempts,
    retries,
    first_seen_at,
    last_seen_at,
    input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    output_tokens,
    total_cost,
    priced_cost,
    failed_attempts_cost,
    net_cost,
    is_fully_priced,
    cast({{ safe_divide('input_tokens', 'input_tokens + output_tokens') }} as {{ float_type() }}) as prompt_token_share,
    cast({{ safe_divide('failed_attempts_cost', 'priced_cost') }} as {{ float_type() }}) as retry_cost_share,
    priced_at
from {{ ref('fct_llm_requests') }}
