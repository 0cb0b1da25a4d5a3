-- Warns for each day x provider x model where the gateway's own cost and ours (same attempts,
-- same tokens) differ by more than TOKENLAKE_GATEWAY_COST_DRIFT_PCT: one of the two price books
-- is out of date, or the gateway counts tokens differently (mart_gateway_cost_drift).
{{ config(severity='warn') }}

select usage_date, provider, model, attempts, our_cost, gateway_cost, drift_pct
from {{ ref('mart_gateway_cost_drift') }}
where not is_within_tolerance
