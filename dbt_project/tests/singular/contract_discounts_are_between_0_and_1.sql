select provider, model_pattern, effective_from
from {{ ref('stg_seeds__provider_contracts') }}
where discount_pct < 0 or discount_pct >= 1
