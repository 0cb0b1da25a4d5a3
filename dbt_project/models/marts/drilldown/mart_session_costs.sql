-- Grain: one session / conversation / trace (drill-down level 1 for conversational products:
-- session -> request (mart_request_summary, by session_id) -> attempt (mart_request_attempts)).
-- Each attempt counted in the session it reported (a request's retries can report another
-- session than its first attempt): a session's totals are its attempts' sums. Attempts without a
-- session are not here.
-- Incremental: re-summarises every session with an attempt (re)priced since its last run, so an
-- hourly run reads the hour's sessions, not the whole history (as a view it grouped every attempt
-- on every read, and every publish read it whole).
{{ config(
    materialized=incremental_materialization(),
    unique_key='session_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

{% set incremental = is_incremental_with('priced_at') %}
{% if incremental and execute %}
{#- The sessions of the attempts (re)priced since the last run, and the earliest time any of
    their attempts can have (as in fct_llm_requests: literal times, applied as the scan runs). -#}
{%- set last_priced = query_value("select max(priced_at) from " ~ this) -%}
{%- set changed_sql = "select session_id, event_at from " ~ ref('fct_llm_attempts')
    ~ " where session_id is not null"
    ~ (" and priced_at > " ~ timestamp_literal(last_priced) if last_priced is not none else "") -%}
{%- set earliest = query_value("select least(min(changed.event_at), min(stored.started_at)) from ("
    ~ changed_sql ~ ") as changed left join " ~ this ~ " as stored on stored.session_id = changed.session_id") -%}
{% endif %}
with attempts as (
    select * from {{ ref('fct_llm_attempts') }}
    where session_id is not null
    {% if incremental and earliest is none %}
        and 1 = 0
    {% elif incremental %}
        and event_at >= {{ timestamp_literal(earliest) }}
        and session_id in (select session_id from ({{ changed_sql }}) as changed)
    {% endif %}
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
        min(event_at) as started_at,
        max(event_at) as ended_at,
        {{ dbt.datediff('min(event_at)', 'max(event_at)', 'second') }} as duration_seconds,
        count(distinct request_id) as requests,
        count(*) as attempts,
        count(*) - count(distinct request_id) as retries,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(case when is_priced then 0 else 1 end) as unpriced_attempts,
        -- NULL when any attempt is unpriced (as for requests): a partial sum is not a total.
        cast(case when sum(case when is_priced then 0 else 1 end) = 0 then sum(total_cost) end
             as {{ money_type() }}) as total_cost,
        cast(coalesce(sum(total_cost), 0) as {{ money_type() }}) as priced_cost,
        cast(coalesce(sum(case when status <> 'ok' then total_cost else 0 end), 0) as {{ money_type() }})
            as failed_attempts_cost,
        cast(case when sum(case when is_priced then 0 else 1 end) = 0 then sum(net_cost) end
             as {{ money_type() }}) as net_cost,
        sum(case when is_priced then 0 else 1 end) = 0 as is_fully_priced,
        {{ run_started_timestamp() }} as priced_at
    from attempts
    group by session_id
)

select * from final
