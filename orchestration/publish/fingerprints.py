"""What a publish compares to find the parts (days) of a table that changed since the last one:
each part's rows and change marker, read from the warehouse in one pass over two columns."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from orchestration.publish.catalog import JOINED_STAMPS, PublishedTable

# Key of a table published as a single file (no date column, or no rows).
WHOLE = "all"
# Key of the rows whose date is NULL.
NO_DATE = "null"
# Columns stamped with the start of the dbt run that wrote the row (its figures' newest source).
STAMP_COLUMNS = ("priced_at", "request_priced_at")


@dataclass(frozen=True)
class Fingerprint:
    """A part as the warehouse holds it now: rows, change marker, and how many of its rows are
    stamped after the last refresh (None when not known: no stamp, or no earlier refresh)."""

    rows: int
    marker: str
    newer: int | None = None


def table_fingerprints(
    con: duckdb.DuckDBPyConnection, table: PublishedTable, since: str, kept: dict[str, str]
) -> tuple[dict[str, Fingerprint], str]:
    """Each part's fingerprint, and the table's newest stamp. `since`: the newest stamp at the
    last refresh ('' for none); `kept`: the markers of that refresh's parts.

    The marker is the part's newest stamp (`priced_at`, and `request_priced_at` where a row also
    shows its request's figures): every row a dbt run writes carries its run's start. Parts
    without a row newer than the last refresh's newest keep their marker. Without a stamp, a
    hash of the part's rows. A part that lost rows shows in its count."""
    names = [name for name, _ in table.columns]
    date_column = table.date_column
    day = day_of(date_column) if date_column else f"'{WHOLE}'"
    stamp = stamp_sql(table)
    if stamp is None:
        hashed = ", ".join(f'"{name}"' for name in names)
        rows = con.execute(
            f"select {day} as k, count(*), cast(sum(cast(hash({hashed}) as hugeint)) as varchar)"
            f" from {table.source} group by k"
        ).fetchall()
        return {part_key(k): Fingerprint(n, m or "") for k, n, m in rows}, ""
    if not since:
        rows = con.execute(
            f"select {day} as k, count(*), cast(max({stamp}) as varchar), null"
            f" from {table.source} group by k"
        ).fetchall()
    else:
        newer = f"case when {stamp} > cast('{since}' as timestamp) then {stamp} end"
        sql = (
            f"select {day} as k, count(*), cast(max({newer}) as varchar), count({newer})"
            f" from {table.source} group by k"
        )
        if date_column and table.name in JOINED_STAMPS:
            sql = _joined_stamps_sql(con, table, date_column, since) or sql
        rows = con.execute(sql).fetchall()
    fingerprints = {
        part_key(k): Fingerprint(n, m or kept.get(part_key(k), ""), newer)
        for k, n, m, newer in rows
    }
    watermark = max([since, *(m for _, _, m, _ in rows if m)])
    return fingerprints, watermark


def stamp_sql(table: PublishedTable) -> str | None:
    """The SQL of a row's stamp (the newest of its stamp columns), None without one."""
    names = {name for name, _ in table.columns}
    stamps = [f'"{name}"' for name in STAMP_COLUMNS if name in names]
    if not stamps:
        return None
    return f"greatest({', '.join(stamps)})" if len(stamps) > 1 else stamps[0]


def _joined_stamps_sql(
    con: duckdb.DuckDBPyConnection, table: PublishedTable, date_column: str, since: str
) -> str | None:
    """The fingerprint query of a view of JOINED_STAMPS from its two tables: the base's rows
    per day, the newest of the base's stamp and the joined rows' stamp, counting only stamps
    after `since`. None when the view is not over those tables here (then the view is read)."""
    base_name, joined_name, key = JOINED_STAMPS[table.name]
    relations = {
        name: kind
        for name, kind in con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_catalog = ? and table_schema = ?",
            [table.catalog, table.schema],
        ).fetchall()
    }
    if relations.get(table.name) != "VIEW" or not {base_name, joined_name} <= set(relations):
        return None
    base = f'"{table.catalog}"."{table.schema}"."{base_name}"'
    joined = f'"{table.catalog}"."{table.schema}"."{joined_name}"'
    after = f"cast('{since}' as timestamp)"
    return f"""
        select {day_of(date_column, "b")} as k, count(*),
               cast(max(greatest(case when b.priced_at > {after} then b.priced_at end,
                                 j.priced_at)) as varchar),
               count(case when b.priced_at > {after} or j.priced_at is not null then 1 end)
        from {base} as b
        left join (select "{key}", priced_at from {joined} where priced_at > {after}) as j
            using ("{key}")
        group by k"""


def day_of(column: str, alias: str = "") -> str:
    """SQL: the day of a row's date column, the part it belongs to (part_key names it); the
    part files select the same day's rows by a range on the column (part_files.day_range)."""
    return f'cast({alias + "." if alias else ""}"{column}" as date)'


def part_key(value: object) -> str:
    if value is None:
        return NO_DATE
    return value if isinstance(value, str) else value.isoformat()
