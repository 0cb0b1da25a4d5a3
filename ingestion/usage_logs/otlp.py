"""Map OpenTelemetry GenAI spans (OTLP/JSON export lines) onto the usage-event contract.

Each span becomes one contract-shaped JSON object, so spans go through the same validation
and quarantine as JSONL records. Current and older semantic-convention names are accepted.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.usage_logs.reader_options import OtelOptions

# OTLP export lines are recognised by their key, everything else is a plain usage record.
# An ExportTraceServiceRequest has one field, so the key opens the object: an anchored test is cheap.
OTLP_LINE_PATTERN = r'^\s*\{\s*"resourceSpans"'

# gen_ai.provider.name / gen_ai.system values -> our lower-case provider names.
PROVIDER_NAMES = {
    "aws.bedrock": "bedrock",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "mistral_ai": "mistral",
    "x_ai": "xai",
    "ibm.watsonx.ai": "ibm",
}


def _provider_case(expr: str) -> str:
    whens = " ".join(f"when '{k}' then '{v}'" for k, v in PROVIDER_NAMES.items())
    return f"case lower({expr}) {whens} else lower({expr}) end"


# attr(list, key): the first value of `key` in an OTLP attribute list, as text.
MACROS = """
create or replace macro otlp_attr(attrs, k) as (list_filter(attrs, lambda a: a.key = k))[1].value;
create or replace macro otlp_value(v) as coalesce(
    json_extract_string(v, '$.stringValue'),
    json_extract_string(v, '$.intValue'),
    json_extract_string(v, '$.doubleValue'),
    json_extract_string(v, '$.boolValue')
);
"""

ATTR_LIST = '[{"key":"VARCHAR","value":"JSON"}]'

# The span's attributes that the contract does not hold (gen_ai.* are mapped to its fields, and
# may carry prompt text), its resource's under them: kept as one object under `attributes` in
# extra_fields, where custom dimensions can name them (attributes."deployment.environment").
ATTRIBUTE_MACROS = """
create or replace macro otlp_kept(span_attrs, resource_attrs) as list_filter(
    list_concat(coalesce(span_attrs, cast([] as struct(key varchar, value json)[])),
                coalesce(resource_attrs, cast([] as struct(key varchar, value json)[]))),
    lambda a: not starts_with(a.key, 'gen_ai.'));
create or replace macro otlp_attributes(attrs) as case when len(attrs) > 0 then to_json(map_from_entries(
    list_transform(list_distinct(list_transform(attrs, lambda a: a.key)),
                   lambda k: {'key': k, 'value': otlp_value(otlp_attr(attrs, k))}))) end;
"""


def _first(*keys: str) -> str:
    """The first attribute present among `keys`, span attributes before resource ones."""
    parts = [f"otlp_value(otlp_attr(span_attrs, '{k}'))" for k in keys]
    parts += [f"otlp_value(otlp_attr(resource_attrs, '{k}'))" for k in keys]
    return "coalesce(" + ", ".join(parts) + ")"


CACHE_ATTRIBUTES = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)


def spans_sql(options: OtelOptions) -> str:
    """Every span of the OTLP export lines, mapped onto the contract (SPANS_TEMPLATE)."""
    tenant = _first(*options.tenant_attributes)
    default = options.default_tenant.replace("'", "''")
    return SPANS_TEMPLATE.replace(
        "{TENANT_OR_DEFAULT}", f"coalesce({tenant}, '{default}')" if default else tenant
    ).replace("{TENANT_DEFAULTED}", f"{tenant} is null and '{default}' <> ''")


SPANS_TEMPLATE = f"""
with docs as (
    select _source_file, _source_modified_at, _source_line, line
    from lines
    where regexp_matches(line, '{OTLP_LINE_PATTERN}') and json_valid(line)
),
resource_spans as (
    select _source_file, _source_modified_at, _source_line,
           unnest(from_json(json_extract(line, '$.resourceSpans'), '["JSON"]')) as rs,
           generate_subscripts(from_json(json_extract(line, '$.resourceSpans'), '["JSON"]'), 1) as rs_idx
    from docs
),
scope_spans as (
    select _source_file, _source_modified_at, _source_line, rs_idx,
           from_json(json_extract(rs, '$.resource.attributes'), '{ATTR_LIST}') as resource_attrs,
           unnest(from_json(json_extract(rs, '$.scopeSpans'), '["JSON"]')) as ss,
           generate_subscripts(from_json(json_extract(rs, '$.scopeSpans'), '["JSON"]'), 1) as ss_idx
    from resource_spans
),
spans as (
    select _source_file, _source_modified_at, _source_line, rs_idx, ss_idx, resource_attrs,
           unnest(from_json(json_extract(ss, '$.spans'), '["JSON"]')) as span,
           generate_subscripts(from_json(json_extract(ss, '$.spans'), '["JSON"]'), 1) as span_idx
    from scope_spans
),
attributed as (
    select _source_file, _source_modified_at, _source_line,
           cast(row_number() over (partition by _source_file, _source_line order by rs_idx, ss_idx, span_idx) as integer)
               as _source_record,
           span,
           resource_attrs,
           from_json(json_extract(span, '$.attributes'), '{ATTR_LIST}') as span_attrs
    from spans
)
select
    _source_file,
    _source_modified_at,
    _source_line,
    _source_record,
    -- A span without attributes (an app's own parent span) is not GenAI either: skipped, counted.
    coalesce(len(list_filter(span_attrs, lambda a: starts_with(a.key, 'gen_ai.'))) > 0, false)
        as is_genai,
    cast(json_object(
        'timestamp', cast(json_extract_string(span, '$.endTimeUnixNano') as hugeint) // 1000000,
        'request_id', coalesce({_first("gen_ai.response.id")}, json_extract_string(span, '$.spanId')),
        'attempt', {_first("tokenlake.attempt", "attempt")},
        'tenant_id', {{TENANT_OR_DEFAULT}},
        'tenant_defaulted', case when {{TENANT_DEFAULTED}} then true end,
        'user_id', {_first("user.id", "enduser.id")},
        'feature', coalesce({_first("feature")}, otlp_value(otlp_attr(resource_attrs, 'service.name'))),
        'agent', {_first("gen_ai.agent.name", "agent")},
        'action_type', {_first("action_type", "gen_ai.operation.name")},
        'provider', {_provider_case(_first("gen_ai.provider.name", "gen_ai.system"))},
        'model', {_first("gen_ai.response.model", "gen_ai.request.model")},
        'region', {_first("cloud.region")},
        'key_source', {_first("key_source")},
        'input_tokens', {_first("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")},
        'output_tokens', {_first("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")},
        'cache_read_tokens', {_first(*CACHE_ATTRIBUTES[:2])},
        'cache_write_tokens', {_first(*CACHE_ATTRIBUTES[2:])},
        'reasoning_tokens', {_first("gen_ai.usage.reasoning.output_tokens")},
        'latency_ms', (cast(json_extract_string(span, '$.endTimeUnixNano') as hugeint)
                       - cast(json_extract_string(span, '$.startTimeUnixNano') as hugeint)) // 1000000,
        'status', case when json_extract_string(span, '$.status.code') in ('2', 'STATUS_CODE_ERROR')
                       then coalesce({_first("error.type")}, 'error') else 'ok' end,
        'service_tier', {_first("gen_ai.openai.response.service_tier", "gen_ai.request.service_tier")},
        'session_id', {_first("gen_ai.conversation.id", "session.id")},
        'prompt_template_id', {_first("prompt_template_id", "gen_ai.prompt.template.id")},
        -- Instrumentations that never set a cache attribute (opentelemetry-instrumentation-
        -- openai-v2) cannot tell a cache miss from an unreported hit.
        'cache_tokens_reported', {_first(*CACHE_ATTRIBUTES)} is not null,
        'attributes', otlp_attributes(otlp_kept(span_attrs, resource_attrs))
    ) as varchar) as line
from attributed
"""


def has_otlp(lines: pa.Table) -> bool:
    """Cheap check: does any line of this batch look like an OTLP export?"""
    return bool(pc.any(pc.match_substring_regex(lines.column("line"), OTLP_LINE_PATTERN)).as_py())


def expand_spans(
    con: duckdb.DuckDBPyConnection, lines: pa.Table, options: OtelOptions | None = None
) -> tuple[pa.Table, pa.Table]:
    """Replace OTLP export lines by one contract-shaped line per GenAI span.

    Returns the new lines table, and a table of the records skipped (one row each, with its
    _source_file): spans without any `gen_ai.*` attribute (HTTP or DB spans of the same trace)
    and export lines that hold no span. Unparseable OTLP lines stay, so validation quarantines them.
    """
    con.execute(MACROS + ATTRIBUTE_MACROS)
    con.register("lines", lines)
    try:
        sql = spans_sql(options or OtelOptions())
        con.execute(f"create or replace temp table spans as {sql}")
        con.execute(
            f"""create or replace temp table export_lines as
            select _source_file, _source_line from lines
            where regexp_matches(line, '{OTLP_LINE_PATTERN}') and json_valid(line)"""
        )
        columns = ", ".join(lines.column_names)
        out = con.sql(
            f"""
            select {columns} from lines
            anti join export_lines using (_source_file, _source_line)
            union all
            select {columns} from spans where is_genai
            order by _source_file, _source_line, _source_record
            """
        ).to_arrow_table()
        skipped = con.sql(
            """
            select _source_file from spans where not is_genai
            union all
            select _source_file from export_lines anti join spans using (_source_file, _source_line)
            """
        ).to_arrow_table()
    finally:
        con.execute("drop table if exists spans; drop table if exists export_lines")
        con.unregister("lines")
    return out.cast(lines.schema), skipped
