-- A Dagster asset check on fct_llm_requests (a test reading several models needs its asset named).
{{ config(meta={'dagster': {'ref': {'name': 'fct_llm_requests'}}}) }}
-- A request's cost is exactly the sum of its attempts' costs (rollups never drift from rows).
-- Scoped (macros/test_scope.sql): the requests this run wrote.
{% set changed = changed_rows_condition(ref('fct_llm_requests')) %}
{% set scoped = changed != '' %}
with requests as (
    select * from {{ ref('fct_llm_requests') }}
    {% if scoped %}
    where {{ changed }}
    {% endif %}
),

attempts as (
    select request_id, sum(total_cost) as attempts_cost, count(*) as attempts
    from {{ ref('fct_llm_attempts') }}
    {% if scoped %}
    where event_at >= (select min(first_seen_at) from requests)
        and request_id in (select request_id from requests)
    {% endif %}
    group by request_id
)

select requests.request_id
from requests
inner join attempts on requests.request_id = attempts.request_id
where requests.attempts <> attempts.attempts
    or coalesce(requests.priced_cost, 0) <> coalesce(attempts.attempts_cost, 0)
