"""Helpers for the usage-log source: where the logs are, and reading files into batches."""

from __future__ import annotations

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
from ingestion.usage_logs.line_reader import (
    iter_jsonl_lines,
    iter_parquet_rows,
    open_decompressed,
    parquet_rows_to_lines,
)
from ingestion.usage_logs.normalize import NormalizedBatch, normalize_lines
from ingestion.usage_logs.settings import (
    BATCH_LINES,
    GZIP_SUFFIX,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
)

GLOB_CHARS = "*?["


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
    lines_read: int = 0
    records_read: int = 0
    records_skipped: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0

    @property
    def balanced(self) -> bool:
        return self.records_read == self.rows_loaded + self.rows_quarantined + self.records_skipped

    def as_row(self) -> dict:
        return {
            "file_url": self.file_url,
            "relative_path": self.relative_path,
            "file_format": self.file_format,
            "size_bytes": self.size_bytes,
            "modified_at": self.modified_at,
            "lines_read": self.lines_read,
            "records_read": self.records_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "records_skipped": self.records_skipped,
            "balanced": self.balanced,
        }


def _iter_file_batches(item: FileItemDict, tally: FileTally) -> Iterator[pa.Table]:
    """One file's contents in numbered batches: text lines (JSONL) or row structs (Parquet)."""
    with item.open(mode="rb", compression="disable") as raw:
        if tally.file_format == "parquet":
            batches = iter_parquet_rows(raw)
        else:
            batches = iter_jsonl_lines(open_decompressed(raw))
        for batch in batches:
            tally.lines_read += batch.num_rows
            yield _with_source(batch, item["file_url"], tally.modified_at)


def _with_source(lines: pa.Table, file_url: str, modified_at: datetime) -> pa.Table:
    """Add the file's URL and modification time as columns (dictionary-encoded, no copies)."""
    n = lines.num_rows
    zeros = pa.array(np.zeros(n, dtype=np.int32))
    file_col = pa.DictionaryArray.from_arrays(zeros, pa.array([file_url], pa.string()))
    stamp = pa.array([modified_at], pa.timestamp("us", tz="UTC"))
    return lines.add_column(0, "_source_file", file_col).add_column(1, "_source_modified_at", stamp.take(zeros))


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
            # Parquet files may differ in columns: unify them by name before turning rows to JSON.
            rows = pa.concat_tables(self.parquet, promote_options="permissive")
            tables.append(parquet_rows_to_lines(con, rows))
        self.lines, self.parquet, self.rows = [], [], 0
        return pa.concat_tables([t.cast(tables[0].schema) for t in tables], promote_options="permissive")


def read_log_files(
    con: duckdb.DuckDBPyConnection, items: list[tuple[FileItemDict, FileTally]], batch_lines: int = BATCH_LINES
) -> Iterator[NormalizedBatch]:
    """Read many files, normalising their records together in batches of about `batch_lines`.

    Small hourly files are pooled so that one SQL pass serves many of them; each file's tally
    gets its record, loaded, quarantined and skipped counts from the results.
    """
    tallies = {item["file_url"]: tally for item, tally in items}
    pool = _Pool()

    def flush() -> NormalizedBatch:
        lines = pool.take(con)
        if otlp.has_otlp(lines):
            lines, skipped = otlp.expand_spans(con, lines)
            _count_into(tallies, skipped, "records_skipped")
        _count_into(tallies, lines, "records_read")
        batch = normalize_lines(con, lines)
        _count_into(tallies, batch.events, "rows_loaded")
        _count_into(tallies, batch.quarantine, "rows_quarantined")
        return batch

    for item, tally in items:
        for batch in _iter_file_batches(item, tally):
            pool.add(batch)
            if pool.rows >= batch_lines:
                yield flush()
    if pool.rows:
        yield flush()
    for tally in tallies.values():
        tally.records_read += tally.records_skipped


def _count_into(tallies: dict[str, FileTally], table: pa.Table, attr: str) -> None:
    if table.num_rows == 0:
        return
    counts = pc.value_counts(table.column("_source_file").combine_chunks())
    for entry in counts.to_pylist():  # one entry per file, not per event
        tally = tallies[entry["values"]]
        setattr(tally, attr, getattr(tally, attr) + entry["counts"])
