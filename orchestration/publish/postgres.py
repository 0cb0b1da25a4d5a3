"""Publishing to PostgreSQL: schema `tokenlake`, readable by the role `tokenlake_bi` only.

Each publish loads a fresh schema under a temporary name (readers are not disturbed while it
loads), then swaps it in with two renames in the same transaction. Just before the renames it
takes the old tables' exclusive locks without waiting (NOWAIT, retried): a query that is reading
the old version finishes on it first, and queries that arrive during the few milliseconds of the
swap wait for the commit and then read the new version. So a query sees the old version or the
new one, never a mix, and a reader never gets an error (NOWAIT never waits, so never deadlocks).
The old version is dropped afterwards.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg2
from psycopg2 import sql

from orchestration.publish.catalog import PublishedTable, attach_warehouse, published_tables
from orchestration.publish.scram import scram_sha256_verifier

SCHEMA = "tokenlake"
BI_ROLE = "tokenlake_bi"
# How long dropping the previous version may wait for readers still using it; on timeout it is
# left for the next publish to drop.
DROP_LOCK_TIMEOUT = "30s"
# The swap retries its NOWAIT lock this often, this far apart (a reader inside one long
# transaction holds its tables: after 60 s the publish fails and says so).
SWAP_ATTEMPTS = 600
SWAP_RETRY_SECONDS = 0.1

_DIRECT_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(38, 0)",
    "UHUGEINT": "numeric(39, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
}


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB type; nested types become jsonb."""
    if duckdb_type in _DIRECT_TYPES:
        return _DIRECT_TYPES[duckdb_type]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if decimal:
        return f"numeric({decimal[1]}, {decimal[2]})"
    if duckdb_type.endswith("]") or duckdb_type.startswith(("STRUCT", "MAP", "UNION", "JSON")):
        return "jsonb"
    return "text"


def _select_for_csv(table: PublishedTable) -> str:
    """Nested values are written as JSON text; everything else as DuckDB prints it."""
    parts = []
    for name, data_type in table.columns:
        column = f'"{name}"'
        if postgres_type(data_type) == "jsonb" and data_type != "JSON":
            column = f"to_json({column})"
        parts.append(column)
    return f"select {', '.join(parts)} from {table.source}"


def publish_postgres(
    warehouse: Path, url: str, published_at: datetime, bi_password: str | None = None
) -> dict[str, int]:
    """Replace schema `tokenlake` with the current marts in one transaction; rows per table."""
    reader = attach_warehouse(warehouse)
    conn = psycopg2.connect(url)
    try:
        tables = published_tables(reader)
        _drop_leftovers(conn)
        suffix = uuid.uuid4().hex[:12]
        staging, retired = f"{SCHEMA}_next_{suffix}", f"{SCHEMA}_old_{suffix}"
        counts: dict[str, int] = {}
        with conn, conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
            _ensure_role(cur, bi_password)
            cur.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
            for table in tables:
                counts[table.name] = _load_table(reader, cur, table, staging, Path(tmp))
            cur.execute(
                sql.SQL(
                    "create table {}._publish_info (table_name text primary key,"
                    " row_count bigint not null, published_at timestamp not null)"
                ).format(sql.Identifier(staging))
            )
            cur.executemany(
                sql.SQL("insert into {}._publish_info values (%s, %s, %s)").format(
                    sql.Identifier(staging)
                ),
                [(name, rows, published_at.replace(tzinfo=None)) for name, rows in counts.items()],
            )
            _grant_read(cur, staging)
            # The swap: readers resolve `tokenlake.<table>` to the new tables from the commit on.
            cur.execute("select 1 from pg_namespace where nspname = %s", (SCHEMA,))
            if cur.fetchone():
                _lock_current_version(cur)
                cur.execute(
                    sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(retired)
                    )
                )
            cur.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(staging), sql.Identifier(SCHEMA)
                )
            )
        _drop_leftovers(conn)
        return counts
    finally:
        conn.close()
        reader.close()


def _lock_current_version(cur) -> None:
    """Exclusive locks on the published tables, taken only when no query is reading them."""
    cur.execute("select schemaname, tablename from pg_tables where schemaname = %s", (SCHEMA,))
    tables = [sql.Identifier(schema, name) for schema, name in cur.fetchall()]
    if not tables:
        return
    statement = sql.SQL("lock table {} in access exclusive mode nowait").format(
        sql.SQL(", ").join(tables)
    )
    cur.execute("savepoint swap")
    for _ in range(SWAP_ATTEMPTS):
        try:
            cur.execute(statement)
            return
        except psycopg2.errors.LockNotAvailable:
            cur.execute("rollback to savepoint swap")
            time.sleep(SWAP_RETRY_SECONDS)
    raise RuntimeError(
        f"could not swap in the new `{SCHEMA}` schema: readers held its tables for "
        f"{SWAP_ATTEMPTS * SWAP_RETRY_SECONDS:.0f} s (a BI session inside a long transaction?)"
    )


def _load_table(
    reader: duckdb.DuckDBPyConnection, cur, table: PublishedTable, schema: str, tmp: Path
) -> int:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(postgres_type(data_type)))
        for name, data_type in table.columns
    )
    target = sql.Identifier(schema, table.name)
    cur.execute(sql.SQL("create table {} ({})").format(target, columns))
    csv = tmp / f"{table.name}.csv"
    # DuckDB writes NULL as an empty field and an empty string as "": PostgreSQL's CSV rules.
    reader.execute(f"copy ({_select_for_csv(table)}) to '{csv}' (format csv, header false)")
    # Binary: text mode would turn a CR LF inside a value into LF (universal newlines).
    with csv.open("rb") as handle:
        cur.copy_expert(sql.SQL("copy {} from stdin with (format csv)").format(target), handle)
    rows = cur.rowcount
    csv.unlink()
    if table.lookup_column:
        # Built after the load (one sort, not a b-tree update per row).
        cur.execute(
            sql.SQL("create index {} on {} ({})").format(
                sql.Identifier(table.lookup_index),
                target,
                sql.Identifier(table.lookup_column),
            )
        )
    return rows


def _ensure_role(cur, bi_password: str | None) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,))
    if not cur.fetchone():
        cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(BI_ROLE)))
    if bi_password:
        # A BI tool logs in as the role itself; without a password, grant the role to BI users.
        # Sent as a SCRAM verifier: the statement (and a server logging DDL) never holds it.
        cur.execute(
            sql.SQL("alter role {} login password %s").format(sql.Identifier(BI_ROLE)),
            (scram_sha256_verifier(bi_password),),
        )


def _grant_read(cur, schema: str) -> None:
    """Usage on the schema and SELECT on its tables: nothing else, nothing to anyone else."""
    ident, role = sql.Identifier(schema), sql.Identifier(BI_ROLE)
    cur.execute(sql.SQL("revoke all on schema {} from public").format(ident))
    cur.execute(sql.SQL("grant usage on schema {} to {}").format(ident, role))
    cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident, role))


def _drop_leftovers(conn) -> None:
    """Drop earlier versions (and half-loaded schemas of failed publishes); skip those in use."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "select nspname from pg_namespace where nspname like %s or nspname like %s",
            (f"{SCHEMA}\\_old\\_%", f"{SCHEMA}\\_next\\_%"),
        )
        leftovers = [row[0] for row in cur.fetchall()]
    for name in leftovers:
        try:
            with conn, conn.cursor() as cur:
                cur.execute(f"set local lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))
        except psycopg2.errors.LockNotAvailable:
            continue  # a reader still holds it: the next publish drops it
