"""The providers' documented usage and cost reports: paths, group-by dimensions, limits, tables.

OpenAI: https://platform.openai.com/docs/api-reference/usage (OpenAPI spec, `UsageResponse`,
`Usage*Result`, `CostsResult`). Anthropic: https://docs.claude.com/en/api/admin-api/usage-cost
(`/v1/organizations/usage_report/messages`, `/v1/organizations/cost_report`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    provider: str  # openai | anthropic
    name: str  # short name: completions, costs, messages, ...
    path: str
    table: str  # raw table dlt writes
    group_by: tuple[str, ...]  # every dimension the endpoint can group by
    bucket_widths: tuple[str, ...]
    max_limit: dict[str, int]  # most buckets one page may hold, per bucket width
    # Result fields that tell rows of one bucket apart besides the group-by dimensions.
    detail_fields: tuple[str, ...] = ()

    @property
    def key_fields(self) -> tuple[str, ...]:
        return self.group_by + self.detail_fields

    def limit(self, bucket_width: str) -> int:
        return self.max_limit[bucket_width]


_OPENAI_USAGE_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}
_OPENAI_DIMS = ("project_id", "user_id", "api_key_id", "model")


def _openai_usage(name: str, group_by: tuple[str, ...]) -> Endpoint:
    return Endpoint(
        "openai",
        name,
        f"/v1/organization/usage/{name}",
        f"openai_usage_{name}",
        group_by,
        ("1d", "1h", "1m"),
        _OPENAI_USAGE_LIMITS,
    )


OPENAI_ENDPOINTS: tuple[Endpoint, ...] = (
    _openai_usage("completions", (*_OPENAI_DIMS, "batch", "service_tier")),
    _openai_usage("embeddings", _OPENAI_DIMS),
    _openai_usage("moderations", _OPENAI_DIMS),
    _openai_usage("images", (*_OPENAI_DIMS, "size", "source")),
    _openai_usage("audio_speeches", _OPENAI_DIMS),
    _openai_usage("audio_transcriptions", _OPENAI_DIMS),
    _openai_usage("vector_stores", ("project_id",)),
    _openai_usage("code_interpreter_sessions", ("project_id",)),
    # Costs come in daily buckets only; up to 180 per page.
    Endpoint(
        "openai", "costs", "/v1/organization/costs", "openai_costs",
        ("project_id", "line_item"), ("1d",), {"1d": 180},
    ),
)  # fmt: skip

ANTHROPIC_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "anthropic", "messages", "/v1/organizations/usage_report/messages",
        "anthropic_usage_messages",
        ("model", "api_key_id", "workspace_id", "service_tier", "context_window"),
        ("1d", "1h", "1m"), {"1d": 31, "1h": 168, "1m": 1440},
    ),
    Endpoint(
        "anthropic", "cost_report", "/v1/organizations/cost_report", "anthropic_cost_report",
        ("workspace_id", "description"), ("1d",), {"1d": 31},
        # Grouped by description, one description can hold several tiers and context windows.
        ("model", "cost_type", "token_type", "service_tier", "context_window", "inference_geo"),
    ),
)  # fmt: skip

ALL_ENDPOINTS = OPENAI_ENDPOINTS + ANTHROPIC_ENDPOINTS
BUCKET_SECONDS = {"1d": 86_400, "1h": 3_600, "1m": 60}
