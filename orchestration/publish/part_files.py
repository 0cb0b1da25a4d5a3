"""Writing a published table's files: its days (or the whole table) from the warehouse, and the
rows a day gained since the last refresh. snapshot.py decides which; this module only writes.

A dated table's days are written one COPY per day: a day's rows come from the row groups that hold
its date range (the others are skipped by their min/max), and each file is sorted alone. One day's
COPY reads a few row groups, which DuckDB scans on one thread, so the days are written side by
side, one connection per core (10 M events, the attempts: 26 s one day after another, 15 s two at a
time on two cores). One COPY partitioned by day instead sorted every row of the table together and
kept a writer open per day: 50 s for the attempts; unsorted, it was still slower than the days side
by side (the hourly rollup 21 s against 6 s). A view over a join (the attempts with their request's
columns) reads the whole joined table for any day, so it is computed a week at a time into a
temporary table, and each day's file written from that (10 M events: 24 s in one partitioned COPY,
21 s a day at a time, 20 s a week per partitioned COPY, 15 s so; a temporary table made the plain
tables slower: the attempts 29 s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

import duckdb

from orchestration.publish.catalog import JOINED_STAMPS, PublishedTable
from orchestration.publish.fingerprints import NO_DATE, WHOLE, stamp_sql

LOOKUP_ROW_GROUP_ROWS = 20_000

# A view over a join is computed this many days at a time (see the module doc).
JOINED_DAYS_PER_PASS = 7

K = TypeVar("K")
T = TypeVar("T")


def write_parts(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    keys: list[str],
    version: int,
) -> dict[str, list[str]]:
    """Write the parts `keys` of `table`; their files by key."""
    folder = Path("data") / table.name
    (store / folder).mkdir(parents=True, exist_ok=True)
    if table.date_column is None or keys == [WHOLE]:
        relative = folder / f"{WHOLE}-v{version}.parquet"
        con.execute(f"copy (select * from {table.source}) to '{quote(str(store / relative))}' (format parquet)")  # fmt: skip
        return {WHOLE: [str(relative)]}
    if table.name in JOINED_STAMPS:
        days = sorted(keys)  # consecutive days together: one range of the view each
        weeks = [days[i : i + JOINED_DAYS_PER_PASS] for i in range(0, len(days), JOINED_DAYS_PER_PASS)]  # fmt: skip

        def write_week(cursor: duckdb.DuckDBPyConnection, week: list[str]) -> dict[str, list[str]]:
            return _write_days_of_join(cursor, store, table, week, version)

        return {key: files for week in side_by_side(con, weeks, write_week) for key, files in week.items()}  # fmt: skip

    def write_day(cursor: duckdb.DuckDBPyConnection, key: str) -> list[str]:
        return _write_day(cursor, store, table, key, version)

    return dict(zip(keys, side_by_side(con, keys, write_day), strict=True))


def _write_day(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    key: str,
    version: int,
    source: str | None = None,
) -> list[str]:
    """The day `key` of `table` (read from `source`, by default the table) as one file."""
    relative = Path("data") / table.name / f"{key}-v{version}-0.parquet"
    rows = f'"{table.date_column}" is null' if key == NO_DATE else day_range(table, key, key)
    order, options = lookup_layout(table)
    con.execute(
        f"""copy (select * from {source or table.source} where {rows} {order})
            to '{quote(str(store / relative))}' (format parquet{options})"""
    )
    return [str(relative)]


def _write_days_of_join(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    table: PublishedTable,
    keys: list[str],
    version: int,
) -> dict[str, list[str]]:
    """The days `keys` (consecutive) of a view over a join: the view's rows over their range
    computed once into a temporary table of this connection, then each day's file from it."""
    days = [k for k in keys if k != NO_DATE]
    ranges = [day_range(table, days[0], days[-1])] if days else []
    if NO_DATE in keys:
        ranges.append(f'"{table.date_column}" is null')
    rows = " or ".join(f"({r})" for r in ranges)
    con.execute(f"create or replace temp table days_of_join as select * from {table.source} where {rows}")  # fmt: skip
    try:
        return {key: _write_day(con, store, table, key, version, "days_of_join") for key in keys}
    finally:
        con.execute("drop table if exists days_of_join")


def side_by_side(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[K],
    work: Callable[[duckdb.DuckDBPyConnection, K], T],
) -> list[T]:
    """`work(cursor, key)` for each key, as many at a time as DuckDB has threads, each on its own
    cursor of `con` running on one thread; the results in the order of `keys`. The first error
    stops the rest (the running statements are interrupted) and is raised."""
    (threads,) = con.execute("select current_setting('threads')").fetchone()
    workers = min(len(keys), int(threads))
    if workers <= 1:
        return [work(con, key) for key in keys]
    cursors: list[duckdb.DuckDBPyConnection] = []
    own = threading.local()

    def run(key: K) -> T:
        if not hasattr(own, "cursor"):
            own.cursor = con.cursor()
            cursors.append(own.cursor)
        return work(own.cursor, key)

    con.execute("set threads = 1")  # a setting of the database: every cursor runs on one thread
    pool = ThreadPoolExecutor(workers, thread_name_prefix="publish")
    try:
        futures = [pool.submit(run, key) for key in keys]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future in done and future.exception() is not None:
                raise future.exception()  # the others are still running: stopped below
        return [future.result() for future in futures]
    except BaseException:
        for cursor in list(cursors):
            cursor.interrupt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for cursor in cursors:
            cursor.close()
        con.execute(f"set threads = {int(threads)}")


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
