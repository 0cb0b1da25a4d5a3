-- Grain: one UTC day x the same dimensions as agg_usage_hourly (its hours sum to these rows;
-- latency percentiles are computed from the attempts of the day, not averaged from hours).
-- Incremental like agg_usage_hourly, by day.
{{ config(
    materialized='incremental',
    unique_key='usage_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

{%- set incremental = is_incremental_with('priced_at') %}

with
{% if incremental %}
rebuild as (
    {{ buckets_to_rebuild('day', 'usage_date') }}
),
{% endif %}

attempts as (
    select *, cast({{ dbt.date_trunc('day', 'event_at') }} as date) as usage_date
    from {{ ref('fct_llm_attempts') }}
    {% if incremental %}
    where event_at >= (select min(bucket) from rebuild)
        and cast({{ dbt.date_trunc('day', 'event_at') }} as date) in (select cast(bucket as date) from rebuild)
    {% endif %}
)

{{ usage_rollup('usage_date') }}
