-- OpenAI image usage per bucket and group (project, user, API key, model, size, source).
with source as (
    {{ select_provider_report('openai_usage_images', {
        "project_id": dbt.type_string(),
        "user_id": dbt.type_string(),
        "api_key_id": dbt.type_string(),
        "model": dbt.type_string(),
        "size": dbt.type_string(),
        "source": dbt.type_string(),
        "images": dbt.type_bigint(),
        "num_model_requests": dbt.type_bigint(),
    }) }}
)

select
    {{ provider_report_keys('openai', 'images') }},
    project_id,
    user_id,
    api_key_id,
    model,
    size as image_size,
    source as image_source,
    coalesce(images, 0) as images,
    coalesce(num_model_requests, 0) as requests
from source
where bucket_width = {{ provider_bucket_width() }}
