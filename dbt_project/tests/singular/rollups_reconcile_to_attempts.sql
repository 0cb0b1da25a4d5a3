-- A Dagster asset check on agg_usage_daily (a test reading several models needs its asset named).
{{ config(meta={'dagster': {'ref': {'name': 'agg_usage_daily'}}}) }}
-- Daily totals = hourly totals = attempt totals, per day, to the cent (and counts exactly); the
-- daily rollup without users (agg_usage_daily_by_tenant) holds the same totals.
-- Scoped (macros/test_scope.sql): the days whose daily rows this run wrote.
{% set changed = changed_rows_condition(ref('agg_usage_daily')) %}
{% set scoped = changed != '' %}
with
{% if scoped %}
changed_days as (
    select distinct usage_date from {{ ref('agg_usage_daily') }} where {{ changed }}
),
{% endif %}

attempts as (
    select cast({{ dbt.date_trunc('day', 'event_at') }} as date) as usage_date,
           count(*) as attempts, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
           coalesce(sum(total_cost), 0) as total_cost, coalesce(sum(net_cost), 0) as net_cost
    from {{ ref('fct_llm_attempts') }}
    {% if scoped %}
    where event_at >= (select cast(min(usage_date) as {{ dbt.type_timestamp() }}) from changed_days)
        and cast({{ dbt.date_trunc('day', 'event_at') }} as date) in (select usage_date from changed_days)
    {% endif %}
    group by 1
),

hourly as (
    select cast({{ dbt.date_trunc('day', 'usage_hour') }} as date) as usage_date,
           sum(attempts) as attempts, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
           sum(total_cost) as total_cost, sum(net_cost) as net_cost
    from {{ ref('agg_usage_hourly') }}
    {% if scoped %}
    where usage_hour >= (select cast(min(usage_date) as {{ dbt.type_timestamp() }}) from changed_days)
        and cast({{ dbt.date_trunc('day', 'usage_hour') }} as date) in (select usage_date from changed_days)
    {% endif %}
    group by 1
),

daily as (
    select usage_date, sum(attempts) as attempts, sum(input_tokens) as input_tokens,
           sum(output_tokens) as output_tokens, sum(total_cost) as total_cost, sum(net_cost) as net_cost
    from {{ ref('agg_usage_daily') }}
    {% if scoped %}
    where usage_date in (select usage_date from changed_days)
    {% endif %}
    group by 1
),

by_tenant as (
    select usage_date, sum(attempts) as attempts, sum(input_tokens) as input_tokens,
           sum(output_tokens) as output_tokens, sum(total_cost) as total_cost, sum(net_cost) as net_cost
    from {{ ref('agg_usage_daily_by_tenant') }}
    {% if scoped %}
    where usage_date in (select usage_date from changed_days)
    {% endif %}
    group by 1
)

select attempts.usage_date, attempts.total_cost, hourly.total_cost as hourly_cost, daily.total_cost as daily_cost,
    by_tenant.total_cost as by_tenant_cost
from attempts
full outer join hourly on attempts.usage_date = hourly.usage_date
full outer join daily on coalesce(attempts.usage_date, hourly.usage_date) = daily.usage_date
full outer join by_tenant
    on coalesce(attempts.usage_date, hourly.usage_date, daily.usage_date) = by_tenant.usage_date
where attempts.usage_date is null or hourly.usage_date is null or daily.usage_date is null
    or by_tenant.usage_date is null
    or daily.attempts <> by_tenant.attempts or daily.input_tokens <> by_tenant.input_tokens
    or daily.output_tokens <> by_tenant.output_tokens
    or abs(daily.total_cost - by_tenant.total_cost) >= 0.005
    or abs(daily.net_cost - by_tenant.net_cost) >= 0.005
    or attempts.attempts <> hourly.attempts or attempts.attempts <> daily.attempts
    or attempts.input_tokens <> hourly.input_tokens or attempts.input_tokens <> daily.input_tokens
    or attempts.output_tokens <> hourly.output_tokens or attempts.output_tokens <> daily.output_tokens
    or abs(attempts.total_cost - hourly.total_cost) >= 0.005
    or abs(attempts.total_cost - daily.total_cost) >= 0.005
    or abs(attempts.net_cost - daily.net_cost) >= 0.005
