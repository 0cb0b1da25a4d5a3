{#
    Every not-null and non-negative check of a model in one scan: one result row per failing
    (column, check), with how many rows fail it. One test per model instead of one per column
    keeps a build from scanning a big table once per column (and dbt's per-test overhead, about
    70 ms, from multiplying by every column of every mart).
#}
{% test column_checks(model, not_null=[], non_negative=[]) %}
{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append((column, 'not_null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do checks.append((column, 'non_negative', column ~ ' < 0')) -%}
{%- endfor -%}
with failing as (
    select
    {%- for column, check, condition in checks %}
        sum(case when {{ condition }} then 1 else 0 end) as failing_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column, check, condition in checks %}
select '{{ column }}' as column_name, '{{ check }}' as check_name, failing_{{ loop.index }} as failing_rows
from failing
where failing_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}
