-- One row per attempt: the raw events typed and named for the layers above.
-- Token buckets are normalised once, here: cache reads and writes are parts of input_tokens.
-- The raw table appears with the first log file; until then this model is empty, not broken.
{%- set s, b, i, ts = dbt.type_string(), dbt.type_bigint(), dbt.type_int(), dbt.type_timestamp() %}
with source as (
    {{ select_optional_source('raw', 'usage_events', {
        "timestamp": ts, "request_id": s, "attempt": b, "tenant_id": s, "user_id": s,
        "feature": s, "agent": s, "action_type": s, "provider": s, "model": s, "region": s,
        "key_source": s, "input_tokens": b, "output_tokens": b, "cache_read_tokens": b,
        "cache_write_tokens": b, "cache_write_1h_tokens": b, "reasoning_tokens": b,
        "total_tokens": b, "latency_ms": b, "status": s, "retry_count": b,
        "cache_hit": dbt.type_boolean(), "batch": dbt.type_boolean(), "service_tier": s,
        "session_id": s, "prompt_template_id": s, "computed_cost": "decimal(18, 10)",
        "cache_tokens_reported": dbt.type_boolean(), "extra_fields": s, "_source_file": s, "_source_line": b, "_dlt_load_id": s,
    }) }}
),

renamed as (
    select
        request_id,
        cast(attempt as integer) as attempt,
        cast({{ adapter.quote('timestamp') }} as {{ dbt.type_timestamp() }}) as event_at,
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
        batch as is_batch,
        cache_hit as is_cache_hit,
        -- Loaded before the field existed: reported (the contract's default).
        coalesce(cache_tokens_reported, true) as is_cache_reported,
        cast(input_tokens as bigint) as input_tokens,
        cast(cache_read_tokens as bigint) as cache_read_tokens,
        cast(cache_write_tokens as bigint) as cache_write_tokens,
        cast(cache_write_1h_tokens as bigint) as cache_write_1h_tokens,
        cast(input_tokens - cache_read_tokens - cache_write_tokens as bigint) as uncached_input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(reasoning_tokens as bigint) as reasoning_tokens,
        cast(total_tokens as bigint) as total_tokens,
        cast(latency_ms as bigint) as latency_ms,
        cast(retry_count as integer) as retry_count,
        session_id,
        prompt_template_id,
        cast(computed_cost as decimal(18, 10)) as gateway_computed_cost,
        extra_fields,
        -- Custom dimensions (macros/custom_dimensions.sql): typed columns from extra_fields.
        {%- for dimension in custom_dimensions() %}
        {{ custom_dimension_value(dimension) }} as {{ dimension.name }},
        {%- endfor %}
        _source_file as source_file,
        _source_line as source_line,
        -- dlt's load id (sortable): which load wrote the row; incremental models read past it.
        _dlt_load_id as load_id
    from source
)

select * from renamed
