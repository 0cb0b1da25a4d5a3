-- Grain: day x provider x model. Cost computed from the logs (calls on the platform's keys:
-- BYOK calls are billed to the customers, not to us) against what the provider billed and
-- reported. A positive difference is spend the logs do not explain (untracked calls, models the
-- price book lacks, prices that are wrong); `is_within_tolerance` compares it with
-- var('reconciliation_tolerance_pct') (a warning test lists the days above it).
-- Whole history (or a window of it) rebuilt: once a day, not hourly (tag `daily`).
{{ config(tags=['daily']) }}
with computed as (
    select
        usage_date,
        provider,
        model,
        sum(requests) as logged_requests,
        sum(attempts) as logged_attempts,
        sum(input_tokens) as logged_input_tokens,
        sum(output_tokens) as logged_output_tokens,
        sum(unpriced_attempts) as unpriced_attempts,
        cast(sum(total_cost) as {{ money_type() }}) as computed_list_cost,
        cast(sum(net_cost) as {{ money_type() }}) as computed_cost
    from {{ ref('agg_usage_daily_by_tenant') }}
    where key_source = 'system'
    group by 1, 2, 3
),

reported as (
    select * from {{ ref('int_provider_daily_usage') }}
),

joined as (
    select
        coalesce(computed.usage_date, reported.usage_date) as usage_date,
        coalesce(computed.provider, reported.provider) as provider,
        coalesce(computed.model, reported.model) as model,
        coalesce(computed.logged_attempts, 0) as logged_attempts,
        coalesce(computed.logged_input_tokens, 0) as logged_input_tokens,
        coalesce(computed.logged_output_tokens, 0) as logged_output_tokens,
        coalesce(computed.unpriced_attempts, 0) as unpriced_attempts,
        cast(coalesce(computed.computed_cost, 0) as {{ money_type() }}) as computed_cost,
        reported.provider_cost,
        reported.cost_scopes as provider_scopes,
        reported.provider_input_tokens,
        reported.provider_output_tokens
    from computed
    full outer join reported
        on computed.usage_date = reported.usage_date
        and computed.provider = reported.provider
        and computed.model = reported.model
)

select
    *,
    cast(provider_cost - computed_cost as {{ money_type() }}) as cost_difference,
    cast({{ safe_divide('provider_cost - computed_cost', 'provider_cost') }} as {{ float_type() }}) as cost_difference_pct,
    provider_input_tokens - logged_input_tokens as input_token_difference,
    provider_output_tokens - logged_output_tokens as output_token_difference,
    case
        when provider_cost is null then null
        when provider_cost = 0 then computed_cost = 0
        else abs(provider_cost - computed_cost) <= {{ var('reconciliation_tolerance_pct') }} * provider_cost
    end as is_within_tolerance,
    case
        when provider_cost is null then 'no_provider_report'
        when computed_cost = 0 and logged_attempts = 0 then 'not_in_logs'
        when unpriced_attempts > 0 then 'unpriced_model'
        when abs(provider_cost - computed_cost) <= {{ var('reconciliation_tolerance_pct') }} * provider_cost then 'matched'
        when provider_cost > computed_cost then 'provider_higher'
        else 'logs_higher'
    end as reconciliation_status
from joined
