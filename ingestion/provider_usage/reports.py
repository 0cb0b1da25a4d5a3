"""Provider usage and cost reports as dlt sources (one source per provider, one table per report).

Every field the API returns is kept (dlt flattens nested objects: `amount__value`,
`cache_creation__ephemeral_5m_input_tokens`, ...). Each row also carries:

    bucket_start_at, bucket_end_at   the bucket as UTC timestamps
    bucket_width                     1d | 1h | 1m
    _row_key                         hash of (report, bucket start, width, group-by values)

Rows are merged with delete-insert on `_row_key` and on the bucket start, so that a re-read of
a bucket replaces what an earlier read stored for it, never adds to it. Money arrives as JSON
numbers or strings and is parsed as Decimal, never float.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from ingestion.provider_usage.client import AdminClient, ProviderAPIError
from ingestion.provider_usage.endpoints import (
    ANTHROPIC_ENDPOINTS,
    BUCKET_SECONDS,
    OPENAI_ENDPOINTS,
    Endpoint,
)
from ingestion.provider_usage.window import Window

ANTHROPIC_VERSION = "2023-06-01"
STATE_CURSOR = "last_complete_bucket_end"


def _api_root(base_url: str) -> str:
    """`https://api.openai.com/v1` (the SDKs' convention) and `https://api.openai.com` both work."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def openai_client(api_base: str, admin_key: str, **kwargs: Any) -> AdminClient:
    return AdminClient(
        "OpenAI", "OPENAI_ADMIN_KEY", _api_root(api_base),
        {"Authorization": f"Bearer {admin_key}", "Accept": "application/json"}, **kwargs,
    )  # fmt: skip


def anthropic_client(api_base: str, admin_key: str, **kwargs: Any) -> AdminClient:
    return AdminClient(
        "Anthropic", "ANTHROPIC_ADMIN_KEY", _api_root(api_base),
        {"x-api-key": admin_key, "anthropic-version": ANTHROPIC_VERSION, "Accept": "application/json"},
        **kwargs,
    )  # fmt: skip


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_bucket_time(value: int | str) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _query(endpoint: Endpoint, window: Window, bucket_width: str) -> dict[str, Any]:
    limit = endpoint.limit(bucket_width)
    if endpoint.provider == "openai":
        return {
            "start_time": int(window.start.timestamp()),
            "end_time": int(window.end.timestamp()),
            "bucket_width": bucket_width,
            "group_by": list(endpoint.group_by),
            "limit": limit,
        }
    return {
        "starting_at": _rfc3339(window.start),
        "ending_at": _rfc3339(window.end),
        "bucket_width": bucket_width,
        "group_by[]": list(endpoint.group_by),
        "limit": limit,
    }


def row_key(endpoint: Endpoint, bucket_start: datetime, bucket_width: str, result: dict) -> str:
    natural = [endpoint.provider, endpoint.name, bucket_start.isoformat(), bucket_width]
    natural += [result.get(dim) for dim in endpoint.key_fields]
    return hashlib.sha256(json.dumps(natural, default=str).encode()).hexdigest()[:32]


def bucket_rows(endpoint: Endpoint, page: dict[str, Any], bucket_width: str) -> list[dict]:
    """The rows of one page: one per (bucket, result), with the bucket and key columns added."""
    start_field, end_field = (
        ("start_time", "end_time")
        if endpoint.provider == "openai"
        else ("starting_at", "ending_at")
    )
    rows = []
    for bucket in page["data"]:
        start = _parse_bucket_time(bucket[start_field])
        end = _parse_bucket_time(bucket[end_field])
        for result in bucket.get("results") or []:
            row = dict(result)
            row["bucket_start_at"] = start
            row["bucket_end_at"] = end
            row["bucket_width"] = bucket_width
            row["_row_key"] = row_key(endpoint, start, bucket_width, result)
            rows.append(row)
    return rows


def _complete_until(window: Window, now: datetime, bucket_width: str) -> datetime:
    """End of the last bucket in the window that is over (the current bucket is still growing)."""
    step = BUCKET_SECONDS[bucket_width]
    floor = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    return min(window.end, floor)


def _report_resource(
    client: AdminClient, endpoint: Endpoint, window: Window, bucket_width: str, now: datetime
) -> DltResource:
    if bucket_width not in endpoint.bucket_widths:
        bucket_width = endpoint.bucket_widths[0]  # costs: daily buckets only

    def read() -> Iterator[list[dict]]:
        buckets = 0
        for page in client.pages(endpoint.path, _query(endpoint, window, bucket_width)):
            buckets += len(page["data"])
            rows = bucket_rows(endpoint, page, bucket_width)
            if rows:
                yield rows
        # The cursor moves only once every page was read; a failed run leaves it where it was
        # (dlt commits resource state together with the load).
        state = dlt.current.resource_state()
        done = _complete_until(window, now, bucket_width)
        previous = state.get(STATE_CURSOR)
        if previous is None or done.isoformat() > previous:
            state[STATE_CURSOR] = done.isoformat()
        state["last_window"] = {"start": window.start.isoformat(), "end": window.end.isoformat()}
        state["last_buckets_read"] = buckets

    return dlt.resource(
        read,
        name=endpoint.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key="_row_key",
        merge_key="bucket_start_at",
        columns={
            "bucket_start_at": {"data_type": "timestamp", "nullable": False},
            "bucket_end_at": {"data_type": "timestamp", "nullable": False},
            "bucket_width": {"data_type": "text", "nullable": False},
        },
    )


@dlt.source(name="openai_usage", max_table_nesting=1)
def openai_usage_source(
    client: AdminClient,
    window: Window,
    bucket_width: str = "1d",
    now: datetime | None = None,
    endpoints: tuple[Endpoint, ...] = OPENAI_ENDPOINTS,
) -> list[DltResource]:
    """OpenAI organisation usage (8 reports) and costs for `window`."""
    moment = now or datetime.now(UTC)
    return [_report_resource(client, e, window, bucket_width, moment) for e in endpoints]


@dlt.source(name="anthropic_usage", max_table_nesting=1)
def anthropic_usage_source(
    client: AdminClient,
    window: Window,
    bucket_width: str = "1d",
    now: datetime | None = None,
    endpoints: tuple[Endpoint, ...] = ANTHROPIC_ENDPOINTS,
) -> list[DltResource]:
    """Anthropic messages usage report and cost report for `window`."""
    moment = now or datetime.now(UTC)
    return [_report_resource(client, e, window, bucket_width, moment) for e in endpoints]


def cursor_of(pipeline: dlt.Pipeline, source_name: str) -> datetime | None:
    """The earliest `last complete bucket` over the source's reports (None: never synced)."""
    resources = pipeline.state.get("sources", {}).get(source_name, {}).get("resources", {})
    cursors = [r.get(STATE_CURSOR) for r in resources.values()]
    if not cursors or any(c is None for c in cursors):
        return None
    return min(datetime.fromisoformat(c) for c in cursors)


__all__ = [
    "ProviderAPIError",
    "anthropic_client",
    "anthropic_usage_source",
    "bucket_rows",
    "cursor_of",
    "openai_client",
    "openai_usage_source",
]
