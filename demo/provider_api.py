"""A local stand-in for the OpenAI and Anthropic admin usage/cost APIs, serving a ledger.

It answers, on a loopback address, the documented requests and response shapes:

    GET /v1/organization/usage/{completions,embeddings,moderations,images,audio_speeches,
                                audio_transcriptions,vector_stores,code_interpreter_sessions}
    GET /v1/organization/costs                        (Authorization: Bearer <admin key>)
    GET /v1/organizations/usage_report/messages
    GET /v1/organizations/cost_report                 (x-api-key, anthropic-version)

with bucket grids (1d/1h/1m; costs 1d), group_by, limit and cursor pages (`has_more`,
`next_page` -> `page`), empty buckets listed, and the providers' error bodies. Tests script
failures on it (`fail_next`: 429 with Retry-After, 5xx, 401) and read what was asked
(`requests_seen`, secrets removed). The figures come from `provider_ledger`'s ledger file.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb

STEP = {"1d": 86_400, "1h": 3_600, "1m": 60}
DEFAULT_LIMIT = {"1d": 7, "1h": 24, "1m": 60}
MAX_LIMIT = {"1d": 31, "1h": 168, "1m": 1440}

OPENAI_DIMS = ("project_id", "user_id", "api_key_id", "model")


@dataclass(frozen=True)
class Report:
    provider: str
    ledger_report: str | None  # ledger rows it reads (None: cost lines)
    group_by: tuple[str, ...]
    widths: tuple[str, ...] = ("1d", "1h", "1m")
    max_limit: int | None = None  # costs: own maximum
    default_limit: int | None = None


OPENAI_REPORTS = {
    "completions": Report("openai", "completions", (*OPENAI_DIMS, "batch", "service_tier")),
    "embeddings": Report("openai", "embeddings", OPENAI_DIMS),
    "moderations": Report("openai", "moderations", OPENAI_DIMS),
    "images": Report("openai", "images", (*OPENAI_DIMS, "size", "source")),
    "audio_speeches": Report("openai", "audio_speeches", OPENAI_DIMS),
    "audio_transcriptions": Report("openai", "audio_transcriptions", OPENAI_DIMS),
    "vector_stores": Report("openai", "vector_stores", ("project_id",)),
    "code_interpreter_sessions": Report("openai", "code_interpreter_sessions", ("project_id",)),
}
OPENAI_COSTS = Report("openai", None, ("project_id", "line_item", "api_key_id"), ("1d",), 180, 7)
ANTHROPIC_MESSAGES = Report(
    "anthropic",
    "messages",
    ("model", "api_key_id", "workspace_id", "service_tier", "context_window"),
)
ANTHROPIC_COSTS = Report("anthropic", None, ("workspace_id", "description"), ("1d",), 31, 7)

# Metric columns each report sums from the ledger, as the API names them.
METRICS = {
    "completions": {
        "input_tokens": "sum(input_tokens)",
        "output_tokens": "sum(output_tokens)",
        "input_cached_tokens": "sum(cache_read_tokens)",
        "input_audio_tokens": "0",
        "output_audio_tokens": "0",
        "num_model_requests": "sum(requests)",
    },
    "embeddings": {"input_tokens": "sum(input_tokens)", "num_model_requests": "sum(requests)"},
    "moderations": {"input_tokens": "sum(input_tokens)", "num_model_requests": "sum(requests)"},
    "images": {"images": "sum(images)", "num_model_requests": "sum(requests)"},
    "audio_speeches": {"characters": "sum(characters)", "num_model_requests": "sum(requests)"},
    "audio_transcriptions": {"seconds": "sum(seconds)", "num_model_requests": "sum(requests)"},
    "vector_stores": {"usage_bytes": "sum(usage_bytes)"},
    "code_interpreter_sessions": {"num_sessions": "sum(num_sessions)"},
    "messages": {
        "uncached_input_tokens": "sum(input_tokens - cache_read_tokens - cache_write_5m_tokens - cache_write_1h_tokens)",
        "cache_read_input_tokens": "sum(cache_read_tokens)",
        "ephemeral_5m_input_tokens": "sum(cache_write_5m_tokens)",
        "ephemeral_1h_input_tokens": "sum(cache_write_1h_tokens)",
        "output_tokens": "sum(output_tokens)",
        "web_search_requests": "sum(web_search_requests)",
    },
}

# Dimension name in the API -> ledger expression.
DIMENSIONS = {"source": "image_source"}

# Cost lines: what each ledger cost column is called on the invoice.
COST_LINES_SQL = """
create or replace view cost_lines as
with openai_tokens as (
    select hour, provider, project_id, api_key_id, model, batch, service_tier, kind, amount
    from (
        select *, cost_input + cost_cache_write_5m + cost_cache_write_1h as cost_all_input
        from ledger where provider = 'openai' and report in ('completions', 'embeddings')
    )
    unpivot (amount for kind in (
        cost_all_input as 'input',
        cost_cache_read as 'cached input',
        cost_output as 'output'))
),
anthropic_tokens as (
    select hour, workspace_id, model, service_tier, context_window, token_type, amount
    from ledger
    unpivot (amount for token_type in (
        cost_input as 'uncached_input_tokens',
        cost_cache_read as 'cache_read_input_tokens',
        cost_cache_write_5m as 'cache_creation.ephemeral_5m_input_tokens',
        cost_cache_write_1h as 'cache_creation.ephemeral_1h_input_tokens',
        cost_output as 'output_tokens'))
    where provider = 'anthropic'
)
select hour, 'openai' as provider, project_id, api_key_id, model || ', ' || kind as line_item,
       null as workspace_id, null as description, null as model, null as service_tier,
       null as context_window, null as token_type, null as cost_type, amount
from openai_tokens where amount <> 0
union all
select hour, 'openai', project_id, api_key_id, line_item, null, null, null, null, null, null,
       null, cost_other
from ledger where provider = 'openai' and report not in ('completions', 'embeddings')
union all
select hour, 'anthropic', null, null, null, workspace_id,
       model || ' usage - ' || token_type, model, service_tier, context_window, token_type,
       'tokens', amount
from anthropic_tokens where amount <> 0
"""


class BadRequest(Exception):
    pass


@dataclass
class Fault:
    path_contains: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class ProviderAPI:
    """Answers the four report families from a ledger (set-based DuckDB queries)."""

    def __init__(self, ledger: Path, now: datetime | None = None) -> None:
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        self.con.execute(f"create table ledger as select * from read_parquet('{ledger}')")
        self.con.execute(COST_LINES_SQL)
        self.lock = threading.Lock()
        self.now = now

    def _now(self) -> datetime:
        return self.now or datetime.now(UTC)

    # -- request parsing ---------------------------------------------------------------------
    def _window(self, report: Report, query: dict[str, list[str]]) -> tuple[str, list[int], int]:
        width = _one(query, "bucket_width") or "1d"
        if width not in report.widths:
            raise BadRequest(f"bucket_width must be one of {', '.join(report.widths)}")
        step = STEP[width]
        if report.provider == "openai":
            start_s, end_s = _one(query, "start_time"), _one(query, "end_time")
            if start_s is None:
                raise BadRequest("start_time is required")
            start, end = int(start_s), int(end_s) if end_s else None
        else:
            start_s, end_s = _one(query, "starting_at"), _one(query, "ending_at")
            if start_s is None:
                raise BadRequest("starting_at is required")
            start = _epoch(start_s)
            end = _epoch(end_s) if end_s else None
        now = int(self._now().timestamp())
        end = min(end if end is not None else now, (now // step + 1) * step)
        first = start // step * step
        grid = list(range(first, end, step)) if end > first else []
        limit_s = _one(query, "limit")
        max_limit = report.max_limit or MAX_LIMIT[width]
        limit = int(limit_s) if limit_s else (report.default_limit or DEFAULT_LIMIT[width])
        if not 1 <= limit <= max_limit:
            raise BadRequest(f"limit must be between 1 and {max_limit} for bucket_width {width}")
        return width, grid, limit

    def _group_by(self, report: Report, query: dict[str, list[str]]) -> list[str]:
        asked = query.get("group_by", []) + query.get("group_by[]", [])
        dims = [d for value in asked for d in value.split(",") if d]
        unknown = [d for d in dims if d not in report.group_by]
        if unknown:
            raise BadRequest(f"invalid group_by {unknown}: allowed {list(report.group_by)}")
        return dims

    # -- answers -----------------------------------------------------------------------------
    def page(self, report_name: str, report: Report, query: dict[str, list[str]]) -> dict[str, Any]:
        width, grid, limit = self._window(report, query)
        dims = self._group_by(report, query)
        offset = _decode_page(_one(query, "page"))
        buckets = grid[offset : offset + limit]
        has_more = offset + limit < len(grid)
        results: dict[int, list[dict]] = {b: [] for b in buckets}
        if buckets:
            for bucket, row in self._rows(report_name, report, dims, width, buckets):
                results[bucket].append(row)
        step = STEP[width]
        data = [self._bucket(report, b, b + step, results[b]) for b in buckets]
        page: dict[str, Any] = {"data": data, "has_more": has_more,
                                "next_page": _encode_page(offset + limit) if has_more else None}  # fmt: skip
        if report.provider == "openai":
            page = {"object": "page", **page}
        return page

    def _bucket(self, report: Report, start: int, end: int, results: list[dict]) -> dict:
        if report.provider == "openai":
            return {"object": "bucket", "start_time": start, "end_time": end, "results": results}
        return {"starting_at": _rfc3339(start), "ending_at": _rfc3339(end), "results": results}

    def _rows(
        self, report_name: str, report: Report, dims: list[str], width: str, buckets: list[int]
    ) -> Iterator[tuple[int, dict]]:
        step = STEP[width]
        lo, hi = buckets[0], buckets[-1] + step
        if report.ledger_report is None:
            yield from self._cost_rows(report, dims, step, lo, hi)
            return
        metrics = METRICS[report.ledger_report]
        dim_sql = [f"{DIMENSIONS.get(d, d)} as {d}" for d in dims]
        select = ", ".join(
            [f"(epoch(hour)::bigint // {step}) * {step} as bucket", *dim_sql]
            + [f"{expr} as {name}" for name, expr in metrics.items()]
        )
        sql = f"""select {select} from ledger
                  where provider = ? and report = ? and epoch(hour) >= ? and epoch(hour) < ?
                  group by all order by all"""
        with self.lock:
            cur = self.con.execute(sql, [report.provider, report.ledger_report, lo, hi])
            names = [c[0] for c in cur.description]
            fetched = cur.fetchall()
        for values in fetched:
            rec = dict(zip(names, values, strict=True))
            bucket = rec.pop("bucket")
            yield bucket, _format_usage(report_name, report, rec)

    def _cost_rows(
        self, report: Report, dims: list[str], step: int, lo: int, hi: int
    ) -> Iterator[tuple[int, dict]]:
        if report.provider == "openai":
            keep = dims
        else:  # grouping by description breaks the cost down by model, token type, tier
            keep = dims + (
                ["model", "cost_type", "token_type", "service_tier", "context_window"]
                if "description" in dims
                else []
            )
        cols = "".join(f", {d}" for d in keep)
        sql = f"""select (epoch(hour)::bigint // {step}) * {step} as bucket{cols},
                         sum(amount) as amount
                  from cost_lines where provider = ? and epoch(hour) >= ? and epoch(hour) < ?
                  group by all order by all"""
        with self.lock:
            cur = self.con.execute(sql, [report.provider, lo, hi])
            names = [c[0] for c in cur.description]
            fetched = cur.fetchall()
        for values in fetched:
            rec = dict(zip(names, values, strict=True))
            bucket, amount = rec.pop("bucket"), Decimal(rec.pop("amount"))
            if report.provider == "openai":
                row = {"object": "organization.costs.result",
                       "amount": {"value": _number(amount), "currency": "usd"},
                       "line_item": None, "project_id": None}  # fmt: skip
                if "api_key_id" in dims:
                    row["api_key_id"] = None
            else:
                cents = (amount * 100).quantize(Decimal("0.000001"))
                row = {"currency": "USD", "amount": format(cents, "f"), "workspace_id": None,
                       "description": None, "cost_type": None, "context_window": None,
                       "model": None, "service_tier": None, "token_type": None}  # fmt: skip
            row.update(rec)
            yield bucket, row


def _format_usage(report_name: str, report: Report, rec: dict[str, Any]) -> dict[str, Any]:
    """One result object in the documented shape: ungrouped dimensions are null."""
    if report.provider == "openai":
        row: dict[str, Any] = {"object": f"organization.usage.{report_name}.result"}
        row.update({d: None for d in report.group_by})
        for key, value in rec.items():
            row[key] = int(value) if key not in report.group_by and value is not None else value
        return row
    row = {
        "uncached_input_tokens": int(rec["uncached_input_tokens"]),
        "cache_read_input_tokens": int(rec["cache_read_input_tokens"]),
        "cache_creation": {
            "ephemeral_1h_input_tokens": int(rec["ephemeral_1h_input_tokens"]),
            "ephemeral_5m_input_tokens": int(rec["ephemeral_5m_input_tokens"]),
        },
        "output_tokens": int(rec["output_tokens"]),
        "server_tool_use": {"web_search_requests": int(rec["web_search_requests"])},
    }
    row.update({d: rec.get(d) for d in report.group_by})
    return row


def _number(value: Decimal) -> float:
    # JSON numbers: the documented `amount.value` is a number (clients parse it as they like).
    return float(value.quantize(Decimal("0.0000000001")))


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"tl1:{offset}".encode()).decode()


def _decode_page(token: str | None) -> int:
    if not token:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if prefix != "tl1":
            raise ValueError
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid page token") from None


class ProviderAPIServer:
    """The HTTP server around `ProviderAPI`, on a loopback port, in a background thread."""

    def __init__(
        self,
        ledger: Path,
        openai_key: str,
        anthropic_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the demo provider API listens on loopback only")
        self.api = ProviderAPI(ledger, now)
        self._keys = {"openai": openai_key, "anthropic": anthropic_key}
        self.faults: list[Fault] = []
        self.requests_seen: list[dict[str, Any]] = []
        self._fault_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(
        self, path_contains: str, status: int, times: int = 1, headers: dict | None = None
    ) -> None:
        """The next `times` requests whose path contains `path_contains` answer `status`."""
        with self._fault_lock:
            self.faults.append(Fault(path_contains, status, headers or {}, times))

    def start(self) -> ProviderAPIServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ProviderAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_fault(self, path: str) -> Fault | None:
        with self._fault_lock:
            for fault in self.faults:
                if fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(
                self, format: str, *args: Any
            ) -> None:  # quiet: tests read requests_seen
                return

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, provider: str, status: int, kind: str, message: str,
                       headers: dict | None = None) -> None:  # fmt: skip
                if provider == "openai":
                    body = {
                        "error": {"message": message, "type": kind, "param": None, "code": None}
                    }
                else:
                    body = {"type": "error", "error": {"type": kind, "message": message}}
                self._send(status, body, headers)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                query = parse_qs(url.query)
                route = _route(url.path)
                provider = route[1].provider if route else "openai"
                server.requests_seen.append({
                    "path": url.path, "query": query,
                    "anthropic_version": self.headers.get("anthropic-version"),
                    "authorized": self._authorized(provider),
                })  # fmt: skip
                if route is None:
                    self._error("openai", 404, "invalid_request_error", f"unknown path {url.path}")
                    return
                name, report = route
                fault = server._take_fault(url.path)
                if fault:
                    kind = {429: "rate_limit_error", 401: "authentication_error"}.get(
                        fault.status, "api_error"
                    )
                    self._error(
                        provider, fault.status, kind, f"scripted {fault.status}", fault.headers
                    )
                    return
                if not self._authorized(provider):
                    # Echoes the key it was sent, as some real APIs do: clients must redact.
                    sent = self.headers.get("Authorization") or self.headers.get("x-api-key")
                    self._error(provider, 401, "authentication_error", f"invalid admin key {sent}")
                    return
                if provider == "anthropic" and not self.headers.get("anthropic-version"):
                    self._error(
                        provider,
                        400,
                        "invalid_request_error",
                        "anthropic-version header is required",
                    )
                    return
                try:
                    self._send(200, server.api.page(name, report, query))
                except BadRequest as exc:
                    self._error(provider, 400, "invalid_request_error", str(exc))

            def _authorized(self, provider: str) -> bool:
                expected = server._keys[provider]
                if provider == "openai":
                    return self.headers.get("Authorization") == f"Bearer {expected}"
                return self.headers.get("x-api-key") == expected

        return Handler


def _route(path: str) -> tuple[str, Report] | None:
    prefix = "/v1/organization/usage/"
    if path.startswith(prefix) and path[len(prefix) :] in OPENAI_REPORTS:
        name = path[len(prefix) :]
        return name, OPENAI_REPORTS[name]
    return {
        "/v1/organization/costs": ("costs", OPENAI_COSTS),
        "/v1/organizations/usage_report/messages": ("messages", ANTHROPIC_MESSAGES),
        "/v1/organizations/cost_report": ("cost_report", ANTHROPIC_COSTS),
    }.get(path)
