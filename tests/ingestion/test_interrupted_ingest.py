"""A run killed mid-way, then run again, leaves the same tables as one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Warehouse, event, write_jsonl

TABLE = (
    "select request_id, attempt, timestamp, tenant_id, model, input_tokens, output_tokens, "
    "cache_read_tokens, status, extra_fields, _source_file, _source_line from raw.usage_events order by all"
)

# Runs in a child process so that it can be killed like a real one (SIGKILL: no clean-up at all).
CHILD = """
import os, signal, sys
from pathlib import Path
from ingestion.pipeline import warehouse_pipeline
from ingestion.usage_logs.source import usage_logs_source
home, logs, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
pipeline = warehouse_pipeline("usage_logs", home / "warehouse.duckdb", home / "dlt")
if stop == "after_normalize":  # a load package is complete on disk but not loaded
    pipeline.extract(usage_logs_source(logs_url=logs))
    pipeline.normalize()
    os.kill(os.getpid(), signal.SIGKILL)
pipeline.run(usage_logs_source(logs_url=logs))
"""


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    """40 hourly files of 1,000 events, some corrupt, some delivered twice."""
    out = tmp_path_factory.mktemp("logs")
    for hour in range(40):
        records = [event(hour * 1000 + i, attempt=1 + i % 2) for i in range(1000)]
        records[hour] = "not json"  # one bad line per file
        write_jsonl(out / f"h{hour:02d}.jsonl", records)
    write_jsonl(out / "h00-again.jsonl", [event(i, attempt=1 + i % 2) for i in range(1000)])
    return out


@pytest.fixture(scope="module")
def clean_table(logs: Path, tmp_path_factory) -> list[tuple]:
    warehouse = Warehouse(tmp_path_factory.mktemp("clean"))
    warehouse.ingest(logs)
    return warehouse.query(TABLE)


def _child(home: Path, logs: Path, stop: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(logs), stop],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killed_after_extract_then_rerun_equals_clean_run(logs, clean_table, tmp_path):
    warehouse = Warehouse(tmp_path / "home")
    child = _child(warehouse.root, logs, "after_normalize")
    assert child.wait(timeout=300) == -signal.SIGKILL
    warehouse.ingest(logs)
    assert warehouse.query(TABLE) == clean_table


@pytest.mark.parametrize("after_seconds", [1.5, 3.0])
def test_killed_at_any_moment_then_rerun_equals_clean_run(
    logs, clean_table, tmp_path, after_seconds
):
    warehouse = Warehouse(tmp_path / "home")
    child = _child(warehouse.root, logs, "never")
    deadline = time.monotonic() + after_seconds
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    warehouse.ingest(logs)
    assert warehouse.query(TABLE) == clean_table
