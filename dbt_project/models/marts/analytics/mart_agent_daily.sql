-- Grain: agent x day, every day of the agent's first-to-last day present (0 when idle): the
-- series behind a sparkline next to mart_agent_ranking.
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with daily as (
    select
        coalesce(agent, '(none)') as agent,
        usage_date,
        sum(total_cost) as total_cost,
        sum(attempts) as attempts,
        sum(requests) as requests
    from {{ ref('agg_usage_daily_by_tenant') }}
    group by 1, 2
),

spans as (
    select agent, min(usage_date) as first_day, max(usage_date) as last_day from daily group by agent
),

days as (
    select distinct usage_date from {{ ref('agg_usage_daily_by_tenant') }}
)

select
    spans.agent,
    days.usage_date,
    cast(coalesce(daily.total_cost, 0) as {{ money_type() }}) as total_cost,
    coalesce(daily.attempts, 0) as attempts,
    coalesce(daily.requests, 0) as requests
from spans
inner join days on days.usage_date between spans.first_day and spans.last_day
left join daily on daily.agent = spans.agent and daily.usage_date = days.usage_date
