-- OpenAI's billed cost per day, project and line item, as DECIMAL. Token line items read
-- "<model>, <kind>" (input, cached input, output, ...): the model is split out for reconciliation.
with source as (
    {{ select_provider_report('openai_costs', {
        "project_id": dbt.type_string(),
        "api_key_id": dbt.type_string(),
        "line_item": dbt.type_string(),
        "amount__value": money_type(),
        "amount__currency": dbt.type_string(),
        "quantity": dbt.type_numeric(),
        "quantity_unit": dbt.type_string(),
    }) }}
)

select
    _row_key as cost_row_key,
    'openai' as provider,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as cost_date,
    project_id,
    api_key_id,
    line_item,
    case when line_item like '%, %' then {{ dbt.split_part('line_item', "', '", 1) }} end as model,
    case when line_item like '%, %' then {{ dbt.split_part('line_item', "', '", 2) }} end as cost_kind,
    upper(coalesce(amount__currency, 'usd')) as currency,
    cast(coalesce(amount__value, 0) as {{ money_type() }}) as amount,
    case
        when upper(coalesce(amount__currency, 'usd')) = 'USD'
            then cast(coalesce(amount__value, 0) as {{ money_type() }})
    end as amount_usd,
    quantity,
    quantity_unit
from source
where bucket_width = '1d'
