"""Per-file tallies: every record read is loaded, quarantined or skipped, and counted so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.usage_logs.normalize import NormalizedBatch


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


def count_files(tallies: dict[str, FileTally], table: pa.Table, attr: str) -> None:
    if table.num_rows == 0:
        return
    for row in table.group_by("_source_file").aggregate([("_source_file", "count")]).to_pylist():
        tally = tallies[row["_source_file"]]
        setattr(tally, attr, getattr(tally, attr) + row["_source_file_count"])


def count_file_batch(tally: FileTally, batch: NormalizedBatch) -> None:
    """Add the counts of a batch of one file read by DuckDB (which numbered its lines)."""
    for table, attr in ((batch.events, "rows_loaded"), (batch.quarantine, "rows_quarantined")):
        if table.num_rows == 0:
            continue
        setattr(tally, attr, getattr(tally, attr) + table.num_rows)
        tally.records_read += table.num_rows
        # The last line number is the count of lines read.
        tally.lines_read = max(tally.lines_read, pc.max(table.column("_source_line")).as_py())


def count_merged(tallies: dict[str, FileTally], events: pa.Table) -> None:
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


def count_batch(tallies: dict[str, FileTally], batch: NormalizedBatch) -> None:
    """Add a pooled batch's counts to its files' tallies (one entry per file, not per row)."""
    count_merged(tallies, batch.events)
    for table, attr in ((batch.events, "rows_loaded"), (batch.quarantine, "rows_quarantined")):
        if table.num_rows == 0:
            continue
        grouped = table.group_by("_source_file").aggregate([("_source_line", "count")])
        for row in grouped.to_pylist():
            tally = tallies[row["_source_file"]]
            setattr(tally, attr, getattr(tally, attr) + row["_source_line_count"])
            tally.records_read += row["_source_line_count"]
