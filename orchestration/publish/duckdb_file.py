"""The read-only DuckDB file for BI tools with a DuckDB driver.

It holds one view per published table over the snapshot's Parquet files (snapshot.py) and the
`_publish_info` table, so it is small and written in a moment however long the history: the data
is written once, to the snapshot, and only where it changed. It is a separate file from the
warehouse, so a BI tool holding it open never blocks a pipeline run. Each publish writes a new
file beside it and renames it into place: a reader sees the old version or the new one, never a
mix (every view of a version names that version's files, which are never rewritten; the files a
newer version replaced are kept for the snapshot's retention, so a reader of the old file keeps
reading them).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.publish.snapshot import Snapshot


def remove_dead_temp_files(target: Path) -> list[Path]:
    """Temp files (and their WAL) of publishes that died mid-way; publishes run one at a time
    (warehouse pool), so any found when one starts is dead."""
    found = [
        *target.parent.glob(f".{target.name}.*.tmp"),
        *target.parent.glob(f".{target.name}.*.tmp.wal"),
    ]
    for leftover in found:
        leftover.unlink(missing_ok=True)
    return found


def publish_duckdb_file(snapshot: Snapshot, target: Path, published_at: datetime) -> dict[str, int]:
    """Write a view per table of the snapshot into `target` (atomically replaced); rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(target)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    counts = snapshot.row_counts()
    try:
        with duckdb.connect(str(temp)) as con:
            for name in counts:
                con.execute(f'create view main."{name}" as {snapshot.select_sql(name)}')
            con.execute(
                "create table main._publish_info as "
                "select unnest(?) as table_name, unnest(?) as row_count, ?::timestamp as published_at",
                [list(counts), list(counts.values()), published_at.replace(tzinfo=None)],
            )
            con.execute("checkpoint")
        os.replace(temp, target)
    finally:
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return counts
