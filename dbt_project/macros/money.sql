{# Money stays DECIMAL until the BI layer: one type for every cost column. #}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'tokenlake')()) }}
{%- endmacro %}

{% macro default__money_type() -%}
    decimal(18, 10)
{%- endmacro %}

{# Cost of `tokens` at `price_per_mtok` USD per million tokens, as money. #}
{% macro token_cost(tokens, price_per_mtok) -%}
    cast(({{ tokens }}) * ({{ price_per_mtok }}) / 1000000 as {{ money_type() }})
{%- endmacro %}

{# Ratios, shares and averages: a double-precision float on every engine. #}
{% macro float_type() -%}
    {{ return(adapter.dispatch('float_type', 'tokenlake')()) }}
{%- endmacro %}

{% macro default__float_type() -%}
    double precision
{%- endmacro %}

{% macro duckdb__float_type() -%}
    double
{%- endmacro %}

{% macro spark__float_type() -%}
    double
{%- endmacro %}
