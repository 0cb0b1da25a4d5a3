"""The usage-log source end to end: real files, real dlt, real DuckDB warehouse."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.usage_logs import reader as log_reader
from tests.conftest import Warehouse, event, write_jsonl

EVENT_COLUMNS = "request_id, attempt, timestamp, tenant_id, input_tokens, output_tokens, cache_read_tokens, extra_fields"


@pytest.fixture(params=["python", "duckdb", "duckdb_lines"])
def reader(request, monkeypatch) -> str:
    """Run each test with every reader: pooled Python lines, and DuckDB reading the file itself,
    with read_json where a file allows it (direct_json.py) or with the line reader only.
    Returns the reader's name as raw.usage_log_files records it."""
    if request.param.startswith("duckdb"):
        monkeypatch.setattr(log_reader, "SMALL_FILE_BYTES", 0)
    if request.param == "duckdb_lines":
        monkeypatch.setattr(log_reader, "DIRECT_JSON", False)
    return request.param.split("_")[0]


def corrupt_file(path: Path, n: int = 1000) -> dict[int, str]:
    """`n` lines of which 1 % are bad, one of each kind; returns {line number: expected reason}."""
    bad = {
        100: ('{"timestamp": "2026-11-01T00:00:00Z", "request_id": ', "invalid_json"),
        200: ("garbage that is not json", "invalid_json"),
        300: (event(300, request_id=None), "missing_field:request_id"),
        310: (
            {k: v for k, v in event(310).items() if k != "request_id"},
            "missing_field:request_id",
        ),
        400: (event(400, input_tokens=-1, cache_read_tokens=0), "negative_value:input_tokens"),
        410: (event(410, output_tokens=-20), "negative_value:output_tokens"),
        500: (event(500, input_tokens=100, cache_read_tokens=101), "cache_read_exceeds_input"),
        600: (event(600, timestamp="31/12/2026 25:00"), "invalid_timestamp"),
        610: (event(610, timestamp=1793534400), "invalid_timestamp"),
        700: (
            event(700, input_tokens=10, output_tokens=5, cache_read_tokens=0, total_tokens=16),
            "total_tokens_mismatch",
        ),
    }
    records = [bad[i][0] if i in bad else event(i) for i in range(1, n + 1)]
    write_jsonl(path, records)
    return {i: reason for i, (_, reason) in bad.items()}


def test_one_percent_corrupt_lines_are_quarantined_exactly(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    logs = tmp_path / "logs"
    expected = corrupt_file(logs / "app.jsonl")
    report = warehouse.ingest(logs)
    assert (report.records_read, report.rows_loaded, report.rows_quarantined) == (1000, 990, 10)
    assert report.balanced
    assert warehouse.scalar("select count(*) from raw.usage_events") == 990
    got = warehouse.query(
        "select _source_line, reason, raw_text from raw.usage_events_quarantine order by _source_line"
    )
    assert {line: reason.split("; ")[0] for line, reason, _ in got} == expected
    lines = (logs / "app.jsonl").read_text().splitlines()
    assert all(raw == lines[line - 1] for line, _, raw in got)
    row = warehouse.query(
        "select lines_read, records_read, rows_loaded, rows_quarantined, balanced, reader from raw.usage_log_files"
    )
    assert row == [(1000, 1000, 990, 10, True, reader)]


def test_gzip_and_parquet_load_like_jsonl(warehouse: Warehouse, tmp_path: Path, reader: str):
    logs = tmp_path / "logs"
    records = [event(i) for i in range(300)]
    write_jsonl(logs / "a.jsonl", records[:100])
    with gzip.open(logs / "b.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(r) for r in records[100:200]) + "\n")
    pq.write_table(pa.Table.from_pylist(records[200:]), logs / "c.parquet")
    (logs / "_SUCCESS").write_text("")  # shipper marker files are skipped, not read
    report = warehouse.ingest(logs)
    assert (report.files, report.rows_loaded, report.rows_quarantined) == (3, 300, 0)
    assert warehouse.scalar("select count(distinct request_id) from raw.usage_events") == 300
    by_format = dict(
        warehouse.query("select file_format, sum(rows_loaded) from raw.usage_log_files group by 1")
    )
    assert by_format == {"jsonl": 200, "parquet": 100}
    # Parquet rows went through the same contract: same values as the JSON lines.
    assert warehouse.query(
        "select input_tokens, cache_read_tokens, timestamp from raw.usage_events where request_id = 'req-250'"
    ) == warehouse.query("select 1250, 200, timestamptz '2026-11-01 10:10:00+00'")


def test_parquet_with_typed_timestamp_column(warehouse: Warehouse, tmp_path: Path, reader: str):
    import datetime as dt

    table = pa.Table.from_pylist([event(i) for i in range(10)]).set_column(
        0,
        "timestamp",
        pa.array(
            [dt.datetime(2026, 11, 1, 12, i, tzinfo=dt.UTC) for i in range(10)],
            pa.timestamp("ms", tz="UTC"),
        ),
    )
    pq.write_table(table, tmp_path / "typed.parquet")
    warehouse.ingest(tmp_path / "typed.parquet")
    assert warehouse.query(
        "select min(timestamp), max(timestamp) from raw.usage_events"
    ) == warehouse.query(
        "select timestamptz '2026-11-01 12:00:00+00', timestamptz '2026-11-01 12:09:00+00'"
    )


def test_parquet_files_whose_timestamp_types_differ_load_together(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    """One shipper writes ISO strings, another TIMESTAMP: both in one run (found by the bench)."""
    import datetime as dt

    logs = tmp_path / "logs"
    logs.mkdir()
    pq.write_table(pa.Table.from_pylist([event(i) for i in range(10)]), logs / "strings.parquet")
    typed = pa.Table.from_pylist([event(i) for i in range(10, 20)]).set_column(
        0,
        "timestamp",
        pa.array([dt.datetime(2026, 11, 2, 8, i, tzinfo=dt.UTC) for i in range(10)],
                 pa.timestamp("us")),
    )  # fmt: skip
    pq.write_table(typed, logs / "typed.parquet")
    report = warehouse.ingest(logs)
    assert (report.rows_loaded, report.rows_quarantined) == (20, 0)
    assert (
        warehouse.scalar(
            "select count(*) from raw.usage_events where timestamp >= timestamptz '2026-11-02 08:00:00+00'"
        )
        == 10
    )


def test_same_file_delivered_twice_and_overlapping_files_do_not_duplicate(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    logs = tmp_path / "logs"
    write_jsonl(logs / "a.jsonl", [event(i) for i in range(100)])
    write_jsonl(logs / "a-copy.jsonl", [event(i) for i in range(100)])
    write_jsonl(logs / "b.jsonl", [event(i, output_tokens=7) for i in range(50, 150)])
    os.utime(logs / "b.jsonl", (2_000_000_000, 2_000_000_000))  # b is the newest delivery
    warehouse.ingest(logs)
    assert warehouse.query(
        "select count(*), count(distinct (request_id, attempt)) from raw.usage_events"
    ) == [(150, 150)]
    # Where deliveries overlap, the newest file's version of an attempt wins.
    assert warehouse.scalar("select count(*) from raw.usage_events where output_tokens = 7") == 100


def test_redelivery_in_a_later_run_replaces_the_row(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(20)])
    warehouse.ingest(tmp_path / "logs")
    write_jsonl(
        tmp_path / "logs" / "late.jsonl",
        [event(3, output_tokens=999, attempt=1), event(3, attempt=2)],
    )
    report = warehouse.ingest(tmp_path / "logs")
    assert report.files == 1  # only the new file is read
    assert warehouse.query(
        "select attempt, output_tokens from raw.usage_events where request_id = 'req-3' order by 1"
    ) == [
        (1, 999),
        (2, 103),
    ]
    assert warehouse.scalar("select count(*) from raw.usage_events") == 21


def test_rerun_reads_only_new_or_changed_files(warehouse: Warehouse, tmp_path: Path, reader: str):
    logs = tmp_path / "logs"
    write_jsonl(logs / "h00.jsonl", [event(i) for i in range(10)])
    write_jsonl(logs / "h01.jsonl", [event(i) for i in range(10, 20)])
    assert warehouse.ingest(logs).files == 2
    assert warehouse.ingest(logs).files == 0
    write_jsonl(logs / "h01.jsonl", [event(i) for i in range(10, 25)])  # the shipper appended
    os.utime(logs / "h01.jsonl", (2_000_000_000, 2_000_000_000))
    report = warehouse.ingest(logs)
    assert (report.files, report.rows_loaded) == (1, 15)
    assert warehouse.scalar("select count(*) from raw.usage_events") == 25


def test_glob_and_single_file_urls(warehouse: Warehouse, tmp_path: Path):
    logs = tmp_path / "logs"
    write_jsonl(logs / "2026" / "a.jsonl", [event(i) for i in range(5)])
    write_jsonl(logs / "2026" / "b.ndjson", [event(i) for i in range(5, 8)])
    write_jsonl(logs / "other" / "c.jsonl", [event(i) for i in range(8, 10)])
    assert warehouse.ingest(f"{logs}/2026/*.jsonl").rows_loaded == 5
    assert warehouse.ingest(logs / "other" / "c.jsonl").rows_loaded == 2
    # The same folder as a URL: files read before are known by their URL and not read again.
    assert warehouse.ingest(f"file://{logs}").rows_loaded == 3


def test_fsspec_memory_filesystem(warehouse: Warehouse, reader: str):
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe(
        "/tokenlake-test/logs/a.jsonl",
        ("\n".join(json.dumps(event(i)) for i in range(40)) + "\n").encode(),
    )
    report = warehouse.ingest("memory://tokenlake-test/logs")
    assert report.rows_loaded == 40
    fs.rm("/tokenlake-test", recursive=True)


def otlp_export() -> dict:
    def attrs(**kv):
        out = []
        for k, v in kv.items():
            key = k.replace("__", ".")
            if isinstance(v, bool):
                out.append({"key": key, "value": {"boolValue": v}})
            elif isinstance(v, int):
                out.append({"key": key, "value": {"intValue": str(v)}})
            else:
                out.append({"key": key, "value": {"stringValue": v}})
        return out

    genai_new = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat claude",
        "startTimeUnixNano": "1793534400000000000",
        "endTimeUnixNano": "1793534401500000000",
        "attributes": attrs(
            gen_ai__operation__name="chat",
            gen_ai__provider__name="aws.bedrock",
            gen_ai__request__model="anthropic.claude-sonnet-4-5",
            gen_ai__response__model="anthropic.claude-sonnet-4-5-20250929-v1:0",
            gen_ai__response__id="msg_01",
            gen_ai__usage__input_tokens=1200,
            gen_ai__usage__output_tokens=300,
            gen_ai__usage__cache_read__input_tokens=800,
            gen_ai__usage__cache_write__input_tokens=100,
            gen_ai__conversation__id="conv-9",
            tenant__id="acme",
        ),
        "status": {"code": 1},
    }
    genai_old = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "aaa19b7ec3c1b175",
        "name": "chat gpt-4o",
        "startTimeUnixNano": "1793534402000000000",
        "endTimeUnixNano": "1793534402250000000",
        "attributes": attrs(
            gen_ai__system="openai",
            gen_ai__request__model="gpt-4o",
            gen_ai__usage__prompt_tokens=50,
            gen_ai__usage__completion_tokens=5,
            feature="guardrails",
        ),
        "status": {"code": 2},
    }
    http = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "bbb19b7ec3c1b176",
        "name": "GET /api",
        "startTimeUnixNano": "1793534400000000000",
        "endTimeUnixNano": "1793534403000000000",
        "attributes": attrs(http__request__method="GET"),
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(service__name="support-bot", tenant__id="globex")},
                "scopeSpans": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.genai"},
                        "spans": [genai_new, genai_old, http],
                    }
                ],
            }
        ]
    }


def test_otlp_genai_spans_map_onto_the_contract(warehouse: Warehouse, tmp_path: Path):
    write_jsonl(tmp_path / "otel" / "traces.jsonl", [otlp_export()])
    report = warehouse.ingest(tmp_path / "otel")
    assert (report.lines_read, report.records_read, report.rows_loaded, report.records_skipped) == (
        1,
        3,
        2,
        1,
    )
    rows = warehouse.query(
        "select request_id, provider, model, tenant_id, feature, action_type, input_tokens, output_tokens,"
        " cache_read_tokens, cache_write_tokens, session_id, status, latency_ms, timestamp, _source_line, _source_record"
        " from raw.usage_events order by _source_record"
    )
    first, second = rows
    assert first[:12] == (
        "msg_01", "bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "acme", "support-bot", "chat",
        1200, 300, 800, 100, "conv-9", "ok",
    )  # fmt: skip
    assert first[12] == 1500 and first[14:] == (1, 1)
    assert second[:12] == (
        "aaa19b7ec3c1b175", "openai", "gpt-4o", "globex", "guardrails", "other", 50, 5, 0, 0, None, "error",
    )  # fmt: skip
    assert warehouse.query("select records_skipped, balanced from raw.usage_log_files") == [
        (1, True)
    ]
    # Attributes other than gen_ai.* stay under `attributes` (the span's over its resource's),
    # where a custom dimension can name them.
    extras = [json.loads(e) for (e,) in warehouse.query(
        "select extra_fields from raw.usage_events order by _source_record")]  # fmt: skip
    assert extras == [
        {"attributes": {"service.name": "support-bot", "tenant.id": "acme"}},
        {
            "attributes": {
                "feature": "guardrails",
                "service.name": "support-bot",
                "tenant.id": "globex",
            }
        },
    ]


def test_an_unreadable_parquet_file_is_quarantined_not_fatal(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    write_jsonl(tmp_path / "logs" / "ok.jsonl", [event(i) for i in range(3)])
    (tmp_path / "logs" / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
    report = warehouse.ingest(tmp_path / "logs")
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)
    assert warehouse.query("select _source_line, reason from raw.usage_events_quarantine") == [
        (0, "unreadable_file")
    ]


def test_many_files_with_repeats_far_apart_do_not_duplicate(warehouse: Warehouse, tmp_path: Path):
    logs = tmp_path / "logs"
    for hour in range(30):
        write_jsonl(logs / f"h{hour:02d}.jsonl", [event(hour * 10 + i) for i in range(10)])
    write_jsonl(
        logs / "zz-redelivery.jsonl", [event(i, output_tokens=5) for i in range(5)]
    )  # listed last
    (logs / "empty.jsonl").write_text("")
    report = warehouse.ingest(logs)
    assert (report.files, report.rows_loaded) == (32, 305)
    assert warehouse.query(
        "select count(*), count(distinct (request_id, attempt)) from raw.usage_events"
    ) == [(300, 300)]


def test_new_keys_are_appended_and_repeated_keys_merged(warehouse: Warehouse, tmp_path: Path):
    """The write mode per run (append only when no key repeats or exists) and its outcome."""
    from ingestion.pipeline import warehouse_pipeline

    def ingest_and_mode() -> str:
        warehouse.ingest(logs)
        pipeline = warehouse_pipeline("usage_logs", warehouse.path, warehouse.dlt_dir)
        return pipeline.default_schema.get_table("usage_events")["write_disposition"]

    logs = tmp_path / "logs"
    write_jsonl(logs / "h00.jsonl", [event(i) for i in range(10)])
    assert ingest_and_mode() == "append"  # first load
    write_jsonl(logs / "h01.jsonl", [event(i) for i in range(10, 20)])
    assert ingest_and_mode() == "append"  # only new attempts
    write_jsonl(logs / "h02.jsonl", [event(5, output_tokens=999), event(20)])
    assert ingest_and_mode() == "merge"  # req-5 again: replaced, not doubled
    write_jsonl(logs / "h03.jsonl", [event(30), event(30, output_tokens=7)])
    assert ingest_and_mode() == "merge"  # a key twice in one run
    assert warehouse.query(
        "select count(*), count(distinct (request_id, attempt)) from raw.usage_events"
    ) == [(22, 22)]
    assert (
        warehouse.scalar("select output_tokens from raw.usage_events where request_id = 'req-5'")
        == 999
    )
    write_jsonl(logs / "h04.jsonl", [event(40)])
    assert ingest_and_mode() == "append"
    assert warehouse.scalar("select count(*) from raw.usage_events") == 23


def test_events_reach_dlt_as_one_staged_file_taken_unchanged(warehouse: Warehouse, tmp_path: Path):
    """The staged Parquet file (staged_events.py) matches the table exactly, so dlt's normaliser
    imports it without rewriting; rows carry their load's id; no staged file outlives a run."""
    from dlt.common.libs.pyarrow import should_normalize_arrow_schema

    from ingestion.pipeline import warehouse_pipeline
    from ingestion.usage_logs import staged_events
    from ingestion.usage_logs.staged_events import STAGING_FOLDER

    staging = warehouse.dlt_dir / "usage_logs" / STAGING_FOLDER
    staging.mkdir(parents=True)
    (staging / "left-by-a-killed-run.parquet").write_bytes(b"never imported")
    logs = tmp_path / "logs"
    write_jsonl(logs / "h00.jsonl", [event(i) for i in range(10)])
    warehouse.ingest(logs)
    write_jsonl(logs / "h01.jsonl", [event(i) for i in range(10, 25)])
    warehouse.ingest(logs)

    assert not staging.exists()
    loads = warehouse.query("select load_id from raw._dlt_loads order by inserted_at")
    assert warehouse.query(
        "select _dlt_load_id, count(*) from raw.usage_events group by 1 order by 1"
    ) == [(loads[0][0], 10), (loads[1][0], 15)]

    # The file's schema as the normaliser sees it: nothing to rename, cast, reorder or add.
    pipeline = warehouse_pipeline("usage_logs", warehouse.path, warehouse.dlt_dir)
    schema = pipeline.default_schema
    files: list[Path] = []
    with pytest.MonkeyPatch.context() as patch:
        original_remove = staged_events.StagedEvents.remove

        def keep_a_copy(self):
            if self.path.exists():
                files.append(tmp_path / "kept.parquet")
                files[-1].write_bytes(self.path.read_bytes())
            original_remove(self)

        patch.setattr(staged_events.StagedEvents, "remove", keep_a_copy)
        write_jsonl(logs / "h02.jsonl", [event(i) for i in range(25, 30)])
        warehouse.ingest(logs)
    assert len(files) == 1
    file_schema = pq.read_schema(files[0])
    columns = schema.get_table_columns("usage_events")
    assert file_schema.names == list(columns)
    needs_rewrite = should_normalize_arrow_schema(
        file_schema, columns, schema.naming, pipeline.destination.capabilities()
    )[0]
    assert not needs_rewrite


def test_values_no_engine_can_hold_are_quarantined_and_the_rest_kept_byte_for_byte(
    warehouse: Warehouse, tmp_path: Path, reader: str
):
    """A NUL (PostgreSQL text cannot hold it) and bytes that are not UTF-8 are quarantined with
    their reason, never altered; CR, tabs and any Unicode load exactly as sent."""
    lines = [json.dumps(event(i)).encode() for i in range(1, 201)]
    lines[9] = json.dumps(event(10, tenant_id="a\u0000b")).encode()
    lines[19] = json.dumps(event(20, user_id="u\u0000")).encode()
    lines[29] = json.dumps(event(30, tenant_id="caf")).encode().replace(b'"caf"', b'"caf\xe9"')
    lines[39] = json.dumps(event(40, tenant_id="caf")).encode().replace(b'"caf"', b'"caf\xe8"')
    kept = {50: "req\r\n50", 60: "tab\t60", 70: "caf\u00e9 \U0001f680", 80: "keep\ufffd80"}
    for i, request_id in kept.items():
        lines[i - 1] = json.dumps(event(i, request_id=request_id), ensure_ascii=False).encode()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    report = warehouse.ingest(tmp_path / "logs")
    assert (report.rows_loaded, report.rows_quarantined) == (196, 4)
    assert warehouse.query(
        "select _source_line, reason from raw.usage_events_quarantine order by 1"
    ) == [(10, "nul_character:tenant_id"), (20, "nul_character:user_id"), (30, "invalid_utf8"),
          (40, "invalid_utf8")]  # fmt: skip
    loaded = set(r[0] for r in warehouse.query("select request_id from raw.usage_events"))
    assert set(kept.values()) <= loaded
    assert not any("\ufffd" in r and r != "keep\ufffd80" for r in loaded)
    raw = warehouse.scalar(
        "select raw_text from raw.usage_events_quarantine where _source_line = 30"
    )
    assert raw.startswith('{"timestamp"') and "caf\ufffd" in raw  # readable, marker gone
