select tenant_id, effective_from
from {{ ref('stg_seeds__tenant_price_plans') }}
where markup_pct < 0 or per_request_fee_usd < 0
