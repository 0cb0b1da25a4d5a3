-- Grain: one session / conversation / trace (drill-down level 1 for conversational products:
-- session -> request (mart_request_summary, by session_id) -> attempt (mart_request_attempts)).
-- A view over fct_llm_requests: requests carry their session, so the session's totals are the
-- sums of its requests' (which are the sums of their attempts'). Requests without a session are
-- not here.
{{ config(materialized='view') }}

with requests as (
    select * from {{ ref('fct_llm_requests') }}
    where session_id is not null
),

final as (
    select
        session_id,
        min(tenant_id) as tenant_id,
        count(distinct tenant_id) as tenants,
        min(user_id) as user_id,
        min(feature) as first_feature,
        count(distinct feature) as features,
        count(distinct model) as models_used,
        {{ dbt.listagg('distinct model', "', '", "order by model") if target.type != 'spark' else "concat_ws(', ', sort_array(collect_set(model)))" }} as model_list,
        min(first_seen_at) as started_at,
        max(last_seen_at) as ended_at,
        {{ dbt.datediff('min(first_seen_at)', 'max(last_seen_at)', 'second') }} as duration_seconds,
        count(*) as requests,
        sum(attempts) as attempts,
        sum(retries) as retries,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(unpriced_attempts) as unpriced_attempts,
        -- NULL when any attempt is unpriced (as for requests): a partial sum is not a total.
        cast(case when sum(unpriced_attempts) = 0 then sum(priced_cost) end as {{ money_type() }}) as total_cost,
        cast(sum(priced_cost) as {{ money_type() }}) as priced_cost,
        cast(sum(failed_attempts_cost) as {{ money_type() }}) as failed_attempts_cost,
        cast(case when sum(unpriced_attempts) = 0 then sum(net_cost) end as {{ money_type() }}) as net_cost,
        sum(unpriced_attempts) = 0 as is_fully_priced
    from requests
    group by session_id
)

select * from final
