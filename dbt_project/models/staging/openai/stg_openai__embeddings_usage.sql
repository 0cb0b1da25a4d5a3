-- OpenAI embeddings usage per bucket and group (project, user, API key, model).
with source as (
    {{ select_provider_report('openai_usage_embeddings', {
        "project_id": dbt.type_string(),
        "user_id": dbt.type_string(),
        "api_key_id": dbt.type_string(),
        "model": dbt.type_string(),
        "input_tokens": dbt.type_bigint(),
        "num_model_requests": dbt.type_bigint(),
    }) }}
)

select
    _row_key as usage_row_key,
    'openai' as provider,
    'embeddings' as report,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as usage_date,
    bucket_width,
    project_id,
    user_id,
    api_key_id,
    model,
    coalesce(input_tokens, 0) as input_tokens,
    coalesce(num_model_requests, 0) as requests
from source
where bucket_width = {{ provider_bucket_width() }}
