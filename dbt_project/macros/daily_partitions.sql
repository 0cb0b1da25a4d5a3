{#
  Day-grain marts partitioned by day in Dagster (tag `daily_partitioned`): an incremental run
  rebuilds whole days, namely
    - the days of the run's partition range (vars `partition_start` inclusive and
      `partition_end` exclusive, ISO dates; a user's backfill names them with --vars, Dagster
      sets TOKENLAKE_PARTITION_START/END instead: a change of --vars makes dbt parse the whole
      project again, a changed environment variable only the files that read it), and
    - the days whose rows in the day rollup it reads (`rollup`, default
      agg_usage_daily_by_tenant) were rewritten since this mart last saw them,
  so new events, late events and price corrections reach the mart without a backfill.
  Without vars (a plain `dbt build`) only the second set is rebuilt.
#}
{% macro daily_partitioned_config() -%}
    {{ config(
        materialized=incremental_materialization(),
        unique_key='usage_date',
        incremental_strategy='delete+insert',
        tags=['daily_partitioned'],
    ) }}
{%- endmacro %}

{% macro daily_partition_filter(source_alias='', rollup='agg_usage_daily_by_tenant') -%}
    {%- set prefix = source_alias ~ '.' if source_alias else '' -%}
    {%- if is_incremental_with('source_priced_at') %}
    where {{ prefix }}usage_date in ({{ repriced_days(rollup) }})
    {%- set start = var('partition_start', env_var('TOKENLAKE_PARTITION_START', '')) %}
    {%- set end = var('partition_end', env_var('TOKENLAKE_PARTITION_END', '')) %}
    {%- if start and end %}
        or (
            {{ prefix }}usage_date >= cast('{{ start }}' as date)
            and {{ prefix }}usage_date < cast('{{ end }}' as date)
        )
    {%- endif %}
    {%- endif %}
{%- endmacro %}


{#- The days whose rows in the day rollup `rollup` were rewritten since this mart (a day-grain
    incremental model with a source_priced_at column) last ran: a subquery of usage_date. -#}
{% macro repriced_days(rollup) -%}
    select usage_date from {{ ref(rollup) }}
    -- An empty mart (built before any usage arrived) takes every day.
    where priced_at > coalesce(
        (select max(source_priced_at) from {{ this }}),
        cast('1900-01-01' as {{ dbt.type_timestamp() }}))
{%- endmacro %}
