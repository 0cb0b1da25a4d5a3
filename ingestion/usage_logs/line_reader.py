"""Turn a log file (JSONL, JSONL.gz or Parquet) into Arrow batches of numbered text lines.

Lines are cut with NumPy on whole blocks and handed to Arrow without copying, so that a
file of millions of events never becomes millions of Python objects.
"""

from __future__ import annotations

import codecs
import io
import json
import threading
from collections.abc import Iterator
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.usage_logs.contract import READ_BLOCK_BYTES

PARQUET_BATCH_ROWS = 100_000
# A JSON document (not JSON Lines) is parsed whole: its size is bounded, its records batched.
JSON_DOCUMENT_MAX_BYTES = 512 * 1024 * 1024
DOCUMENT_BATCH_RECORDS = 50_000

LINES_SCHEMA = pa.schema(
    [
        pa.field("_source_line", pa.int64(), nullable=False),
        pa.field("_source_record", pa.int32(), nullable=False),
        pa.field("line", pa.large_string()),
    ]
)

GZIP_MAGIC = b"\x1f\x8b"


def lines_table(body: bytes | memoryview, first_line_number: int) -> pa.Table:
    """Split `body` (whole lines) into a numbered lines table without copying the text.

    Each value keeps its trailing newline: JSON parsers ignore it and it saves a copy.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(data == 10) + 1
    if len(data) and data[-1] != 10:
        ends = np.append(ends, len(data))
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), ends.astype(np.int64)])
    n = len(ends)
    lines = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return _invalid_utf8_marked(body, first_line_number)
    numbers = pa.array(np.arange(first_line_number, first_line_number + n, dtype=np.int64))
    records = pa.array(np.zeros(n, dtype=np.int32))
    return pa.Table.from_arrays([numbers, records, lines], schema=LINES_SCHEMA)


# A line holding bytes that are not UTF-8 is quarantined (`invalid_utf8`), never loaded with its
# bytes replaced: two tenants "caf\xe9" and "caf\xe8" would both become "caf\ufffd" and merge.
# The marker starts with a NUL, which no JSON text can: the checks recognise it (normalize.py).
INVALID_UTF8_MARKER = "\x00invalid_utf8\x00"
_bad_utf8 = threading.local()  # the error handler is global: its positions are per thread


def _record_bad_utf8(error: UnicodeDecodeError) -> tuple[str, int]:
    _bad_utf8.positions.append(error.start)
    return "\ufffd", error.end


codecs.register_error("tokenlake_mark_utf8", _record_bad_utf8)


def _invalid_utf8_marked(body: bytes | memoryview, first_line_number: int) -> pa.Table:
    """The block's lines with the bad bytes replaced (for the quarantine's raw text) and the
    lines that held them marked."""
    raw = bytes(body)
    _bad_utf8.positions = []
    fixed = raw.decode("utf-8", errors="tokenlake_mark_utf8")
    bad_offsets = np.array(_bad_utf8.positions, dtype=np.int64)
    table = lines_table(fixed.encode("utf-8"), first_line_number)
    line_starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(raw, np.uint8) == 10) + 1))
    bad_lines = np.unique(np.searchsorted(line_starts, bad_offsets, side="right") - 1)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[bad_lines[bad_lines < table.num_rows]] = True
    line = table.column("line")
    marked = pc.if_else(
        pa.array(mask),
        pc.binary_join_element_wise(
            pa.scalar(INVALID_UTF8_MARKER, pa.large_string()),
            line,
            pa.scalar("", pa.large_string()),
        ),
        line,
    )
    return table.set_column(2, "line", marked)


def iter_jsonl_lines(stream: BinaryIO, block_bytes: int = READ_BLOCK_BYTES) -> Iterator[pa.Table]:
    """Yield numbered line tables from an uncompressed byte stream, one block at a time."""
    carry = b""
    next_line = 1
    while True:
        block = stream.read(block_bytes)
        if not block:
            break
        buf = carry + block if carry else block
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            continue
        # memoryview slices share the block's memory instead of copying it.
        table = lines_table(memoryview(buf)[: cut + 1], next_line)
        carry = buf[cut + 1 :]
        next_line += table.num_rows
        yield table
    if carry:
        yield lines_table(carry, next_line)


def starts_a_json_document(first_line: bytes) -> bool:
    """Is this (stripped) first line the start of one JSON document spread over many lines, or
    of a JSON array, rather than the first record of JSON Lines?

    Pretty-printed exports (an OTLP file written with indentation, a gateway's JSON array) begin
    with `[` or with an object that does not close on its line.
    """
    if first_line.startswith(b"["):
        return True
    if not first_line.startswith(b"{"):
        return False
    try:
        json.loads(first_line)
    except ValueError:
        return True
    return False


def iter_json_document_lines(
    stream: BinaryIO, max_bytes: int = JSON_DOCUMENT_MAX_BYTES
) -> Iterator[pa.Table]:
    """One JSON document (an object, or an array of records) as numbered one-line records: an
    array's items are records 1..n, an object is record 1. Not JSON as a whole (or larger than
    `max_bytes`, which a document must be read whole to parse): read as lines after all, so that
    each bad line is quarantined as it would be in JSON Lines."""
    body = stream.read(max_bytes + 1)
    document = None
    if len(body) <= max_bytes:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
    if document is None or not isinstance(document, (list, dict)):
        yield from iter_jsonl_lines(PrefixedStream(body, stream))
        return
    items = document if isinstance(document, list) else [document]
    for start in range(0, len(items), DOCUMENT_BATCH_RECORDS):
        chunk = items[start : start + DOCUMENT_BATCH_RECORDS]
        yield pa.Table.from_arrays(
            [
                pa.array(np.arange(start + 1, start + 1 + len(chunk), dtype=np.int64)),
                pa.array(np.zeros(len(chunk), dtype=np.int32)),
                pa.array(
                    [json.dumps(item, ensure_ascii=False) for item in chunk], pa.large_string()
                ),
            ],
            schema=LINES_SCHEMA,
        )


class PrefixedStream:
    """`head` (bytes already read from `stream`) then the rest of `stream`, as one stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head, self.stream = io.BytesIO(head), stream

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return self.head.read() + self.stream.read()
        out = self.head.read(n)
        while len(out) < n:
            more = self.stream.read(n - len(out))
            if not more:
                break
            out += more
        return out


def open_decompressed(raw: BinaryIO) -> BinaryIO:
    """Wrap `raw` in a gzip decoder when its first bytes say it is gzip."""
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        return pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip")
    return raw


def iter_parquet_rows(raw: BinaryIO, batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[pa.Table]:
    """A Parquet file's rows as numbered tables: _source_line, _source_record, row (a struct)."""
    next_row = 1
    for batch in pq.ParquetFile(raw).iter_batches(batch_size=batch_rows):
        n = batch.num_rows
        yield pa.table(
            {
                "_source_line": pa.array(np.arange(next_row, next_row + n, dtype=np.int64)),
                "_source_record": pa.array(np.zeros(n, dtype=np.int32)),
                "row": pa.StructArray.from_arrays(batch.columns, names=batch.schema.names),
            }
        )
        next_row += n


def parquet_rows_to_lines(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> pa.Table:
    """Pooled Parquet rows (of one or many files) as JSON text lines, in one pass.

    Going through JSON text lets Parquet rows take the very same validation path as JSONL.
    """
    con.register("parquet_rows", rows)
    try:
        return con.sql(
            "select * exclude (row), cast(to_json(row) as varchar) as line from parquet_rows"
        ).to_arrow_table()
    finally:
        con.unregister("parquet_rows")


def unreadable_file_line(error: Exception) -> pa.Table:
    """A single line standing for a file that cannot be read at all, so that it is quarantined."""
    message = f"unreadable file: {type(error).__name__}: {error}"
    return pa.Table.from_arrays(
        [
            pa.array([0], pa.int64()),
            pa.array([0], pa.int32()),
            pa.array([message], pa.large_string()),
        ],
        schema=LINES_SCHEMA,
    )
