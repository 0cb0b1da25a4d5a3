"""Reading log files into normalised batches: big files by DuckDB (read_json or its line scan),
small and unusual ones by Python, pooled so that one SQL pass serves hundreds of them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
from dlt.common.storages.fsspec_filesystem import FileItemDict

from ingestion.usage_logs import otlp
from ingestion.usage_logs.contract import POOL_ROWS
from ingestion.usage_logs.direct_json import DirectJsonRead
from ingestion.usage_logs.files import (
    duckdb_path,
    is_gzip,
    is_json_document,
    is_local,
    is_otlp_export,
    needs_mapping,
)
from ingestion.usage_logs.formats import LogFormats
from ingestion.usage_logs.line_reader import (
    PrefixedStream,
    iter_json_document_lines,
    iter_jsonl_lines,
    iter_parquet_rows,
    open_decompressed,
    parquet_rows_to_lines,
    starts_a_json_document,
    unreadable_file_line,
)
from ingestion.usage_logs.normalize import NormalizedBatch, normalize, normalize_arrow
from ingestion.usage_logs.scan import SMALL_FILE_BYTES, file_lines_sql
from ingestion.usage_logs.tally import (
    FileTally,
    count_batch,
    count_file_batch,
    count_files,
)

log = logging.getLogger(__name__)

# Big JSONL files whose lines are all objects are parsed by read_json (direct_json.py); tests
# turn it off to keep the line reader covered on its own.
DIRECT_JSON = True


def read_log_files(
    con: duckdb.DuckDBPyConnection,
    items: list[tuple[FileItemDict, FileTally]],
    formats: LogFormats | None = None,
) -> Iterator[NormalizedBatch]:
    """Normalise the records of many files; every file's tally gets its counts.

    Big files are read by DuckDB itself (parallel, gzip included). Small files - hourly logs -
    are read by Python and pooled, so that one SQL pass serves hundreds of them; OTLP exports
    and files DuckDB cannot decode take the Python reader too, as do files in a gateway's format
    (`formats`), whose records are mapped onto the contract first.
    """
    formats = LogFormats() if formats is None else formats
    tallies = {item["file_url"]: tally for item, tally in items}
    pooled: list[tuple[FileItemDict, FileTally]] = []
    for item, tally in items:
        if (
            tally.size_bytes < SMALL_FILE_BYTES
            or is_otlp_export(item, tally.file_format)
            or is_json_document(item, tally.file_format)
            or needs_mapping(item, tally.file_format, formats)
        ):
            pooled.append((item, tally))
            continue
        try:
            path = duckdb_path(con, item)
            lines_done = 0
            if _direct_json_eligible(item, tally):
                direct = DirectJsonRead(
                    con, path, item["file_url"], tally.modified_at, tally.size_bytes
                )
                for batch in direct.batches():
                    count_file_batch(tally, batch)
                    yield batch
                if direct.complete:
                    continue
                lines_done = direct.lines_done
            if not _line_ends_cut_alike(item, tally):
                log.info("%s: mixed or lone CR line ends, read by Python", item["file_url"])
                # Rows already yielded are merged again by key; the tally starts over.
                tally.reset()
                pooled.append((item, tally))
                continue
            sql = file_lines_sql(
                path,
                item["file_url"],
                tally.modified_at,
                tally.file_format,
                tally.size_bytes,
                after_line=lines_done,
            )
            for batch in normalize(con, sql):
                count_file_batch(tally, batch)
                yield batch
        except duckdb.Error as exc:
            # Rows already yielded are merged again by key; the tally starts over.
            log.warning(
                "DuckDB could not read %s (%s); reading it line by line", item["file_url"], exc
            )
            tally.reset()
            pooled.append((item, tally))
    yield from _read_pooled(con, pooled, tallies, formats)
    for tally in tallies.values():
        tally.records_read += tally.records_skipped


def _line_ends_cut_alike(item: FileItemDict, tally: FileTally) -> bool:
    """Does DuckDB's line scan cut this file's lines where the Python reader does (at each LF)?

    The scan also ends a line at a lone CR, and in a file whose first line ends in a bare LF it
    reads a later CRLF as two line ends: an empty line that is not there, and every later line
    number one off. Files with no CR, or CRLF throughout, are cut alike. Checked for local
    uncompressed files only (reading one costs ~0.3 s per 600 MB, so not before read_json, whose
    key pass already sends such a file here); others are taken as they are.
    """
    if tally.file_format != "jsonl" or not is_local(item) or is_gzip(item):
        return True
    cr = lf = crlf = 0
    previous_cr = False
    with open(item.local_file_path, "rb") as raw:
        while block := raw.read(16 * 1024 * 1024):
            if previous_cr and block.startswith(b"\n"):
                crlf += 1
            cr += block.count(b"\r")
            lf += block.count(b"\n")
            crlf += block.count(b"\r\n")
            previous_cr = block.endswith(b"\r")
    return cr == 0 or cr == crlf == lf


def _direct_json_eligible(item: FileItemDict, tally: FileTally) -> bool:
    """May DuckDB's read_json parse this file (direct_json.py), rather than the line reader?"""
    # DuckDB would un-gzip the file twice (key pass, then records): the line reader does it once.
    return DIRECT_JSON and tally.file_format == "jsonl" and not is_gzip(item)


class _Pool:
    """Batches of many files waiting for one SQL pass: JSONL lines and Parquet rows apart."""

    def __init__(self) -> None:
        self.lines: list[pa.Table] = []
        self.parquet: list[pa.Table] = []
        self.rows = 0

    def add(self, batch: pa.Table) -> None:
        (self.parquet if "row" in batch.column_names else self.lines).append(batch)
        self.rows += batch.num_rows

    def take(self, con: duckdb.DuckDBPyConnection) -> pa.Table:
        tables = list(self.lines)
        if self.parquet:
            # Parquet files may differ in columns (unified by name) and in a column's type (one
            # shipper writes timestamps as strings, another as TIMESTAMP): those go apart.
            groups: dict[str, list[pa.Table]] = {}
            for table in self.parquet:
                groups.setdefault(_type_signature(table.schema), []).append(table)
            for group in groups.values():
                tables.append(
                    parquet_rows_to_lines(
                        con, pa.concat_tables(group, promote_options="permissive")
                    )
                )
        self.lines, self.parquet, self.rows = [], [], 0
        schema = tables[0].schema
        return pa.concat_tables([t.cast(schema) for t in tables])


def _type_signature(schema: pa.Schema) -> str:
    """The types of the row's fields by name: tables that agree here concatenate safely."""
    row = schema.field("row").type
    return (
        ";".join(sorted(f"{f.name}:{f.type}" for f in row)) if pa.types.is_struct(row) else str(row)
    )


def _read_pooled(
    con: duckdb.DuckDBPyConnection,
    items: list[tuple[FileItemDict, FileTally]],
    tallies: dict[str, FileTally],
    formats: LogFormats,
) -> Iterator[NormalizedBatch]:
    pool = _Pool()

    def flush() -> Iterator[NormalizedBatch]:
        lines = pool.take(con)
        if otlp.has_otlp(lines):
            lines, skipped = otlp.expand_spans(con, lines, formats.otel)
            count_files(tallies, skipped, "records_skipped")
        lines, skipped = formats.adapt(con, lines)
        count_files(tallies, skipped, "records_skipped")
        for batch in normalize_arrow(con, lines):
            count_batch(tallies, batch)
            yield batch

    for item, tally in items:
        tally.reader = "python"
        for batch in _python_batches(item, tally):
            pool.add(_with_source(batch, item["file_url"], tally.modified_at))
            if pool.rows >= POOL_ROWS:
                yield from flush()
    if pool.rows:
        yield from flush()


def _python_batches(item: FileItemDict, tally: FileTally) -> Iterator[pa.Table]:
    """Numbered lines (JSONL) or rows (Parquet) of one file; an unreadable file is one bad record."""
    with item.open(mode="rb", compression="disable") as raw:
        try:
            if tally.file_format == "parquet":
                batches = iter_parquet_rows(raw)
            else:
                stream = open_decompressed(raw)
                head = stream.read(1 << 20)
                first = head.lstrip().split(b"\n", 1)[0]
                reader = (
                    iter_json_document_lines if starts_a_json_document(first) else iter_jsonl_lines
                )
                batches = reader(PrefixedStream(head, stream))
            for batch in batches:
                tally.lines_read += batch.num_rows
                yield batch
        except (pa.ArrowException, OSError, EOFError) as exc:
            log.warning("cannot read %s: %s", item["file_url"], exc)
            yield unreadable_file_line(exc)


def _with_source(lines: pa.Table, file_url: str, modified_at: datetime) -> pa.Table:
    """Add the file's URL and modification time as columns (dictionary-encoded, no copies)."""
    zeros = pa.array(np.zeros(lines.num_rows, dtype=np.int32))
    file_col = pa.DictionaryArray.from_arrays(zeros, pa.array([file_url], pa.string()))
    stamp = pa.array([modified_at], pa.timestamp("us", tz="UTC")).take(zeros)
    return lines.add_column(0, "_source_file", file_col).add_column(1, "_source_modified_at", stamp)
