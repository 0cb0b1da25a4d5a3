{#
  Custom dimensions: fields of an event's extra_fields (unknown log keys, gateway metadata, the
  attributes of an OpenTelemetry span) promoted to typed columns on the attempts and on every
  usage rollup, so that marts, alerts and dashboards can group by them.

  Set by the variable TOKENLAKE_CUSTOM_DIMENSIONS (or the dbt var `custom_dimensions`):
  comma-separated entries `name[:type][=path|path...]`
    - name: the column, lower case (a-z, 0-9, _), not one of the attempt's own columns;
    - type: text (default), integer or boolean; a value that is not one is NULL;
    - path: keys into extra_fields separated by dots, a key holding dots in double quotes
      (attributes."deployment.environment"); default: the name itself. Alternatives separated
      by | are tried in turn (the first present wins: sources that spell a field differently).
  e.g. environment=metadata.environment|environment,experiment=metadata.experiment
  orchestration/dimensions.py parses the same syntax (one-line errors before a run starts).
#}
{% macro custom_dimensions() -%}
    {%- set spec = var('custom_dimensions', env_var('TOKENLAKE_CUSTOM_DIMENSIONS', '')) | trim -%}
    {%- set re = modules.re -%}
    {%- set key = '(?:"[^",\'|]+"|[A-Za-z0-9_\\-]+)' -%}
    {%- set path = key ~ '(?:\\.' ~ key ~ ')*' -%}
    {%- set entry_pattern = '^([a-z_][a-z0-9_]*)(?::(text|integer|boolean))?(?:=(' ~ path ~ '(?:\\|' ~ path ~ ')*))?$' -%}
    {%- set dimensions = [] -%}
    {%- set names = [] -%}
    {%- for entry in (spec.split(',') if spec else []) -%}
        {%- set match = re.match(entry_pattern, entry | trim) -%}
        {%- if not match -%}
            {{ exceptions.raise_compiler_error("TOKENLAKE_CUSTOM_DIMENSIONS: cannot read '" ~ (entry | trim) ~ "' (expected name[:text|integer|boolean][=path], e.g. experiment=metadata.experiment)") }}
        {%- endif -%}
        {%- set name = match.group(1) -%}
        {%- if name in reserved_dimension_names() or name in names -%}
            {{ exceptions.raise_compiler_error("TOKENLAKE_CUSTOM_DIMENSIONS: '" ~ name ~ "' is already a column; choose another name") }}
        {%- endif -%}
        {%- set paths = [] -%}
        {%- for alternative in (match.group(3) or name).split('|') -%}
            {%- set keys = [] -%}
            {%- for quoted, plain in re.findall('"([^"]+)"|([^."]+)', alternative) -%}
                {%- do keys.append(quoted or plain) -%}
            {%- endfor -%}
            {%- do paths.append(keys) -%}
        {%- endfor -%}
        {%- do names.append(name) -%}
        {%- do dimensions.append({'name': name, 'type': match.group(2) or 'text', 'paths': paths}) -%}
    {%- endfor -%}
    {{ return(dimensions) }}
{%- endmacro %}

{# The dimensions' names, in the order they were listed. #}
{% macro custom_dimension_names() -%}
    {{ return(custom_dimensions() | map(attribute='name') | list) }}
{%- endmacro %}

{# What the attempts store about the dimensions: a change (added, removed, retyped or another
   path) makes int_attempts_priced read every attempt again, so history gets the new columns. #}
{% macro custom_dimensions_spec() -%}
    {%- set parts = [] -%}
    {%- for d in custom_dimensions() -%}
        {%- do parts.append(d.name ~ ':' ~ d.type ~ '=' ~ (d.paths | map('join', '/') | join('|'))) -%}
    {%- endfor -%}
    {{ return(parts | join(',')) }}
{%- endmacro %}

{# Names a dimension may not take: the attempt's columns and the rollups' buckets and measures. #}
{% macro reserved_dimension_names() -%}
    {{ return([
        'request_id', 'attempt', 'event_at', 'timestamp', 'tenant_id', 'user_id', 'feature',
        'agent', 'action_type', 'provider', 'model', 'region', 'key_source', 'status',
        'service_tier', 'is_batch', 'is_cache_hit', 'session_id', 'prompt_template_id',
        'retry_count', 'latency_ms', 'input_tokens', 'uncached_input_tokens', 'cache_read_tokens',
        'cache_write_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
        'total_tokens', 'is_priced', 'price_version_id', 'priced_model_pattern', 'model_pattern',
        'priced_tier', 'is_tier_fallback', 'is_long_context', 'currency', 'uncached_input_cost',
        'cache_read_cost', 'cache_write_cost', 'output_cost', 'batch_discount_amount',
        'total_cost', 'cache_savings', 'contract_discount_pct', 'contract_model_pattern',
        'net_cost', 'gateway_computed_cost', 'extra_fields', 'source_file', 'source_line',
        'load_id', 'price_fingerprint', 'dimensions_spec', 'priced_at', 'usage_hour',
        'usage_date', 'attempts', 'requests', 'retries', 'errors', 'rate_limited',
        'unpriced_attempts', 'latency_sum_ms', 'latency_count', 'latency_p50_ms',
        'latency_p95_ms', 'batch', 'cache_hit', 'computed_cost',
    ]) }}
{%- endmacro %}

{# The dimension's typed value from the JSON text column `column`. #}
{% macro custom_dimension_value(dimension, column='extra_fields') -%}
    {%- set texts = [] -%}
    {%- for keys in dimension.paths -%}
        {%- do texts.append(json_text(column, keys)) -%}
    {%- endfor -%}
    {%- set text = texts[0] if texts | length == 1 else 'coalesce(' ~ (texts | join(', ')) ~ ')' -%}
    {%- if dimension.type == 'integer' -%}
        case when {{ regex_full_match(text, "'-?[0-9]{1,18}'") }} then cast({{ text }} as {{ dbt.type_bigint() }}) end
    {%- elif dimension.type == 'boolean' -%}
        case when lower({{ text }}) in ('true', '1', 'yes') then true
             when lower({{ text }}) in ('false', '0', 'no') then false end
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}

{# The text of the JSON value at `keys` (a list of object keys) in the JSON text `column`, NULL
   when absent or null. #}
{% macro json_text(column, keys) -%}
    {{ return(adapter.dispatch('json_text', 'tokenlake')(column, keys)) }}
{%- endmacro %}

{% macro default__json_text(column, keys) -%}
    json_extract_path_text({{ column }}, {% for k in keys %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro duckdb__json_text(column, keys) -%}
    json_extract_string({{ column }}, '${% for k in keys %}."{{ k }}"{% endfor %}')
{%- endmacro %}

{% macro postgres__json_text(column, keys) -%}
    (cast({{ column }} as jsonb) #>> array[{% for k in keys %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}

{% macro spark__json_text(column, keys) -%}
    get_json_object({{ column }}, "${% for k in keys %}['{{ k }}']{% endfor %}")
{%- endmacro %}
