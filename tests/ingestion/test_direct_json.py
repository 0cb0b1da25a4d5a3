"""Big JSONL files parsed by DuckDB's read_json (direct_json.py) give exactly what the line reader
gives: the same events, the same quarantine rows, the same tallies, nothing read twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.usage_logs import direct_json, reader
from tests.conftest import Warehouse, event, write_jsonl

EVENTS = "select * exclude (_dlt_load_id) from raw.usage_events order by request_id, attempt"
QUARANTINE = (
    "select _source_line, _source_record, raw_text, reason from raw.usage_events_quarantine "
    "order by _source_line"
)
TALLY = (
    "select lines_read, records_read, rows_loaded, rows_quarantined, records_skipped, balanced "
    "from raw.usage_log_files"
)


class Spy:
    """The DirectJsonRead instances of a run: how far read_json got in each file."""

    def __init__(self) -> None:
        self.reads: list[direct_json.DirectJsonRead] = []

    @property
    def lines_done(self) -> list[int]:
        return [read.lines_done for read in self.reads]

    @property
    def complete(self) -> list[bool]:
        return [read.complete for read in self.reads]


@pytest.fixture
def spy(monkeypatch) -> Spy:
    """Every file is read by DuckDB (none is pooled), read_json first; its reads are recorded."""
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)
    recorded = Spy()

    class Recorded(direct_json.DirectJsonRead):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            recorded.reads.append(self)

    monkeypatch.setattr(reader, "DirectJsonRead", Recorded)
    return recorded


def line_reader_result(logs: Path, root: Path, monkeypatch) -> dict[str, list[tuple]]:
    """The same files through the line reader alone, into a warehouse of their own."""
    with monkeypatch.context() as m:
        m.setattr(reader, "DIRECT_JSON", False)
        reference = Warehouse(root)
        reference.ingest(logs)
    return tables(reference)


def tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    return {sql: warehouse.query(sql) for sql in (EVENTS, QUARANTINE, TALLY)}


def varied_records(n: int) -> list[dict | str]:
    """Valid records in every form the contract accepts, and unknown keys of several kinds."""
    records: list[dict | str] = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            record = event(i, metadata={"env": "prod", "sdk": {"name": "py", "v": [1, 2.50]}})
        elif kind == 1:  # aliases, epoch milliseconds, numbers as strings
            record = event(i, timestamp=1793534400000 + i, attempt="2")
            record["prompt_tokens"] = record.pop("input_tokens")
            record["completion_tokens"] = str(record.pop("output_tokens"))
        elif kind == 2:  # an offset, booleans as text, upper-case enums, an unknown null
            record = event(
                i,
                timestamp="2026-11-01T12:00:00.5+02:00",
                batch="true",
                key_source="BYOK",
                status="OK",
                trace=None,
            )
        elif kind == 3:  # exponent and integral decimal numbers, escapes, a cost
            record = event(i, input_tokens=1e3, output_tokens=12.0, cache_read_tokens=0)
            record |= {"agent": 'sup"port\u00e9\n', "computed_cost": 0.000738}
        elif kind == 4:  # cache and reasoning buckets, an unknown key only some lines have
            record = event(i, cache_write_tokens=50, reasoning_tokens=10, labels=["a", "b"])
        elif kind == 5:  # optional fields missing, explicit nulls
            record = {k: v for k, v in event(i).items() if k != "cache_read_tokens"}
            record |= {"user_id": None, "region": None}
        elif kind == 6:  # service tier, a latency, a session
            record = event(i, service_tier="batch", latency_ms=812, session_id=f"s-{i % 3}")
        else:  # white space inside the object
            record = f'{{ "timestamp" : "2026-11-01T01:00:00Z" , "request_id":"req-{i}",' + (
                '"attempt":1,"tenant_id":"t","feature":"chat","provider":"openai",'
                '"model":"gpt-4o","input_tokens":5,"output_tokens":6 }'
            )
        records.append(record)
    return records


def test_read_json_gives_the_line_readers_events(
    spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    logs = tmp_path / "logs"
    write_jsonl(logs / "app.jsonl", varied_records(400))
    report = warehouse.ingest(logs)
    assert spy.complete == [True]  # read_json read the whole file
    assert (report.rows_loaded, report.rows_quarantined) == (400, 0)
    got = tables(warehouse)
    assert got == line_reader_result(logs, tmp_path / "reference", monkeypatch)
    extra = warehouse.query(
        "select extra_fields from raw.usage_events where request_id in ('req-0', 'req-2', 'req-4')"
        " order by request_id"
    )
    assert extra == [
        ('{"metadata":{"env":"prod","sdk":{"name":"py","v":[1,2.5]}}}',),
        (None,),  # the unknown key's value was null
        ('{"labels":["a","b"]}',),
    ]


def test_a_file_with_crlf_line_ends_is_read_by_read_json(
    spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    logs = tmp_path / "logs"
    path = write_jsonl(logs / "app.jsonl", varied_records(40))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    warehouse.ingest(logs)
    assert spy.complete == [True]
    assert warehouse.scalar("select count(*) from raw.usage_events") == 40
    assert tables(warehouse) == line_reader_result(logs, tmp_path / "reference", monkeypatch)


def test_bad_records_after_some_batches_are_quarantined_by_the_line_reader(
    spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(direct_json, "OUTPUT_BATCH_ROWS", 50)
    logs = tmp_path / "logs"
    records: list[dict | str] = [event(i) for i in range(1, 1001)]
    records[419] = event(420, input_tokens=-1, cache_read_tokens=0)
    records[776] = {k: v for k, v in event(777).items() if k != "request_id"}
    write_jsonl(logs / "app.jsonl", records)
    report = warehouse.ingest(logs)
    # read_json yielded the batches before line 420, the line reader the rest.
    assert spy.complete == [False]
    assert 0 < spy.lines_done[0] < 420
    assert (report.records_read, report.rows_loaded, report.rows_quarantined) == (1000, 998, 2)
    got = tables(warehouse)
    lines = (logs / "app.jsonl").read_text().splitlines()
    assert got[QUARANTINE] == [
        (420, 0, lines[419], "negative_value:input_tokens; cache_read_exceeds_input"),
        (777, 0, lines[776], "missing_field:request_id"),
    ]
    assert got[TALLY] == [(1000, 1000, 998, 2, 0, True)]
    assert warehouse.query(
        "select count(*), count(distinct request_id), min(_source_line), max(_source_line),"
        " sum(_source_line) from raw.usage_events"
    ) == [(998, 998, 1, 1000, 500500 - 420 - 777)]
    assert got == line_reader_result(logs, tmp_path / "reference", monkeypatch)


def test_a_line_read_json_rejects_mid_file_is_read_on_by_the_line_reader(
    spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    """A repeated key fails read_json (not the line reader, which keeps one value). DuckDB reads
    ahead on every core, so the failure may come before the first batch does."""
    monkeypatch.setattr(direct_json, "OUTPUT_BATCH_ROWS", 50)
    logs = tmp_path / "logs"
    records: list[dict | str] = [event(i) for i in range(1, 301)]
    records[199] = '{"request_id": "req-200", "request_id": "req-200", ' + (
        '"timestamp": "2026-11-01T00:00:00Z", "tenant_id": "t", "provider": "openai", '
        '"model": "gpt-4o", "input_tokens": 1, "output_tokens": 2}'
    )
    write_jsonl(logs / "app.jsonl", records)
    report = warehouse.ingest(logs)
    assert spy.complete == [False]
    assert spy.lines_done[0] < 200
    assert report.records_read == 300 and report.balanced
    assert tables(warehouse) == line_reader_result(logs, tmp_path / "reference", monkeypatch)


@pytest.mark.parametrize(
    "odd_line",
    [
        "",  # blank: read_json would skip it and number every later record one short
        "   ",
        '  {"request_id": "indented"}',
        "[1, 2]",
        "null",
        '{"request_id": "cut off", ',
        '{"a": 1}{"b": 2}',
    ],
    ids=["blank", "spaces", "indented", "array", "null", "malformed", "two-objects"],
)
def test_files_read_json_cannot_number_go_to_the_line_reader(
    odd_line: str, spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    logs = tmp_path / "logs"
    records: list[dict | str] = [event(i) for i in range(1, 101)]
    records[49] = odd_line
    write_jsonl(logs / "app.jsonl", records)
    report = warehouse.ingest(logs)
    assert spy.lines_done == [0]  # nothing came from read_json
    assert (report.records_read, report.rows_loaded, report.rows_quarantined) == (100, 99, 1)
    assert warehouse.scalar("select _source_line from raw.usage_events_quarantine") == 50
    assert tables(warehouse) == line_reader_result(logs, tmp_path / "reference", monkeypatch)


def test_a_byte_order_mark_sends_the_file_to_the_line_reader(
    spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    logs = tmp_path / "logs"
    path = write_jsonl(logs / "app.jsonl", [event(i) for i in range(1, 11)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    warehouse.ingest(logs)
    assert spy.lines_done == [0]
    assert tables(warehouse) == line_reader_result(logs, tmp_path / "reference", monkeypatch)


@pytest.mark.parametrize("direct", [True, False], ids=["read_json_first", "line_reader"])
@pytest.mark.parametrize(
    "line_end", [b"\r\n", b"\r"], ids=["crlf_after_lf_lines", "lone_cr_between_objects"]
)
def test_mixed_line_ends_keep_the_python_readers_line_numbers(
    direct: bool, line_end: bytes, spy: Spy, warehouse: Warehouse, tmp_path: Path, monkeypatch
):
    """DuckDB's line scan would cut these files elsewhere than at each LF: they go to Python."""
    monkeypatch.setattr(reader, "DIRECT_JSON", direct)
    logs = tmp_path / "logs"
    records: list[dict | str] = [event(i) for i in range(1, 101)]
    records[59] = "not json"
    path = write_jsonl(logs / "app.jsonl", records)
    lines = path.read_bytes().split(b"\n")
    lines[29] += line_end if line_end == b"\r" else b"\r"  # line 30 ends "\r\n" or "\r" + line 31
    if line_end == b"\r":
        lines[29:31] = [lines[29] + lines[30]]  # a lone CR between the objects of lines 30, 31
    path.write_bytes(b"\n".join(lines))
    report = warehouse.ingest(logs)
    got = tables(warehouse)
    with monkeypatch.context() as m:
        m.setattr(reader, "SMALL_FILE_BYTES", 10**12)  # the pooled Python reader
        reference = Warehouse(tmp_path / "reference")
        reference.ingest(logs)
    assert got == tables(reference)
    bad = 59 if line_end == b"\r" else 60
    assert [line for line, *_ in got[QUARANTINE]][-1] == bad
    assert report.records_read == len(path.read_bytes().rstrip(b"\n").split(b"\n"))
    row = warehouse.query("select reader from raw.usage_log_files")
    assert row == [("python",)]
