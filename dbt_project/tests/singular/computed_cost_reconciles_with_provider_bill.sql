-- Warns for each day x provider x model where the cost computed from the logs and the cost the
-- provider billed differ by more than var('reconciliation_tolerance_pct'). Untracked calls,
-- models missing from the price book and wrong prices show up here.
{{ config(severity='warn') }}

select usage_date, provider, model, computed_cost, provider_cost, cost_difference_pct, reconciliation_status
from {{ ref('mart_cost_reconciliation') }}
where is_within_tolerance = false
