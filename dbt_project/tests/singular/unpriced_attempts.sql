-- Attempts whose model has no price (kept with NULL cost). Warns with one row per model.
{{ config(severity='warn', warn_if='>' ~ var('unpriced_attempts_warn_after')) }}
select provider, model, count(*) as attempts, sum(input_tokens + output_tokens) as tokens
from {{ ref('fct_llm_attempts') }}
where not is_priced
group by provider, model
