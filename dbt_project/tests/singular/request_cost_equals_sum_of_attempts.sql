-- A Dagster asset check on fct_llm_requests (a test reading several models needs its asset named).
{{ config(meta={'dagster': {'ref': {'name': 'fct_llm_requests'}}}) }}
-- A request's cost is exactly the sum of its attempts' costs (rollups never drift from rows).
with attempts as (
    select request_id, sum(total_cost) as attempts_cost, count(*) as attempts
    from {{ ref('fct_llm_attempts') }}
    group by request_id
)

select requests.request_id
from {{ ref('fct_llm_requests') }} as requests
inner join attempts on requests.request_id = attempts.request_id
where requests.attempts <> attempts.attempts
    or coalesce(requests.priced_cost, 0) <> coalesce(attempts.attempts_cost, 0)
