"""The SQL that checks numbered log lines against the usage-event contract and normalises them.

One set-based pass per batch: JSON is parsed once (multi-path extraction), values are cast,
aliases and defaults applied, timestamps moved to UTC, and every line ends up either an event
or a quarantine row with all of its reasons (normalize.py runs it).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from ingestion.usage_logs.contract import (
    ALIASES,
    CONTRACT_FIELDS,
    KEY_SOURCES,
    NON_NEGATIVE_FIELDS,
    REQUIRED_FIELDS,
)

# Every JSON key we read: contract fields, then aliases.
KNOWN_KEYS = list(CONTRACT_FIELDS) + list(ALIASES)
# Extra (unknown) keys of a batch are read in the same struct as the known ones, as JSON, when
# there are few of them and their names are plain; otherwise each line is checked on its own.
MAX_EXTRA_KEYS = 32
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")

# line_reader.INVALID_UTF8_MARKER as SQL (a NUL inside SQL text would end it).
INVALID_UTF8_SQL = "chr(0) || 'invalid_utf8' || chr(0)"

MACROS = """
create or replace macro tl_bool(x) as
    case lower(x) when 'true' then true when '1' then true when 'false' then false when '0' then false end;
-- ISO text first: digits never parse as a timestamp, and the failed number cast of ISO text
-- is the costly one.
create or replace macro tl_ts(x) as
    coalesce(try_cast(x as timestamptz),
             cast(try(epoch_ms(try_cast(try_cast(x as double) as bigint))) as timestamptz));
"""


def _raw(field: str) -> str:
    """Text value of a field, aliases folded in (canonical name first), blanks as NULL."""
    names = [field] + [alias for alias, canon in ALIASES.items() if canon == field]
    parts = [f"nullif(v.\"{n}\", '')" for n in names]
    return parts[0] if len(parts) == 1 else "coalesce(" + ", ".join(parts) + ")"


def _typed(field: str, kind: str) -> str:
    """Typed value from the `numbers` CTE (r_<field> text, n_<field> as double)."""
    return {
        "string": f"r_{field}",
        # Integral doubles only: '12.5' must not become 12 or 13.
        "int": f"case when n_{field} = trunc(n_{field}) and abs(n_{field}) < 9e15 "
        f"then cast(n_{field} as bigint) end",
        "bool": f"tl_bool(r_{field})",
        # try_cast: NaN, infinities and amounts beyond the type are bad values, not a failed batch.
        "decimal": f"try_cast(n_{field} as decimal(18, 10))",
        "timestamp": f"tl_ts(r_{field})",
    }[kind]


def _checks() -> list[tuple[str, str]]:
    """(condition, reason) pairs over the `typed` CTE; a line is bad when any holds."""
    checks: list[tuple[str, str]] = []
    for f in REQUIRED_FIELDS:
        checks.append((f"r_{f} is null", f"missing_field:{f}"))
    checks.append(
        (
            "r_timestamp is not null and (t_timestamp is null "
            "or t_timestamp < timestamptz '2000-01-01' or t_timestamp >= timestamptz '2100-01-01')",
            "invalid_timestamp",
        )
    )
    for f, kind in CONTRACT_FIELDS.items():
        if kind in ("int", "bool", "decimal"):
            checks.append((f"r_{f} is not null and t_{f} is null", f"invalid_value:{f}"))
    for f in NON_NEGATIVE_FIELDS:
        checks.append((f"t_{f} < 0", f"negative_value:{f}"))
    # U+0000 loads in DuckDB but no PostgreSQL text column can hold it: decided here, once.
    for f, kind in CONTRACT_FIELDS.items():
        if kind == "string":
            checks.append((f"contains(r_{f}, chr(0))", f"nul_character:{f}"))
    checks += [
        ("t_attempt < 1", "invalid_value:attempt"),
        (
            "r_key_source is not null and lower(r_key_source) not in "
            + "("
            + ", ".join(f"'{k}'" for k in KEY_SOURCES)
            + ")",
            "invalid_value:key_source",
        ),
        ("coalesce(t_cache_read_tokens, 0) > t_input_tokens", "cache_read_exceeds_input"),
        (
            "coalesce(t_cache_write_tokens, 0) > greatest(t_input_tokens - coalesce(t_cache_read_tokens, 0), 0)",
            "cache_write_exceeds_uncached_input",
        ),
        (
            "coalesce(t_cache_write_1h_tokens, 0) > coalesce(t_cache_write_tokens, 0)",
            "cache_write_1h_exceeds_cache_write",
        ),
        ("coalesce(t_reasoning_tokens, 0) > t_output_tokens", "reasoning_exceeds_output"),
        (
            "t_total_tokens is not null and t_total_tokens <> t_input_tokens + t_output_tokens",
            "total_tokens_mismatch",
        ),
    ]
    return checks


def _struct_type(extra_keys: tuple[str, ...]) -> str:
    """json_transform's target: every known key as text, every extra key as JSON.

    A single pass over each object (JSON numbers, booleans and nested values of known keys come
    back as their JSON text, as json_extract_string gives them).
    """
    fields = {k: "VARCHAR" for k in KNOWN_KEYS} | {k: "JSON" for k in extra_keys}
    return json.dumps(fields).replace("'", "''")


def _known_keys_patch() -> str:
    """A JSON merge patch that deletes every known key, leaving only the extra fields."""
    return "{" + ",".join(f'"{k}":null' for k in KNOWN_KEYS) + "}"


def _extras_per_line() -> str:
    """Extra fields found line by line (a second parse): for batches with many extra keys."""
    known_values = "list_count([" + ", ".join(f'v."{k}"' for k in KNOWN_KEYS) + "])"
    # A record has an extra field with a value exactly when it holds more non-null values than
    # its known keys do; merging into '{}' then drops null-valued extras.
    return f"""case when is_valid and list_count(json_extract_string(line, '$.*')) > {known_values}
         then nullif(cast(json_merge_patch('{{}}', json_merge_patch(line, '{_known_keys_patch()}')) as varchar), '{{}}')
    end"""


def _extras_from_struct(extra_keys: tuple[str, ...]) -> str:
    """Extra fields from the struct itself: every extra key of the batch is one of its fields."""
    if not extra_keys:
        return "cast(null as varchar)"
    values = ", ".join(f'v."{k}"' for k in extra_keys)
    pairs = ", ".join(f"'{k}', v.\"{k}\"" for k in extra_keys)
    # Merging into '{}' drops null values (nested ones too), as the per-line path does.
    return f"""case when is_valid and coalesce({values}) is not null
         then nullif(cast(json_merge_patch('{{}}', json_object({pairs})) as varchar), '{{}}')
    end"""


def plain_extra_keys(keys: list[str]) -> tuple[str, ...] | None:
    """The batch's extra keys, when they can be struct fields; None = check line by line.

    Struct field names must be unique ignoring case, so a key that differs from another only in
    case (or is not a plain name, or one of too many) sends the batch to the per-line check.
    """
    known = {k.lower() for k in KNOWN_KEYS}
    extra = sorted(set(keys) - set(KNOWN_KEYS))
    folded = {k.lower() for k in extra}
    if (
        len(extra) > MAX_EXTRA_KEYS
        or len(folded) < len(extra)
        or folded & known
        or not all(_PLAIN_KEY.fullmatch(k) for k in extra)
    ):
        return None
    return tuple(extra)


@lru_cache(maxsize=64)
def build_checked_sql(
    extra_keys: tuple[str, ...] | None = None, guarded: bool = True, parsed: bool = False
) -> str:
    """The checks over a `lines` CTE; `extra_keys` are all extra keys of its lines (None: unknown).

    `guarded` parses each line under try(), so that malformed JSON is a NULL rather than an error
    for the whole query. try() costs about a quarter of the parse, so batches are first parsed
    unguarded and only a batch that holds malformed JSON is parsed again guarded.
    `parsed`: `lines` already has `v`, the struct json_transform would give (DuckDB's read_json
    parsed the records, direct_json.py).
    """
    parse = "v" if parsed else f"json_transform(line, '{_struct_type(extra_keys or ())}')"
    raw_cols = ",\n        ".join(f"{_raw(f)} as r_{f}" for f in CONTRACT_FIELDS)
    numeric = [f for f, kind in CONTRACT_FIELDS.items() if kind in ("int", "decimal")]
    number_cols = ",\n        ".join(f"try_cast(r_{f} as double) as n_{f}" for f in numeric)
    typed_cols = ",\n        ".join(
        f"{_typed(f, kind)} as t_{f}" for f, kind in CONTRACT_FIELDS.items()
    )
    checks = _checks()
    any_bad = "\n        or ".join(f"coalesce({cond}, false)" for cond, _ in checks)
    reasons = ",\n            ".join(
        f"case when {cond} then '{reason}' end" for cond, reason in checks
    )
    extras = _extras_per_line() if extra_keys is None else _extras_from_struct(extra_keys)
    return f"""
extracted as (
    -- One parse per line; (guarded) malformed JSON gives NULL instead of failing the batch,
    -- JSON other than an object a struct of NULLs.
    select _source_file, _source_modified_at, _source_line, _source_record, line,
        {f"try({parse})" if guarded else parse} as v
    from (select * replace (coalesce(line, '') as line) from lines)
),
raw_values as (
    select _source_file, _source_modified_at, _source_line, _source_record, line, v,
        v is not null as is_json,
        -- JSON's white space (ltrim alone trims spaces only); ltrim copies the line, so only a
        -- line that does not start with '{{' pays for it.
        v is not null and (starts_with(line, '{{') or starts_with(ltrim(line, e' \\t\\r\\n'), '{{'))
            as is_object,
        {raw_cols}
    from extracted
),
numbers as (
    select *,
        {number_cols}
    from raw_values
),
typed as (
    select *,
        {typed_cols}
    from numbers
),
flagged as (
    select *,
        is_object and not (
        {any_bad}
        ) as is_valid
    from typed
)
select *,
    case
        when is_valid then null
        when _source_line = 0 then 'unreadable_file'
        when starts_with(line, {INVALID_UTF8_SQL}) then 'invalid_utf8'
        when not is_json then case when trim(line, e' \\t\\r\\n') = '' then 'empty_line' else 'invalid_json' end
        when not is_object then 'not_a_json_object'
        else array_to_string(list_filter([
            {reasons}
        ], lambda x: x is not null), '; ')
    end as reason,
    -- Unknown keys are kept.
    {extras} as extra_fields
from flagged
"""


EVENT_COLUMNS = """
    t_timestamp as "timestamp",
    r_request_id as request_id,
    coalesce(t_attempt, 1) as attempt,
    r_tenant_id as tenant_id,
    r_user_id as user_id,
    coalesce(r_feature, 'unattributed') as feature,
    r_agent as agent,
    coalesce(lower(r_action_type), 'other') as action_type,
    lower(r_provider) as provider,
    r_model as model,
    r_region as region,
    coalesce(lower(r_key_source), 'system') as key_source,
    t_input_tokens as input_tokens,
    t_output_tokens as output_tokens,
    coalesce(t_cache_read_tokens, 0) as cache_read_tokens,
    coalesce(t_cache_write_tokens, 0) as cache_write_tokens,
    coalesce(t_cache_write_1h_tokens, 0) as cache_write_1h_tokens,
    coalesce(t_reasoning_tokens, 0) as reasoning_tokens,
    t_input_tokens + t_output_tokens as total_tokens,
    t_latency_ms as latency_ms,
    coalesce(lower(r_status), 'ok') as status,
    coalesce(t_retry_count, 0) as retry_count,
    coalesce(t_cache_hit, coalesce(t_cache_read_tokens, 0) > 0) as cache_hit,
    coalesce(t_batch, lower(r_service_tier) = 'batch', false) as batch,
    case when coalesce(t_batch, false) then 'batch' else coalesce(lower(r_service_tier), 'standard') end
        as service_tier,
    r_session_id as session_id,
    r_prompt_template_id as prompt_template_id,
    t_computed_cost as computed_cost,
    coalesce(t_cache_tokens_reported, true) as cache_tokens_reported,
    extra_fields,
    _source_file,
    _source_line,
    _source_record,
    _source_modified_at
"""

QUARANTINE_COLUMNS = [
    "_source_file",
    "_source_line",
    "_source_record",
    "raw_text",
    "reason",
    "_source_modified_at",
]


def normalize_sql(
    lines_sql: str,
    extra_keys: tuple[str, ...] | None = None,
    guarded: bool = True,
    parsed: bool = False,
) -> str:
    """The whole normalisation over `lines_sql`, a query with the columns
    _source_file, _source_modified_at, _source_line, _source_record, line (and v when `parsed`)."""
    return f"""
with lines as ({lines_sql}),
{build_checked_sql(extra_keys, guarded, parsed).strip()}
"""


def final_sql(
    lines_sql: str,
    extra_keys: tuple[str, ...] | None = None,
    guarded: bool = True,
    parsed: bool = False,
) -> str:
    """Event columns plus `reason` and `raw_text` (set for bad lines) over `lines_sql`."""
    return f"""
with checked as ({normalize_sql(lines_sql, extra_keys, guarded, parsed)})
select
    {EVENT_COLUMNS},
    reason,
    case when reason is not null
        then rtrim(replace(line, {INVALID_UTF8_SQL}, ''), e'\\r\\n') end as raw_text
from checked
"""
