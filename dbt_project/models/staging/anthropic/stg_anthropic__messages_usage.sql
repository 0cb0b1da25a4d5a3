-- Anthropic Messages usage per bucket and group, in the usage-event contract's token semantics:
-- Anthropic's uncached input excludes cache reads and writes, so input_tokens here is their sum
-- (cache buckets are parts of input_tokens, never counted twice).
with source as (
    {{ select_provider_report('anthropic_usage_messages', {
        "workspace_id": dbt.type_string(),
        "api_key_id": dbt.type_string(),
        "model": dbt.type_string(),
        "service_tier": dbt.type_string(),
        "context_window": dbt.type_string(),
        "uncached_input_tokens": dbt.type_bigint(),
        "cache_read_input_tokens": dbt.type_bigint(),
        "cache_creation__ephemeral_5m_input_tokens": dbt.type_bigint(),
        "cache_creation__ephemeral_1h_input_tokens": dbt.type_bigint(),
        "output_tokens": dbt.type_bigint(),
        "server_tool_use__web_search_requests": dbt.type_bigint(),
    }) }}
),

tokens as (
    select
        *,
        coalesce(uncached_input_tokens, 0) as uncached,
        coalesce(cache_read_input_tokens, 0) as cache_read,
        coalesce(cache_creation__ephemeral_5m_input_tokens, 0) as write_5m,
        coalesce(cache_creation__ephemeral_1h_input_tokens, 0) as write_1h
    from source
    where bucket_width = {{ provider_bucket_width() }}
)

select
    {{ provider_report_keys('anthropic', 'messages') }},
    workspace_id,
    api_key_id,
    model,
    case
        when service_tier is null then 'standard'
        when service_tier = 'priority_on_demand' then 'priority'
        when service_tier = 'flex_discount' then 'flex'
        else lower(service_tier)
    end as service_tier,
    context_window,
    uncached + cache_read + write_5m + write_1h as input_tokens,
    cache_read as cache_read_tokens,
    write_5m + write_1h as cache_write_tokens,
    write_1h as cache_write_1h_tokens,
    uncached as uncached_input_tokens,
    coalesce(output_tokens, 0) as output_tokens,
    coalesce(server_tool_use__web_search_requests, 0) as web_search_requests
from tokens
