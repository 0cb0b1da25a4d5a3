-- Grain: one hour (UTC) x tenant x user x feature x agent x action_type x provider x model x
-- region x key_source x status. Additive: requests count first attempts, so hours sum to days.
-- Incremental: rebuilds whole hours that received (re)priced attempts since the last run, plus
-- the look-back window (var rollup_lookback_days, default 3): late events land in their hour
-- and a price correction reaches the rollup, while an hourly run costs what the new data costs.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_hour',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

-- depends_on: {{ ref('fct_llm_attempts') }}
{{ incremental_usage_rollup('hour', 'usage_hour') }}
