{#
  An index on the column dashboards look single rows up by (request_id: the feature -> request ->
  attempt drill-down), so that a point lookup reads the index instead of every row. DuckDB only:
  other engines keep their own ways (clustering, sort keys) and get nothing here.

  DuckDB cannot rename a table that has an index, and a full rebuild renames the old table aside:
  the index is dropped before a rebuild (pre-hook) and made again afterwards (post-hook). An
  incremental run keeps it; the rows it deletes and inserts update it.
#}
{% macro lookup_index_name(column) -%}
    {{ this.identifier }}__{{ column }}_lookup
{%- endmacro %}

{% macro drop_lookup_index(column) -%}
    {%- if target.type == 'duckdb' and not is_incremental() -%}
        drop index if exists {{ this.schema }}.{{ lookup_index_name(column) }}
    {%- endif -%}
{%- endmacro %}

{% macro create_lookup_index(column) -%}
    {%- if target.type == 'duckdb' -%}
        create index if not exists {{ lookup_index_name(column) }} on {{ this }} ({{ column }})
    {%- endif -%}
{%- endmacro %}
