{#
  Select `columns` (name -> SQL type) from a raw table that may not exist yet, or may lack some
  columns: provider tables appear only once a key is set, and dlt adds a column only after the
  API first returns a non-null value for it. Missing tables or columns read as typed NULLs, so
  staging models build on every warehouse.
#}
{% macro select_optional_source(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set existing = [] -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
        {%- if found is not none -%}
            {%- for column in adapter.get_columns_in_relation(found) -%}
                {%- do existing.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif %}
    select
    {%- for name, type in columns.items() %}
        {% if name | lower in existing -%}
            cast({{ adapter.quote(name) }} as {{ type }})
        {%- else -%}
            cast(null as {{ type }})
        {%- endif %} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {%- if existing %}
    from {{ relation }}
    {%- else %}
    from (select 1 as placeholder) as missing_source
    where 1 = 0
    {%- endif %}
{%- endmacro %}

{# The bucket width the provider tables hold (TOKENLAKE_PROVIDER_BUCKET_WIDTH). #}
{% macro provider_bucket_width() -%}
    '{{ env_var("TOKENLAKE_PROVIDER_BUCKET_WIDTH", "1d") }}'
{%- endmacro %}

{# A provider report's raw table (source `raw`): the bucket columns the dlt source adds to
   every row, then the report's own `columns`. #}
{% macro select_provider_report(table_name, columns) -%}
    {%- set all_columns = {
        "_row_key": dbt.type_string(),
        "bucket_start_at": dbt.type_timestamp(),
        "bucket_end_at": dbt.type_timestamp(),
        "bucket_width": dbt.type_string(),
    } -%}
    {%- do all_columns.update(columns) -%}
    {{ select_optional_source('raw', table_name, all_columns) }}
{%- endmacro %}
