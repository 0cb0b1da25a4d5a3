{#
  Day-grain marts partitioned by day in Dagster (tag `daily_partitioned`): an incremental run
  rebuilds whole days, namely
    - the days of the run's partition range (vars `partition_start` inclusive and
      `partition_end` exclusive, ISO dates; Dagster passes them, a backfill names them), and
    - the days whose rows in agg_usage_daily were (re)priced since this mart last saw them,
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

{% macro daily_partition_filter(source_alias='') -%}
    {%- set prefix = source_alias ~ '.' if source_alias else '' -%}
    {%- if is_incremental_with('source_priced_at') %}
    where {{ prefix }}usage_date in (
        select usage_date from {{ ref('agg_usage_daily') }}
        where priced_at > (select max(source_priced_at) from {{ this }})
    )
    {%- if var('partition_start', none) and var('partition_end', none) %}
        or (
            {{ prefix }}usage_date >= cast('{{ var("partition_start") }}' as date)
            and {{ prefix }}usage_date < cast('{{ var("partition_end") }}' as date)
        )
    {%- endif %}
    {%- endif %}
{%- endmacro %}
