-- Grain: one attempt (drill-down level 3): each attempt of a request with its share of the
-- request's cost.
{{ config(materialized='view') }}

select
    request_id,
    attempt,
    event_at,
    feature,
    tenant_id,
    provider,
    model,
    status,
    latency_ms,
    input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    output_tokens,
    total_cost,
    price_version_id,
    cast({{ safe_divide('total_cost', 'sum(total_cost) over (partition by request_id)') }} as double)
        as request_cost_share
from {{ ref('fct_llm_attempts') }}
