"""Helpers for the usage-log source: where the logs are, and reading files into batches."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.storages.fsspec_filesystem import FileItemDict

from ingestion.usage_logs import otlp
from ingestion.usage_logs.direct_json import DirectJsonRead
from ingestion.usage_logs.formats import LogFormats
from ingestion.usage_logs.line_reader import (
    GZIP_MAGIC,
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
from ingestion.usage_logs.settings import (
    GZIP_SUFFIX,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    POOL_ROWS,
)

log = logging.getLogger(__name__)

GLOB_CHARS = "*?["
# Big JSONL files whose lines are all objects are parsed by read_json (direct_json.py); tests
# turn it off to keep the line reader covered on its own.
DIRECT_JSON = True


def split_logs_url(url: str) -> tuple[str, str]:
    """Split TOKENLAKE_LOGS_URL into (bucket_url, file_glob).

    A folder reads every file below it; a glob reads what it matches; a single file reads itself.
    """
    first_glob = min((url.find(c) for c in GLOB_CHARS if c in url), default=-1)
    if first_glob >= 0:
        base = url[:first_glob].rsplit("/", 1)[0]
        return base, url[len(base) + 1 :]
    if "://" not in url and Path(url).is_file():
        path = Path(url)
        return str(path.parent), path.name
    return url.rstrip("/"), "**/*"


def file_format(name: str) -> str | None:
    """'jsonl' or 'parquet' from the file name, or None for a file we do not read."""
    lower = name.lower()
    if lower.endswith(GZIP_SUFFIX):
        lower = lower[: -len(GZIP_SUFFIX)]
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def file_fingerprint(item: FileItemDict) -> str:
    """Identity of one delivered version of a file: a changed file gets a new fingerprint."""
    return f"{item['modification_date'].isoformat()}|{item.get('size_in_bytes')}"


@dataclass
class FileTally:
    """What happened to one file's records: read = loaded + quarantined + skipped."""

    file_url: str
    relative_path: str
    file_format: str
    size_bytes: int
    modified_at: datetime
    reader: str = "duckdb"
    lines_read: int = 0
    records_read: int = 0
    records_skipped: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    # Of rows_loaded: rows another row of the file repeats (the same request and attempt, e.g.
    # an SDK's span and an instrumentation's span of one call), merged into one attempt.
    records_merged: int = 0

    @property
    def balanced(self) -> bool:
        return self.records_read == self.rows_loaded + self.rows_quarantined + self.records_skipped

    def reset(self) -> None:
        self.lines_read = self.records_read = self.records_skipped = 0
        self.rows_loaded = self.rows_quarantined = self.records_merged = 0

    def as_row(self) -> dict:
        return {
            "file_url": self.file_url,
            "relative_path": self.relative_path,
            "file_format": self.file_format,
            "reader": self.reader,
            "size_bytes": self.size_bytes,
            "_source_modified_at": self.modified_at,
            "lines_read": self.lines_read,
            "records_read": self.records_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "records_skipped": self.records_skipped,
            "records_merged": self.records_merged,
            "balanced": self.balanced,
        }


def is_otlp_export(item: FileItemDict, file_format: str) -> bool:
    """Does the file start with an OTLP/JSON export (`{"resourceSpans": ...`)?"""
    if file_format != "jsonl":
        return False
    first = _first_line(item, 4096)
    return re.match(otlp.OTLP_LINE_PATTERN, first.decode("utf-8", "replace")) is not None


def is_json_document(item: FileItemDict, file_format: str) -> bool:
    """Is the file one JSON document (pretty-printed, or an array), not JSON Lines?"""
    return file_format == "jsonl" and starts_a_json_document(_first_line(item, 1 << 20))


def needs_mapping(item: FileItemDict, file_format: str, formats: LogFormats) -> bool:
    """Is the file in a gateway's format (or a forced one), so that its lines are mapped?"""
    if file_format != "jsonl" or not formats:
        return False
    return formats.forced or formats.claims_file(_first_line(item, 1 << 20))


def _first_line(item: FileItemDict, limit: int) -> bytes:
    with item.open(mode="rb", compression="disable") as raw:
        head = open_decompressed(raw).read(limit)
    return head.lstrip().split(b"\n", 1)[0]


def duckdb_path(con: duckdb.DuckDBPyConnection, item: FileItemDict) -> str:
    """A path DuckDB can open: local files directly, anything else through the file's fsspec."""
    if _is_local(item):
        return item.local_file_path
    con.register_filesystem(item.fsspec)
    return item["file_url"]


class RunKeys:
    """Every (request_id, attempt) yielded in this run, to tell dlt whether it must deduplicate.

    dlt's merge deduplicates staged rows with a window over the whole load; when no key repeats
    (the usual case) that pass is skipped, which roughly halves the load time. The batches' two
    key columns are kept as Arrow arrays and counted once, at the end: inserting them into
    DuckDB batch by batch cost ~0.3 CPU-s per million events on the thread that also writes the
    staged file.
    """

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []

    def close(self) -> None:
        self.parts = []

    def add(self, events: pa.Table) -> None:
        # Copied: a view would keep the memory of the whole batch alive.
        keys = events.select(["request_id", "attempt"])
        self.parts.append(
            pa.table(
                {name: pa.concat_arrays(keys.column(name).chunks) for name in keys.column_names}
            )
        )

    def table(self) -> pa.Table:
        if not self.parts:
            return pa.table(
                {"request_id": pa.array([], pa.string()), "attempt": pa.array([], pa.int64())}
            )
        return pa.concat_tables(self.parts, promote_options="permissive")

    @property
    def duplicates(self) -> int:
        """How many keys of the run repeat an earlier key of the run."""
        con = duckdb.connect(config={"threads": 2})
        try:
            con.register("run_keys", self.table())
            return con.execute(
                "select count(*) - (select count(*) from (select distinct request_id, attempt"
                " from run_keys)) from run_keys"
            ).fetchall()[0][0]
        finally:
            con.close()


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
                    _count_file_batch(tally, batch)
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
                _count_file_batch(tally, batch)
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
    if tally.file_format != "jsonl" or not _is_local(item) or _is_gzip(item):
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


def _is_local(item: FileItemDict) -> bool:
    fs = item.fsspec
    return "file" in fs.protocol or "local" in fs.protocol


def _is_gzip(item: FileItemDict) -> bool:
    with item.open(mode="rb", compression="disable") as raw:
        return raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def _direct_json_eligible(item: FileItemDict, tally: FileTally) -> bool:
    """May DuckDB's read_json parse this file (direct_json.py), rather than the line reader?"""
    # DuckDB would un-gzip the file twice (key pass, then records): the line reader does it once.
    return DIRECT_JSON and tally.file_format == "jsonl" and not _is_gzip(item)


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
            _count_files(tallies, skipped, "records_skipped")
        lines, skipped = formats.adapt(con, lines)
        _count_files(tallies, skipped, "records_skipped")
        for batch in normalize_arrow(con, lines):
            _count_batch(tallies, batch)
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


def _count_files(tallies: dict[str, FileTally], table: pa.Table, attr: str) -> None:
    if table.num_rows == 0:
        return
    for row in table.group_by("_source_file").aggregate([("_source_file", "count")]).to_pylist():
        tally = tallies[row["_source_file"]]
        setattr(tally, attr, getattr(tally, attr) + row["_source_file_count"])


def _count_file_batch(tally: FileTally, batch: NormalizedBatch) -> None:
    """Add the counts of a batch of one file read by DuckDB (which numbered its lines)."""
    for table, attr in ((batch.events, "rows_loaded"), (batch.quarantine, "rows_quarantined")):
        if table.num_rows == 0:
            continue
        setattr(tally, attr, getattr(tally, attr) + table.num_rows)
        tally.records_read += table.num_rows
        # The last line number is the count of lines read.
        tally.lines_read = max(tally.lines_read, pc.max(table.column("_source_line")).as_py())


def _count_merged(tallies: dict[str, FileTally], events: pa.Table) -> None:
    """Per file, the loaded rows of this batch that repeat another row's key."""
    if events.num_rows < 2:
        return
    keys = events.select(["_source_file", "request_id", "attempt"]).cast(
        pa.schema(
            [("_source_file", pa.string()), ("request_id", pa.string()), ("attempt", pa.int64())]
        )
    )
    counts = keys.group_by(["_source_file", "request_id", "attempt"]).aggregate(
        [("attempt", "count")]
    )
    repeated = counts.filter(pc.greater(counts.column("attempt_count"), 1))
    for row in repeated.to_pylist():
        tallies[row["_source_file"]].records_merged += row["attempt_count"] - 1


def _count_batch(tallies: dict[str, FileTally], batch: NormalizedBatch) -> None:
    """Add a pooled batch's counts to its files' tallies (one entry per file, not per row)."""
    _count_merged(tallies, batch.events)
    for table, attr in ((batch.events, "rows_loaded"), (batch.quarantine, "rows_quarantined")):
        if table.num_rows == 0:
            continue
        grouped = table.group_by("_source_file").aggregate([("_source_line", "count")])
        for row in grouped.to_pylist():
            tally = tallies[row["_source_file"]]
            setattr(tally, attr, getattr(tally, attr) + row["_source_line_count"])
            tally.records_read += row["_source_line_count"]
