{#
  Values looked up while a model or test runs, written into its SQL as literals: an engine
  filters a scan by a literal as it reads (and skips data by its column statistics), where a
  subquery's value is joined in after the whole scan.
#}

{# The first value of a query's first row, run at execution (none while parsing). #}
{% macro query_value(sql) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{%- endmacro %}

{# A text value as a quoted SQL literal. #}
{% macro sql_literal(value) -%}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}

{# A timestamp value (as a query returns it) as a SQL literal of the timestamp type. #}
{% macro timestamp_literal(value) -%}
    {{ return("cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
