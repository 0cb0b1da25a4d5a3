"""OpenAI's own documented example responses (api-reference/usage, /costs): every group-by value
is null there (`model: null`, `line_item: null`), as in any report not grouped by it. They
load, the whole dbt build succeeds, and every line, token or not, reaches a mart."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingestion.pipeline import warehouse_pipeline
from ingestion.provider_usage import Window, openai_client, openai_usage_source
from tests.conftest import Warehouse
from tests.support.dbt_cli import dbt

pytestmark = pytest.mark.slow

START, END = 1730419200, 1730505600  # the examples' bucket: 2024-11-01
NULL_GROUPS = {"project_id": None, "user_id": None, "api_key_id": None, "model": None}
RESULTS = {
    "completions": {"input_tokens": 1000, "output_tokens": 500, "input_cached_tokens": 800,
                    "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": 5,
                    **NULL_GROUPS, "batch": None},
    "embeddings": {"input_tokens": 16, "num_model_requests": 2, **NULL_GROUPS},
    "moderations": {"input_tokens": 16, "num_model_requests": 2, **NULL_GROUPS},
    "images": {"images": 2, "num_model_requests": 2, "size": None, "source": None, **NULL_GROUPS},
    "audio_speeches": {"characters": 45, "num_model_requests": 1, **NULL_GROUPS},
    "audio_transcriptions": {"seconds": 20, "num_model_requests": 1, **NULL_GROUPS},
    "vector_stores": {"usage_bytes": 1024, "project_id": None},
    "code_interpreter_sessions": {"num_sessions": 1, "project_id": None},
}  # fmt: skip
COST = {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"},
        "line_item": None, "project_id": None}  # fmt: skip


def example_page(path: str) -> dict:
    name = path.rsplit("/", 1)[-1]
    result = (
        COST
        if name == "costs"
        else {"object": f"organization.usage.{name}.result", **RESULTS[name]}
    )
    return {
        "object": "page",
        "data": [{"object": "bucket", "start_time": START, "end_time": END, "results": [result]}],
        # As in the examples: a further page is announced (here it is empty).
        "has_more": True,
        "next_page": "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=",
    }


class Examples(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        if "page=" in query:
            body = {"object": "page", "data": [], "has_more": False, "next_page": None}
        else:
            body = example_page(path)
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def examples():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Examples)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_openai_example_pages_load_and_every_line_reaches_a_mart(tmp_path: Path, examples: str):
    warehouse = Warehouse(tmp_path / "home")
    pipeline = warehouse_pipeline("openai_usage", warehouse.path, warehouse.dlt_dir)
    window = Window.of_days(date(2024, 11, 1), date(2024, 11, 3))
    source = openai_usage_source(openai_client(examples, "sk-admin-example"), window,
                                 now=datetime(2024, 11, 3, tzinfo=UTC))  # fmt: skip
    pipeline.run(source).raise_on_failed_jobs()
    warehouse.load_price_book(None)
    result = dbt("build", "--exclude-resource-type", "unit_test", warehouse=warehouse.path)
    assert result.returncode == 0, result.stdout[-4000:]
    rows = warehouse.query(
        "select source, line_item, model, scope_id, quantity_unit, requests, quantity, billed_cost"
        " from marts.mart_provider_usage_daily order by source, line_item")  # fmt: skip
    assert rows == [
        ("cost_report", "unlabelled", "unattributed", "(all)", None, None, None, Decimal("0.06")),
        ("usage_report", "audio_speeches", "unattributed", "(all)", "characters", 1, 45, None),
        ("usage_report", "audio_transcriptions", "unattributed", "(all)", "seconds", 1, 20, None),
        ("usage_report", "code_interpreter_sessions", "unattributed", "(all)", "sessions", None, 1, None),
        ("usage_report", "completions", "unattributed", "(all)", "tokens", 5, 1500, None),
        ("usage_report", "embeddings", "unattributed", "(all)", "tokens", 2, 16, None),
        ("usage_report", "images", "unattributed", "(all)", "images", 2, 2, None),
        ("usage_report", "moderations", "unattributed", "(all)", "tokens", 2, 16, None),
        ("usage_report", "vector_stores", "unattributed", "(all)", "bytes", None, 1024, None),
    ]  # fmt: skip
    # The reconciliation has the billed cost, labelled, instead of failing on a NULL model.
    assert warehouse.query(
        "select model, provider_cost from marts.mart_cost_reconciliation") == [
        ("unattributed", Decimal("0.06"))]  # fmt: skip
