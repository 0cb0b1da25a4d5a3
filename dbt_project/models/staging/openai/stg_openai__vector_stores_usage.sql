-- OpenAI vector_stores usage per bucket and project.
with source as (
    {{ select_provider_report('openai_usage_vector_stores', {
        "project_id": dbt.type_string(),
        "usage_bytes": dbt.type_bigint(),
    }) }}
)

select
    _row_key as usage_row_key,
    'openai' as provider,
    'vector_stores' as report,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as usage_date,
    bucket_width,
    project_id,
    coalesce(usage_bytes, 0) as usage_bytes
from source
where bucket_width = {{ provider_bucket_width() }}
