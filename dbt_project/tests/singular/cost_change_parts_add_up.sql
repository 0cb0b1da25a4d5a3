-- The "why" decomposition is exact: its seven parts add up to the change.
select *
from {{ ref('mart_cost_change_drivers') }}
where abs(cost_change - (more_requests + more_retries + longer_prompts + longer_completions
                         + model_mix + cache_misses + price_change)) > 0.000001
