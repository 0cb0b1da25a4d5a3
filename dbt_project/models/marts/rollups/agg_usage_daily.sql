-- Grain: one UTC day x the same dimensions as agg_usage_hourly (its hours sum to these rows;
-- latency percentiles are computed from the attempts of the day, not averaged from hours).
-- Incremental like agg_usage_hourly, by day.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ insert_rollup_chunks('day', 'usage_date') }}",
        "{{ delete_emptied_buckets('day', 'usage_date') }}",
    ],
) }}

-- depends_on: {{ ref('fct_llm_attempts') }}
{{ incremental_usage_rollup('day', 'usage_date') }}
