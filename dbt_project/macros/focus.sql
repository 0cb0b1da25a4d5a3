-- Helpers of the FOCUS export (models/marts/finance/focus_llm_costs.sql).

-- A JSON object of string values, e.g. FOCUS Tags: {"tenant": "acme", "feature": "chat"}.
{% macro json_object_of_strings(pairs) -%}
    {{ return(adapter.dispatch('json_object_of_strings', 'tokenlake')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_of_strings(pairs) -%}
    cast(json_build_object({% for key, value in pairs %}'{{ key }}', {{ value }}{{ ", " if not loop.last }}{% endfor %}) as text)
{%- endmacro %}

{% macro duckdb__json_object_of_strings(pairs) -%}
    cast(json_object({% for key, value in pairs %}'{{ key }}', {{ value }}{{ ", " if not loop.last }}{% endfor %}) as varchar)
{%- endmacro %}

{% macro spark__json_object_of_strings(pairs) -%}
    to_json(named_struct({% for key, value in pairs %}'{{ key }}', {{ value }}{{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}

-- A provider's display name, as FOCUS ProviderName / PublisherName / InvoiceIssuerName.
{% macro provider_display_name(provider) -%}
    case {{ provider }}
        when 'openai' then 'OpenAI'
        when 'anthropic' then 'Anthropic'
        when 'google' then 'Google'
        when 'azure' then 'Microsoft'
        when 'bedrock' then 'Amazon Web Services'
        else {{ provider }}
    end
{%- endmacro %}
