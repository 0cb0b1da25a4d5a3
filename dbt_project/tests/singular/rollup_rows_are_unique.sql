-- A Dagster asset check on agg_usage_hourly (a test reading several models needs its asset named).
{{ config(meta={'dagster': {'ref': {'name': 'agg_usage_hourly'}}}) }}
-- One row per bucket and combination of dimensions (NULL dimensions included) in the rollups.
-- Scoped (macros/test_scope.sql): the buckets this run wrote (a bucket is replaced whole).
-- Where the engine has a fast row hash, rows are first grouped by (bucket, hash of the
-- dimensions) and only the groups with two rows are compared column by column: the same exact
-- result, without hashing ten text columns into the aggregate of every row (10 M attempts:
-- 1.6 s instead of 5.7 s).
{%- set rollups = [('agg_usage_hourly', 'usage_hour', rollup_dimensions()),
                   ('agg_usage_daily', 'usage_date', rollup_dimensions()),
                   ('agg_usage_daily_by_tenant', 'usage_date', rollup_dimensions(without=['user_id']))] %}
{%- set fast_hash = row_hash(['x']) is not none %}
with
{% for rollup, bucket, keys in rollups %}
{%- set changed = changed_rows_condition(ref(rollup)) %}
{{ rollup }}_rows as (
    select *
    from {{ ref(rollup) }}
    {% if changed %}
    where {{ bucket }} in (select {{ bucket }} from {{ ref(rollup) }} where {{ changed }})
    {% endif %}
),
{% if fast_hash %}
{{ rollup }}_candidates as (
    select {{ bucket }} as bucket, {{ row_hash(keys) }} as row_hash
    from {{ rollup }}_rows
    group by 1, 2
    having count(*) > 1
),
{% endif %}
{{ rollup }}_duplicates as (
    select '{{ rollup }}' as rollup, count(*) as n
    from {{ rollup }}_rows
    {% if fast_hash %}
    inner join {{ rollup }}_candidates as candidates
        on {{ rollup }}_rows.{{ bucket }} = candidates.bucket
        and {{ row_hash(keys, rollup ~ '_rows') }} = candidates.row_hash
    {% endif %}
    group by {{ rollup }}_rows.{{ bucket }}, {% for key in keys %}{{ rollup }}_rows.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
    having count(*) > 1
){{ ',' if not loop.last }}
{% endfor %}
{% for rollup, bucket, keys in rollups %}
select * from {{ rollup }}_duplicates
{% if not loop.last %}union all{% endif %}
{% endfor %}
