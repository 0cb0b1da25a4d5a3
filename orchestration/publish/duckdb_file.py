"""The read-only DuckDB file for BI tools with a DuckDB driver.

It is a separate file from the warehouse, so a BI tool holding it open never blocks a pipeline
run. Each publish writes a new file beside it and renames it into place: a reader sees the old
file or the new one, never a half-written one (readers that hold the old file keep reading it).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.publish.catalog import attach_warehouse, published_tables


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


def publish_duckdb_file(warehouse: Path, target: Path, published_at: datetime) -> dict[str, int]:
    """Write every published table into `target` (atomically replaced); rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temp_files(target)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(temp)) as con:
            attach_warehouse(warehouse, con)
            for table in published_tables(con):
                con.execute(f'create table main."{table.name}" as select * from {table.source}')
                if table.lookup_column:
                    con.execute(
                        f'create index "{table.lookup_index}"'
                        f' on main."{table.name}" ("{table.lookup_column}")'
                    )
                counts[table.name] = con.execute(
                    f'select count(*) from main."{table.name}"'
                ).fetchone()[0]
            con.execute(
                "create table main._publish_info as "
                "select unnest(?) as table_name, unnest(?) as row_count, ?::timestamp as published_at",
                [list(counts), list(counts.values()), published_at.replace(tzinfo=None)],
            )
            con.execute("detach wh")
            con.execute("checkpoint")
        os.replace(temp, target)
    finally:
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return counts
