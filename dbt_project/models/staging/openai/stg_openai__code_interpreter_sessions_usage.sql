-- OpenAI code_interpreter_sessions usage per bucket and project.
with source as (
    {{ select_provider_report('openai_usage_code_interpreter_sessions', {
        "project_id": dbt.type_string(),
        "num_sessions": dbt.type_bigint(),
    }) }}
)

select
    _row_key as usage_row_key,
    'openai' as provider,
    'code_interpreter_sessions' as report,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as usage_date,
    bucket_width,
    project_id,
    coalesce(num_sessions, 0) as num_sessions
from source
where bucket_width = {{ provider_bucket_width() }}
