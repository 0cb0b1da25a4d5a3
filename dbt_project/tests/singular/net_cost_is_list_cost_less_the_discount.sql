-- What the provider invoices never exceeds list price, and is exactly list less the contract share.
select request_id, attempt
from {{ ref('fct_llm_attempts') }}
where net_cost > total_cost
    or net_cost < 0
    or abs(net_cost - total_cost * (1 - contract_discount_pct)) > 0.0000000001
