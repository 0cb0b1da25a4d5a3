-- A Dagster asset check on agg_usage_hourly (a test reading several models needs its asset named).
{{ config(meta={'dagster': {'ref': {'name': 'agg_usage_hourly'}}}) }}
-- One row per bucket and combination of dimensions (NULL dimensions included) in both rollups.
-- Scoped (macros/test_scope.sql): the buckets this run wrote (a bucket is replaced whole).
{% for rollup, bucket in [('agg_usage_hourly', 'usage_hour'), ('agg_usage_daily', 'usage_date')] %}
{% set changed = changed_rows_condition(ref(rollup)) %}
select '{{ rollup }}' as rollup, count(*) as n
from {{ ref(rollup) }}
{% if changed %}
where {{ bucket }} in (select {{ bucket }} from {{ ref(rollup) }} where {{ changed }})
{% endif %}
group by {{ bucket }}, tenant_id, user_id, feature, agent, action_type, provider, model, region,
    key_source, status
having count(*) > 1
{% if not loop.last %}union all{% endif %}
{% endfor %}
