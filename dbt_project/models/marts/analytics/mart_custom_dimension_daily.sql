{{ daily_partitioned_config() }}
-- Grain: day x custom dimension x value: spend by each dimension promoted from the events'
-- extra fields (TOKENLAKE_CUSTOM_DIMENSIONS, macros/custom_dimensions.sql), one row per value,
-- so that one dashboard panel serves every dimension (its name is a column, not a schema).
-- Values are text here ('(not set)' for events without one); the rollups keep their types.
-- Without custom dimensions the mart is empty.
{%- set dimensions = custom_dimensions() %}
{%- set text_type = dbt.type_string() %}
{% if dimensions %}
with daily as (
    select * from {{ ref('agg_usage_daily_by_tenant') }}
    {{ daily_partition_filter() }}
)
{% for dimension in dimensions %}
select
    usage_date,
    cast('{{ dimension.name }}' as {{ text_type }}) as dimension,
    coalesce(cast({{ dimension.name }} as {{ text_type }}), '(not set)') as dimension_value,
    sum(attempts) as attempts,
    sum(requests) as requests,
    sum(unpriced_attempts) as unpriced_attempts,
    sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens,
    cast(sum(total_cost) as {{ money_type() }}) as total_cost,
    cast(sum(net_cost) as {{ money_type() }}) as net_cost,
    max(priced_at) as source_priced_at
from daily
group by usage_date, {{ dimension.name }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% else %}
{#- A table, not incremental: rows of dimensions no longer listed go with them. -#}
{{ config(materialized='table') }}
select
    cast(null as date) as usage_date,
    cast(null as {{ text_type }}) as dimension,
    cast(null as {{ text_type }}) as dimension_value,
    cast(null as {{ dbt.type_bigint() }}) as attempts,
    cast(null as {{ dbt.type_bigint() }}) as requests,
    cast(null as {{ dbt.type_bigint() }}) as unpriced_attempts,
    cast(null as {{ dbt.type_bigint() }}) as input_tokens,
    cast(null as {{ dbt.type_bigint() }}) as output_tokens,
    cast(null as {{ money_type() }}) as total_cost,
    cast(null as {{ money_type() }}) as net_cost,
    cast(null as {{ dbt.type_timestamp() }}) as source_priced_at
where 1 = 0
{% endif %}
