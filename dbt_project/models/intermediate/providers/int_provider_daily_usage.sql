-- What the providers report, per day x provider x model: billed cost (cost reports) and tokens
-- (usage reports), with the projects / workspaces the usage came from. Cost lines that are
-- not per model (storage, sessions) keep their line item as the model label.
{{ config(materialized='view') }}

with openai_costs as (
    select
        cost_date as usage_date,
        'openai' as provider,
        -- A null group-by value (a documented example page, a report not grouped by it) is
        -- labelled: a NULL model would break the reconciliation's keys.
        coalesce(model, line_item, 'unattributed') as model,
        project_id as scope_id,
        amount_usd
    from {{ ref('stg_openai__costs') }}
),

anthropic_costs as (
    select
        cost_date as usage_date,
        'anthropic' as provider,
        coalesce(model, description, 'unattributed') as model,
        workspace_id as scope_id,
        amount_usd
    from {{ ref('stg_anthropic__cost_report') }}
),

costs as (
    select * from openai_costs
    union all
    select * from anthropic_costs
),

usage_rows as (
    select usage_date, provider, coalesce(model, 'unattributed') as model, project_id as scope_id,
           requests, input_tokens, cache_read_tokens, output_tokens
    from {{ ref('stg_openai__completions_usage') }}
    union all
    select usage_date, provider, coalesce(model, 'unattributed'), project_id, requests,
           input_tokens, 0, 0
    from {{ ref('stg_openai__embeddings_usage') }}
    union all
    select usage_date, provider, coalesce(model, 'unattributed'), workspace_id, null,
           input_tokens, cache_read_tokens, output_tokens
    from {{ ref('stg_anthropic__messages_usage') }}
),

cost_days as (
    select usage_date, provider, model,
           cast(sum(amount_usd) as {{ money_type() }}) as provider_cost,
           {{ dbt.listagg('distinct scope_id', "', '", "order by scope_id") }} as cost_scopes
    from costs
    group by 1, 2, 3
),

usage_days as (
    select usage_date, provider, model,
           sum(requests) as provider_requests,
           sum(input_tokens) as provider_input_tokens,
           sum(cache_read_tokens) as provider_cache_read_tokens,
           sum(output_tokens) as provider_output_tokens
    from usage_rows
    group by 1, 2, 3
)

select
    coalesce(cost_days.usage_date, usage_days.usage_date) as usage_date,
    coalesce(cost_days.provider, usage_days.provider) as provider,
    coalesce(cost_days.model, usage_days.model) as model,
    cost_days.provider_cost,
    cost_days.cost_scopes,
    usage_days.provider_requests,
    usage_days.provider_input_tokens,
    usage_days.provider_cache_read_tokens,
    usage_days.provider_output_tokens
from cost_days
full outer join usage_days
    on cost_days.usage_date = usage_days.usage_date
    and cost_days.provider = usage_days.provider
    and cost_days.model = usage_days.model
