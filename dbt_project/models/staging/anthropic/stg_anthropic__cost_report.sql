-- Anthropic's billed cost per day, workspace and description, in USD as DECIMAL: the API sends
-- `amount` as a decimal string in cents (the currency's smallest unit).
with source as (
    {{ select_provider_report('anthropic_cost_report', {
        "workspace_id": dbt.type_string(),
        "description": dbt.type_string(),
        "cost_type": dbt.type_string(),
        "token_type": dbt.type_string(),
        "model": dbt.type_string(),
        "service_tier": dbt.type_string(),
        "context_window": dbt.type_string(),
        "currency": dbt.type_string(),
        "amount": dbt.type_string(),
    }) }}
)

select
    _row_key as cost_row_key,
    'anthropic' as provider,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as cost_date,
    workspace_id,
    description,
    cost_type,
    token_type,
    model,
    service_tier,
    context_window,
    upper(coalesce(currency, 'USD')) as currency,
    cast(cast(amount as decimal(38, 12)) / 100 as {{ money_type() }}) as amount,
    case
        when upper(coalesce(currency, 'USD')) = 'USD'
            then cast(cast(amount as decimal(38, 12)) / 100 as {{ money_type() }})
    end as amount_usd
from source
where bucket_width = '1d'
