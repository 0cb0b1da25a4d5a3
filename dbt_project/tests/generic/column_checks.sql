{#
    Every not-null and non-negative check of a model in one test: one result row per failing
    (column, check), with how many rows fail it. One test per model instead of one per column
    keeps dbt's per-test overhead (about 70 ms) from multiplying by every column of every mart.
    Each check stays its own filtered count, not one aggregate over the table: a filter lets the
    engine skip data by its column statistics (DuckDB: 20 ms instead of 0.3-0.8 s for 22 checks
    on 9 M rollup rows).
#}
{% test column_checks(model, not_null=[], non_negative=[]) %}
{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append((column, 'not_null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do checks.append((column, 'non_negative', column ~ ' < 0')) -%}
{%- endfor -%}
{%- for column, check, condition in checks %}
select '{{ column }}' as column_name, '{{ check }}' as check_name, count(*) as failing_rows
from {{ model }}
where {{ condition }}
having count(*) > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}
