-- Grain: one hour (UTC) x tenant x user x feature x agent x action_type x provider x model x
-- region x key_source x status. Additive: requests count first attempts, so hours sum to days.
-- Incremental: rebuilds whole hours that received (re)priced attempts since the last run (new
-- and late events, price corrections), and the hours of the look-back window (var
-- rollup_lookback_days, default 3) whose attempt count no longer matches (an attempt moved out by
-- a re-delivery); hours left empty are deleted. An hourly run costs what the new data costs.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_hour',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ insert_rollup_chunks('hour', 'usage_hour') }}",
        "{{ delete_emptied_buckets('hour', 'usage_hour') }}",
    ],
) }}

-- depends_on: {{ ref('fct_llm_attempts') }}
{{ incremental_usage_rollup('hour', 'usage_hour') }}
