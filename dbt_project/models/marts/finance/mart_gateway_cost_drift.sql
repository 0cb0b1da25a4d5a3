-- Grain: day x provider x model, over the attempts whose log carried the gateway's own cost
-- (LiteLLM's response_cost, Helicone's costUSD, `computed_cost`). Our list cost from the price
-- book against theirs for the same priced attempts: a gap that opens is the earliest sign of a
-- stale price book (theirs or ours). `is_within_tolerance` compares the gap with
-- TOKENLAKE_GATEWAY_COST_DRIFT_PCT (var gateway_cost_drift_pct, default 5 %) once it is above
-- TOKENLAKE_GATEWAY_COST_DRIFT_MIN_USD (var gateway_cost_drift_min_usd, $0.01); a warning test lists the days outside it.
-- Incremental: rebuilds the days holding attempts (re)priced since the mart last ran.
{{ config(
    materialized=incremental_materialization(),
    unique_key='usage_date',
    incremental_strategy='delete+insert',
) }}

{%- set tolerance = var('gateway_cost_drift_pct', env_var('TOKENLAKE_GATEWAY_COST_DRIFT_PCT', '0.05')) %}
{%- set min_usd = var('gateway_cost_drift_min_usd', env_var('TOKENLAKE_GATEWAY_COST_DRIFT_MIN_USD', '0.01')) %}

with attempts as (
    select
        cast(event_at as date) as usage_date,
        provider,
        model,
        is_priced,
        total_cost,
        gateway_computed_cost,
        priced_at
    from {{ ref('fct_llm_attempts') }}
    where gateway_computed_cost is not null
    {% if is_incremental_with('source_priced_at') %}
        and cast(event_at as date) in (
            select distinct cast(event_at as date) from {{ ref('fct_llm_attempts') }}
            where priced_at > (select max(source_priced_at) from {{ this }})
        )
    {% endif %}
),

daily as (
    select
        usage_date,
        provider,
        model,
        count(*) as attempts,
        sum(case when is_priced then 0 else 1 end) as unpriced_attempts,
        cast(sum(case when is_priced then total_cost end) as {{ money_type() }}) as our_cost,
        cast(sum(case when is_priced then gateway_computed_cost end) as {{ money_type() }})
            as gateway_cost,
        cast(sum(gateway_computed_cost) as {{ money_type() }}) as gateway_cost_all,
        max(priced_at) as source_priced_at
    from attempts
    group by usage_date, provider, model
)

select
    usage_date,
    provider,
    model,
    attempts,
    unpriced_attempts,
    our_cost,
    gateway_cost,
    gateway_cost_all,
    cast(coalesce(our_cost, 0) - coalesce(gateway_cost, 0) as {{ money_type() }}) as cost_difference,
    cast({{ safe_divide('coalesce(our_cost, 0) - coalesce(gateway_cost, 0)', 'gateway_cost') }}
        as {{ float_type() }}) as drift_pct,
    abs(coalesce(our_cost, 0) - coalesce(gateway_cost, 0)) <= {{ min_usd }}
        or abs(coalesce(our_cost, 0) - coalesce(gateway_cost, 0))
            <= {{ tolerance }} * abs(coalesce(gateway_cost, 0)) as is_within_tolerance,
    source_priced_at
from daily
