{# The columns every provider report's staging model starts with. #}
{% macro provider_report_keys(provider, report) -%}
    _row_key as usage_row_key,
    '{{ provider }}' as provider,
    '{{ report }}' as report,
    bucket_start_at,
    bucket_end_at,
    cast(bucket_start_at as date) as usage_date,
    bucket_width
{%- endmacro %}

{#
  Staging for an OpenAI usage report with one measure besides the request count, grouped by
  project, user, API key and model (embeddings, moderations, audio speeches and transcriptions),
  or by project only (`per_project_only`: vector stores, code-interpreter sessions).
#}
{% macro openai_simple_usage(report, measure, per_project_only=false) -%}
{%- set dims = ['project_id'] if per_project_only else ['project_id', 'user_id', 'api_key_id', 'model'] -%}
{%- set columns = {} -%}
{%- for dim in dims %}{% do columns.update({dim: dbt.type_string()}) %}{% endfor -%}
{%- do columns.update({measure: dbt.type_bigint()}) -%}
{%- if not per_project_only %}{% do columns.update({'num_model_requests': dbt.type_bigint()}) %}{% endif -%}
with source as (
    {{ select_provider_report('openai_usage_' ~ report, columns) }}
)

select
    {{ provider_report_keys('openai', report) }},
    {{ dims | join(',\n    ') }},
    coalesce({{ measure }}, 0) as {{ measure }}
    {%- if not per_project_only %},
    coalesce(num_model_requests, 0) as requests
    {%- endif %}
from source
where bucket_width = {{ provider_bucket_width() }}
{%- endmacro %}
