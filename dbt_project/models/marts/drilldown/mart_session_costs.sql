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
    post_hook="{{ insert_session_chunks() }}",
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
    {% elif builds_in_chunks() %}
        and 1 = 0 {#- a first build: its post-hook appends the sessions in chunks #}
    {% endif %}
)

{{ session_summary() }}
