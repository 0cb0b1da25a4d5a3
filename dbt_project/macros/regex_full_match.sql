{# True when the whole of `value` matches the regular expression `pattern` (anchored at both ends). #}
{% macro regex_full_match(value, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'tokenlake')(value, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(value, pattern) -%}
    regexp_like({{ value }}, '^(' || {{ pattern }} || ')$')
{%- endmacro %}

{% macro duckdb__regex_full_match(value, pattern) -%}
    regexp_full_match({{ value }}, {{ pattern }})
{%- endmacro %}

{% macro postgres__regex_full_match(value, pattern) -%}
    ({{ value }} ~ ('^(' || {{ pattern }} || ')$'))
{%- endmacro %}

{% macro spark__regex_full_match(value, pattern) -%}
    ({{ value }} rlike concat('^(', {{ pattern }}, ')$'))
{%- endmacro %}
