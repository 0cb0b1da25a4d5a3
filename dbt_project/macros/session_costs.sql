{#
  mart_session_costs' rows: the CTE `attempts` (fct_llm_attempts rows with a session) summed per
  session. The model and its first build's chunks (insert_session_chunks) both select these.
#}
{% macro session_summary() -%}
select
    session_id,
    min(tenant_id) as tenant_id,
    {{ distinct_count('tenant_id') }} as tenants,
    min(user_id) as user_id,
    min(feature) as first_feature,
    {{ distinct_count('feature') }} as features,
    {{ distinct_count('model') }} as models_used,
    {{ distinct_list('model', ', ') }} as model_list,
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
{%- endmacro %}

{#
  Post-hook of mart_session_costs: its first build (or --full-refresh) appends the sessions in
  chunks by a hash of session_id, about var session_build_chunk_attempts attempts each (at most
  16 chunks). Every session lies in one chunk, so the rows are those of one pass; but one pass
  over 10 M attempts spilled (30.6 s). At 10 M events, with distinct values counted from lists
  (distinct_count()): 24.3 s in 2 chunks, 20.2-20.9 s in 3 or 4, 19.1-20.9 s in 5 to 10; but
  from 5 chunks on, the chunks' many part-filled row groups cost the next checkpoint 1.5-2.6 s
  (0.03 s after 3 or 4 chunks), paid when dbt closes the warehouse. Not on Spark, which spreads
  one pass out.
#}
{% macro insert_session_chunks() -%}
{%- if execute and builds_in_chunks() -%}
    {%- set with_session = ref('fct_llm_attempts') ~ " where session_id is not null" -%}
    {%- set attempts = query_value("select count(*) from " ~ with_session) -%}
    {%- set chunks = [[(attempts / var('session_build_chunk_attempts')) | round(0, 'ceil') | int, 1] | max, 16] | min -%}
    {%- for chunk in range(chunks) -%}
        {%- do run_query("insert into " ~ this ~ " with attempts as (select * from " ~ with_session
            ~ " and " ~ hash_bucket('session_id', chunks) ~ " = " ~ chunk ~ ") " ~ session_summary()) -%}
    {%- endfor -%}
{%- endif -%}
{%- endmacro %}
