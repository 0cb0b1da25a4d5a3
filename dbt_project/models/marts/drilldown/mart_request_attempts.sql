-- Grain: one attempt (drill-down level 3): each attempt of a request with its share of the
-- request's cost. A join on request_id (not a window over every attempt), so that a dashboard
-- asking for one request reads one request.
{{ config(materialized='view') }}

select
    attempts.request_id,
    attempts.attempt,
    attempts.event_at,
    attempts.feature,
    attempts.tenant_id,
    attempts.provider,
    attempts.model,
    attempts.status,
    attempts.latency_ms,
    attempts.input_tokens,
    attempts.cache_read_tokens,
    attempts.cache_write_tokens,
    attempts.output_tokens,
    attempts.total_cost,
    attempts.price_version_id,
    cast({{ safe_divide('attempts.total_cost', 'requests.priced_cost') }} as {{ float_type() }}) as request_cost_share,
    attempts.priced_at,
    -- A retry priced later changes the request's cost, and with it this attempt's share: the
    -- publish rewrites a day when either stamp is new (kept apart: a filter on the attempt's own
    -- stamp is applied as the attempts are scanned).
    requests.priced_at as request_priced_at
from {{ ref('fct_llm_attempts') }} as attempts
inner join {{ ref('fct_llm_requests') }} as requests
    on attempts.request_id = requests.request_id
