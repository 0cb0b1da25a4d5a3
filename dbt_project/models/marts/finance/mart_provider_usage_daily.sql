-- Grain: day x provider x source x line item x model x scope: everything the providers'
-- usage and cost reports say, token or not, in one table (the bill's lines). `source` tells
-- the two apart:
--   usage_report: one row per report (completions, embeddings, moderations, images, audio
--     speeches and transcriptions, vector stores, code-interpreter sessions, Anthropic
--     messages) with its measure as quantity + unit (tokens, images, characters, seconds,
--     bytes, sessions) and requests;
--   cost_report: one row per billed line item (OpenAI) or description (Anthropic) with its cost.
-- A group-by value the report leaves empty (not grouped by it, or a documented example page
-- with `model: null`) is labelled, never dropped: model 'unattributed', scope '(all)'.
{{ config(materialized='table') }}

{%- set unlabelled_model = "'unattributed'" %}
{%- set unlabelled_scope = "'(all)'" %}

with usage_reports as (
    {%- set simple = [
        ('embeddings', 'input_tokens', 'tokens', false),
        ('moderations', 'input_tokens', 'tokens', false),
        ('audio_speeches', 'characters', 'characters', false),
        ('audio_transcriptions', 'seconds', 'seconds', false),
        ('vector_stores', 'usage_bytes', 'bytes', true),
        ('code_interpreter_sessions', 'num_sessions', 'sessions', true),
    ] %}
    select usage_date, provider, report as line_item, model, project_id as scope_id,
           requests, input_tokens, cache_read_tokens, output_tokens,
           input_tokens + output_tokens as quantity, 'tokens' as quantity_unit
    from {{ ref('stg_openai__completions_usage') }}
    union all
    select usage_date, provider, report, model, project_id, requests, 0, 0, 0,
           images, 'images'
    from {{ ref('stg_openai__images_usage') }}
    {%- for report, measure, unit, per_project in simple %}
    union all
    select usage_date, provider, report,
           {{ 'cast(null as ' ~ dbt.type_string() ~ ')' if per_project else 'model' }},
           project_id,
           {{ 'cast(null as ' ~ dbt.type_bigint() ~ ')' if per_project else 'requests' }},
           {{ measure if unit == 'tokens' else 0 }}, 0, 0,
           {{ measure }}, '{{ unit }}'
    from {{ ref('stg_openai__' ~ report ~ '_usage') }}
    {%- endfor %}
    union all
    select usage_date, provider, report, model, workspace_id, cast(null as {{ dbt.type_bigint() }}),
           input_tokens, cache_read_tokens, output_tokens,
           input_tokens + output_tokens, 'tokens'
    from {{ ref('stg_anthropic__messages_usage') }}
),

cost_reports as (
    select cost_date as usage_date, provider, coalesce(line_item, 'unlabelled') as line_item,
           model, project_id as scope_id, amount_usd, quantity, quantity_unit
    from {{ ref('stg_openai__costs') }}
    union all
    select cost_date, provider, coalesce(description, cost_type, 'unlabelled'), model,
           workspace_id, amount_usd, cast(null as {{ dbt.type_numeric() }}),
           cast(null as {{ dbt.type_string() }})
    from {{ ref('stg_anthropic__cost_report') }}
),

usage_days as (
    select
        usage_date,
        provider,
        'usage_report' as source,
        line_item,
        coalesce(model, {{ unlabelled_model }}) as model,
        coalesce(scope_id, {{ unlabelled_scope }}) as scope_id,
        quantity_unit,
        sum(requests) as requests,
        sum(input_tokens) as input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(output_tokens) as output_tokens,
        cast(sum(quantity) as {{ dbt.type_numeric() }}) as quantity,
        cast(null as {{ money_type() }}) as billed_cost
    from usage_reports
    group by 1, 2, 3, 4, 5, 6, 7
),

cost_days as (
    select
        usage_date,
        provider,
        'cost_report' as source,
        line_item,
        coalesce(model, {{ unlabelled_model }}) as model,
        coalesce(scope_id, {{ unlabelled_scope }}) as scope_id,
        max(quantity_unit) as quantity_unit,
        cast(null as {{ dbt.type_bigint() }}) as requests,
        cast(null as {{ dbt.type_bigint() }}) as input_tokens,
        cast(null as {{ dbt.type_bigint() }}) as cache_read_tokens,
        cast(null as {{ dbt.type_bigint() }}) as output_tokens,
        cast(sum(quantity) as {{ dbt.type_numeric() }}) as quantity,
        cast(sum(amount_usd) as {{ money_type() }}) as billed_cost
    from cost_reports
    group by 1, 2, 3, 4, 5, 6
)

select * from usage_days
union all
select * from cost_days
