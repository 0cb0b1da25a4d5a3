"""Custom dimensions (TOKENLAKE_CUSTOM_DIMENSIONS): fields of an event's extra_fields promoted to
typed columns on the attempts and the usage rollups.

dbt builds the columns (dbt_project/macros/custom_dimensions.sql reads the same variable); this
module reads the same syntax so that a mistake is one line before a run starts, and so that the
anomaly scan knows which columns it may group by. The syntax is documented in docs/dimensions.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VARIABLE = "TOKENLAKE_CUSTOM_DIMENSIONS"
TYPES = ("text", "integer", "boolean")

_KEY = r'(?:"[^",\'|]+"|[A-Za-z0-9_\-]+)'
_PATH = rf"{_KEY}(?:\.{_KEY})*"
_ENTRY = re.compile(rf"^([a-z_][a-z0-9_]*)(?::({'|'.join(TYPES)}))?(?:=({_PATH}(?:\|{_PATH})*))?$")
_SEGMENT = re.compile(r'"([^"]+)"|([^."]+)')

# The attempt's own columns and the rollups' buckets and measures: a dimension may not take
# one of these names (the dbt macro reserved_dimension_names() holds the same list).
RESERVED = frozenset(
    [
        "request_id",
        "attempt",
        "event_at",
        "timestamp",
        "tenant_id",
        "user_id",
        "feature",
        "agent",
        "action_type",
        "provider",
        "model",
        "region",
        "key_source",
        "status",
        "service_tier",
        "is_batch",
        "is_cache_hit",
        "session_id",
        "prompt_template_id",
        "retry_count",
        "latency_ms",
        "input_tokens",
        "uncached_input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
        "total_tokens",
        "is_priced",
        "price_version_id",
        "priced_model_pattern",
        "model_pattern",
        "priced_tier",
        "is_tier_fallback",
        "is_long_context",
        "currency",
        "uncached_input_cost",
        "cache_read_cost",
        "cache_write_cost",
        "output_cost",
        "batch_discount_amount",
        "total_cost",
        "cache_savings",
        "contract_discount_pct",
        "contract_model_pattern",
        "net_cost",
        "gateway_computed_cost",
        "extra_fields",
        "source_file",
        "source_line",
        "load_id",
        "price_fingerprint",
        "dimensions_spec",
        "priced_at",
        "usage_hour",
        "usage_date",
        "attempts",
        "requests",
        "retries",
        "errors",
        "rate_limited",
        "unpriced_attempts",
        "latency_sum_ms",
        "latency_count",
        "latency_p50_ms",
        "latency_p95_ms",
        "batch",
        "cache_hit",
        "computed_cost",
    ]
)


@dataclass(frozen=True)
class CustomDimension:
    name: str
    type: str = "text"
    # Alternatives, each a list of object keys into extra_fields; the first present wins.
    paths: tuple[tuple[str, ...], ...] = ()


def parse_custom_dimensions(spec: str) -> tuple[CustomDimension, ...]:
    """`name[:type][=path|path...]`, comma-separated; ValueError (one line) on a bad entry."""
    dimensions: list[CustomDimension] = []
    for entry in (e.strip() for e in spec.split(",") if spec.strip()):
        match = _ENTRY.match(entry)
        if not match:
            raise ValueError(
                f"cannot read {entry!r} (expected name[:text|integer|boolean][=path], "
                "e.g. experiment=metadata.experiment)"
            )
        name, kind, paths = (
            match.group(1),
            match.group(2) or "text",
            match.group(3) or match.group(1),
        )
        if name in RESERVED or name in {d.name for d in dimensions}:
            raise ValueError(f"{name!r} is already a column; choose another name")
        dimensions.append(
            CustomDimension(
                name,
                kind,
                tuple(
                    tuple(quoted or plain for quoted, plain in _SEGMENT.findall(alternative))
                    for alternative in paths.split("|")
                ),
            )
        )
    return tuple(dimensions)
