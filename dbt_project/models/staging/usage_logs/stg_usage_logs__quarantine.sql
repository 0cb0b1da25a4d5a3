-- Records that failed validation, one row per record, with the first reason split out.
with source as (
    {{ select_optional_source('raw', 'usage_events_quarantine', {
        "_source_file": dbt.type_string(),
        "_source_line": dbt.type_bigint(),
        "_source_record": dbt.type_int(),
        "raw_text": dbt.type_string(),
        "reason": dbt.type_string(),
        "_source_modified_at": dbt.type_timestamp(),
    }) }}
),

renamed as (
    select
        _source_file as source_file,
        _source_line as source_line,
        _source_record as source_record,
        reason as reasons,
        split_part(reason, '; ', 1) as first_reason,
        raw_text,
        _source_modified_at as file_modified_at
    from source
)

select * from renamed
