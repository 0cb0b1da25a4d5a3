-- Grain: one row per logical request; its attempts (retries included) summed.
-- Incremental: re-summarises every request with an attempt (re)priced since its last run.
{{ config(
    materialized=incremental_materialization(),
    unique_key='request_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with attempts as (
    select * from {{ ref('fct_llm_attempts') }}
    {% if is_incremental_with('priced_at') %}
    where request_id in (
        select request_id from {{ ref('fct_llm_attempts') }}
        where priced_at > (select max(priced_at) from {{ this }})
    )
    {% endif %}
),

summed as (
    select
        request_id,
        count(*) as attempts,
        count(*) - 1 as retries,
        max(attempt) as last_attempt,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(total_tokens) as total_tokens,
        sum(case when is_priced then 0 else 1 end) as unpriced_attempts,
        cast(sum(total_cost) as {{ money_type() }}) as priced_cost,
        cast(sum(case when status <> 'ok' then total_cost else 0 end) as {{ money_type() }}) as failed_attempts_cost,
        cast(sum(net_cost) as {{ money_type() }}) as priced_net_cost,
        max(priced_at) as priced_at
    from attempts
    group by request_id
),

final as (
    select
        summed.request_id,
        final_attempt.tenant_id,
        final_attempt.user_id,
        final_attempt.feature,
        final_attempt.agent,
        final_attempt.action_type,
        final_attempt.provider,
        final_attempt.model,
        final_attempt.status as final_status,
        final_attempt.session_id,
        summed.attempts,
        summed.retries,
        summed.first_seen_at,
        summed.last_seen_at,
        summed.input_tokens,
        summed.cache_read_tokens,
        summed.cache_write_tokens,
        summed.output_tokens,
        summed.total_tokens,
        summed.unpriced_attempts,
        summed.unpriced_attempts = 0 as is_fully_priced,
        -- NULL when any attempt is unpriced: a partial sum would look like a real total.
        case when summed.unpriced_attempts = 0 then summed.priced_cost end as total_cost,
        summed.priced_cost,
        summed.failed_attempts_cost,
        case when summed.unpriced_attempts = 0 then summed.priced_net_cost end as net_cost,
        summed.priced_at
    from summed
    inner join attempts as final_attempt
        on summed.request_id = final_attempt.request_id
        and summed.last_attempt = final_attempt.attempt
)

select * from final
