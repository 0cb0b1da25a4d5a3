-- OpenAI completions usage per bucket and group, in the usage-event contract's token semantics:
-- OpenAI's input_tokens already include cached (and cache-write) tokens, so they stay as they
-- are and the cache buckets are parts of them, never added on top.
with source as (
    {{ select_provider_report('openai_usage_completions', {
        "project_id": dbt.type_string(),
        "user_id": dbt.type_string(),
        "api_key_id": dbt.type_string(),
        "model": dbt.type_string(),
        "batch": dbt.type_boolean(),
        "service_tier": dbt.type_string(),
        "input_tokens": dbt.type_bigint(),
        "input_cached_tokens": dbt.type_bigint(),
        "input_cache_write_tokens": dbt.type_bigint(),
        "output_tokens": dbt.type_bigint(),
        "input_audio_tokens": dbt.type_bigint(),
        "output_audio_tokens": dbt.type_bigint(),
        "num_model_requests": dbt.type_bigint(),
    }) }}
)

select
    {{ provider_report_keys('openai', 'completions') }},
    project_id,
    user_id,
    api_key_id,
    model,
    coalesce(batch, false) as is_batch,
    -- OpenAI says `default` (or nothing) for the standard tier; batch calls are the batch tier.
    case
        when batch then 'batch'
        when service_tier is null or service_tier in ('default', 'auto') then 'standard'
        else lower(service_tier)
    end as service_tier,
    coalesce(input_tokens, 0) as input_tokens,
    coalesce(input_cached_tokens, 0) as cache_read_tokens,
    coalesce(input_cache_write_tokens, 0) as cache_write_tokens,
    coalesce(input_tokens, 0) - coalesce(input_cached_tokens, 0) - coalesce(input_cache_write_tokens, 0)
        as uncached_input_tokens,
    coalesce(output_tokens, 0) as output_tokens,
    coalesce(input_audio_tokens, 0) as input_audio_tokens,
    coalesce(output_audio_tokens, 0) as output_audio_tokens,
    coalesce(num_model_requests, 0) as requests
from source
where bucket_width = {{ provider_bucket_width() }}
