"""Writing a published table's files: its days (or the whole table) from the warehouse, and the
rows a day gained since the last refresh. snapshot.py decides which; this module only writes.

A dated table's days are written one COPY per day: a day's rows come from the row groups of its
date range (tables are stored in time order), and each file is sorted alone. One COPY
partitioned by day sorted every row of the table together and kept a writer open per day: at
10 M events, 50 s for the attempts against 28 s one day at a time. Views over a join (the
attempts with their request's columns) are the exception: each day would compute the join
again, so they are written in one partitioned COPY.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from orchestration.publish.catalog import JOINED_STAMPS, PublishedTable
from orchestration.publish.fingerprints import NO_DATE, WHOLE, day_of, stamp_sql

LOOKUP_ROW_GROUP_ROWS = 20_000
PARTITION_FLUSH_ROWS = 65_536


def write_parts(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    keys: list[str],
    everything: bool,
    version: int,
) -> dict[str, list[str]]:
    """Write the parts `keys` of `table` (all its parts when `everything`); their files by key."""
    folder = Path("data") / table.name
    (store / folder).mkdir(parents=True, exist_ok=True)
    if table.date_column is None or keys == [WHOLE]:
        relative = folder / f"{WHOLE}-v{version}.parquet"
        con.execute(f"copy (select * from {table.source}) to '{quote(str(store / relative))}' (format parquet)")  # fmt: skip
        return {WHOLE: [str(relative)]}
    if table.name in JOINED_STAMPS:
        return _write_partitioned(con, store, table, None if everything else keys, version)
    order, options = lookup_layout(table)
    files: dict[str, list[str]] = {}
    for key in keys:
        relative = folder / f"{key}-v{version}-0.parquet"
        rows = f'"{table.date_column}" is null' if key == NO_DATE else day_range(table, key, key)
        con.execute(
            f"""copy (select * from {table.source} where {rows} {order})
                to '{quote(str(store / relative))}' (format parquet{options})"""
        )
        files[key] = [str(relative)]
    return files


def _write_partitioned(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    keys: list[str] | None,
    version: int,
) -> dict[str, list[str]]:
    """The days `keys` of `table` (None: all) in one COPY partitioned by day."""
    folder = Path("data") / table.name
    key = day_key(str(table.date_column))
    where = ""
    if keys is not None:
        listed = ", ".join(f"'{k}'" for k in keys)
        where = f"where {key} in ({listed})"
        days = sorted(k for k in keys if k != NO_DATE)
        if days and NO_DATE not in keys:
            where += f" and {day_range(table, days[0], days[-1])}"
    staging = store / ".staging" / uuid.uuid4().hex
    staging.parent.mkdir(exist_ok=True)
    order, options = lookup_layout(table, "__part, ")
    try:
        con.execute(
            f"""copy (select *, {key} as __part from {table.source} {where} {order})
                to '{quote(str(staging))}' (format parquet, partition_by (__part),
                                            filename_pattern 'data_{{i}}'{options})"""
        )
        files: dict[str, list[str]] = {}
        for written in sorted(staging.glob("__part=*/*.parquet")):
            part = written.parent.name.removeprefix("__part=")
            relative = folder / f"{part}-v{version}-{len(files.get(part, []))}.parquet"
            written.rename(store / relative)
            files.setdefault(part, []).append(str(relative))
        return files
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_added_rows(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    day: str,
    since: str,
    version: int,
) -> tuple[str, int]:
    """Write the rows of `day` stamped after `since` as one more file of the day; the file and
    its row count."""
    relative = Path("data") / table.name / f"{day}-v{version}-added.parquet"
    order, options = lookup_layout(table)
    (store / relative).parent.mkdir(parents=True, exist_ok=True)
    (count,) = con.execute(
        f"""copy (select * from {table.source}
                  where {day_range(table, day, day)}
                      and {stamp_sql(table)} > cast('{since}' as timestamp)
                  {order})
            to '{quote(str(store / relative))}' (format parquet{options})"""
    ).fetchone()
    return str(relative), count


def day_key(column: str) -> str:
    """The day of `column` as the part key ('YYYY-MM-DD', NO_DATE for NULL), in SQL."""
    return f"""coalesce(strftime({day_of(column)}, '%Y-%m-%d'), '{NO_DATE}')"""


def day_range(table: PublishedTable, first: str, last: str) -> str:
    """The days first..last as a range on the date column itself: the scan skips row groups by
    their min/max."""
    column, column_type = table.date_column, dict(table.columns)[table.date_column]
    return (
        f""""{column}" >= cast('{first}' as {column_type})"""
        f""" and "{column}" < cast(cast('{last}' as date) + 1 as {column_type})"""
    )


def lookup_layout(table: PublishedTable, first: str = "") -> tuple[str, str]:
    """ORDER BY and COPY options of a file of `table`. Drill-down tables are read one request at
    a time: sorted by it (after `first`), in small row groups, a lookup reads one row group per
    file (the others are skipped by their min/max)."""
    if not table.lookup_column:
        return "", ""
    return f'order by {first}"{table.lookup_column}"', f", row_group_size {LOOKUP_ROW_GROUP_ROWS}"


def quote(text: str) -> str:
    return text.replace("'", "''")
