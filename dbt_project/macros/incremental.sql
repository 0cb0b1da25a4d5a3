{#
  is_incremental(), and the existing table already has `column`: a table built by an older
  version of the model (without the column the incremental filter reads) is rebuilt whole once.
#}
{% macro is_incremental_with(column) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(column | lower in names) }}
{%- endmacro %}

{#
  Incremental where the engine can replace rows by key (delete+insert). Spark without a table
  format that can (Delta, Iceberg: set +file_format and use 'merge') rebuilds these tables whole.
#}
{% macro incremental_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{#
  True on a first build (or --full-refresh) of a model that creates its table empty and fills it
  in chunks from a post-hook (the usage rollups by days, mart_session_costs by a hash of its
  key), so that each chunk fits in memory. Not on Spark, which spreads one pass out.
#}
{% macro builds_in_chunks() -%}
    {{ return(target.type != 'spark' and not is_incremental()) }}
{%- endmacro %}
