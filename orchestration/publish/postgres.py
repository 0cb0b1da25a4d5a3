"""Publishing to PostgreSQL: schema `tokenlake`, readable by the role `tokenlake_bi` only.

The tables come from the published snapshot (snapshot.py). When the schema already holds an
earlier publish of the same tables and columns, a publish deletes and reloads only the days that
changed, in one transaction: readers see the old rows until the commit and the new ones after,
and nothing they hold is locked. Otherwise (the first publish, a mart added or dropped, columns
changed) a fresh schema is loaded under a temporary name (readers are not disturbed while it
loads), then swapped in with two renames in the same transaction. Just before the renames it
takes the old tables' exclusive locks without waiting (NOWAIT, retried): a query that is reading
the old version finishes on it first, and queries that arrive during the few milliseconds of the
swap wait for the commit and then read the new version. So a query sees the old version or the
new one, never a mix, and a reader never gets an error (NOWAIT never waits, so never deadlocks).
The old version is dropped afterwards.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg2
from psycopg2 import sql

from orchestration.publish.scram import scram_sha256_verifier
from orchestration.publish.snapshot import NO_DATE, WHOLE, Snapshot

SCHEMA = "tokenlake"
BI_ROLE = "tokenlake_bi"
# Which snapshot parts (days) each published table holds, with their fingerprints.
PARTS_TABLE = "_publish_parts"
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


def _select_for_csv(snapshot: Snapshot, name: str, keys: list[str] | None = None) -> str:
    """Nested values are written as JSON text; everything else as DuckDB prints it."""
    parts = []
    for column, data_type in snapshot.manifest.tables[name].columns:
        quoted = f'"{column}"'
        if postgres_type(data_type) == "jsonb" and data_type != "JSON":
            quoted = f"to_json({quoted})"
        parts.append(quoted)
    return f"select {', '.join(parts)} from ({snapshot.select_sql(name, keys)})"


def publish_postgres(
    snapshot: Snapshot, url: str, published_at: datetime, bi_password: str | None = None
) -> dict[str, int]:
    """Bring schema `tokenlake` to the snapshot in one transaction; rows per table.

    When the schema holds an earlier publish of the same tables and columns, only the parts
    (days) that changed are deleted and loaded again; otherwise a new schema is loaded whole and
    swapped in."""
    reader = duckdb.connect()
    conn = psycopg2.connect(url)
    try:
        published = _published_parts(conn)
        wanted = {
            name: {"columns": json.dumps(t.columns), **{k: p.marker for k, p in t.parts.items()}}
            for name, t in snapshot.manifest.tables.items()
        }
        if (
            published is not None
            and set(published) == set(wanted)
            and all(published[name].get("columns") == wanted[name]["columns"] for name in wanted)
        ):
            _publish_changes(reader, conn, snapshot, published, wanted, published_at, bi_password)
        else:
            _publish_whole(reader, conn, snapshot, wanted, published_at, bi_password)
        return snapshot.row_counts()
    finally:
        conn.close()
        reader.close()


def _published_parts(conn) -> dict[str, dict[str, str]] | None:
    """Table -> part -> marker of what schema `tokenlake` holds (None: not a publish of ours)."""
    with conn, conn.cursor() as cur:
        cur.execute("select to_regclass(%s)", (f"{SCHEMA}.{PARTS_TABLE}",))
        if cur.fetchone()[0] is None:
            return None
        cur.execute(sql.SQL("select table_name, part, marker from {}").format(_parts_table(SCHEMA)))
        published: dict[str, dict[str, str]] = {}
        for table, part, marker in cur.fetchall():
            published.setdefault(table, {})[part] = marker
        return published


def _parts_table(schema: str) -> sql.Composable:
    return sql.Identifier(schema, PARTS_TABLE)


def _publish_changes(
    reader: duckdb.DuckDBPyConnection,
    conn,
    snapshot: Snapshot,
    published: dict[str, dict[str, str]],
    wanted: dict[str, dict[str, str]],
    published_at: datetime,
    bi_password: str | None,
) -> None:
    """Delete and reload the changed parts in place, in one transaction: readers see the old
    rows until the commit and the new ones after (MVCC), and are never blocked (no table lock
    beyond a writer's row locks)."""
    with conn, conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        _ensure_role(cur, bi_password)
        cur.execute("set local timezone = 'UTC'")  # days are UTC days, as in the snapshot
        for name, parts in wanted.items():
            before = published[name]
            stale = [k for k in before if k != "columns" and parts.get(k) != before[k]]
            fresh = [k for k in parts if k != "columns" and before.get(k) != parts[k]]
            if not stale and not fresh:
                continue
            table = snapshot.manifest.tables[name]
            target = sql.Identifier(SCHEMA, name)
            days = [k for k in stale if k not in (WHOLE, NO_DATE)]
            if table.date_column is None or WHOLE in stale:
                cur.execute(sql.SQL("delete from {}").format(target))
            else:
                column = sql.Identifier(table.date_column)
                if days:
                    cur.execute(
                        sql.SQL("delete from {} where cast({} as date) = any(%s::date[])").format(
                            target, column
                        ),
                        (days,),
                    )
                if NO_DATE in stale:
                    cur.execute(sql.SQL("delete from {} where {} is null").format(target, column))
            _copy_in(reader, cur, snapshot, name, target, fresh, Path(tmp))
            parts_table = _parts_table(SCHEMA)
            cur.execute(
                sql.SQL("delete from {} where table_name = %s and part = any(%s)").format(
                    parts_table
                ),
                (name, stale),
            )
            cur.executemany(
                sql.SQL("insert into {} values (%s, %s, %s)").format(parts_table),
                [(name, k, parts[k]) for k in fresh],
            )
        cur.executemany(
            sql.SQL("update {} set row_count = %s, published_at = %s where table_name = %s").format(
                sql.Identifier(SCHEMA, "_publish_info")
            ),
            [
                (rows, published_at.replace(tzinfo=None), name)
                for name, rows in snapshot.row_counts().items()
            ],
        )


def _publish_whole(
    reader: duckdb.DuckDBPyConnection,
    conn,
    snapshot: Snapshot,
    wanted: dict[str, dict[str, str]],
    published_at: datetime,
    bi_password: str | None,
) -> None:
    """Load a new schema under a temporary name and swap it in (module doc)."""
    _drop_leftovers(conn)
    suffix = uuid.uuid4().hex[:12]
    staging, retired = f"{SCHEMA}_next_{suffix}", f"{SCHEMA}_old_{suffix}"
    counts = snapshot.row_counts()
    with conn, conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        _ensure_role(cur, bi_password)
        cur.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
        for name in counts:
            _create_table(cur, snapshot, name, staging)
            _copy_in(reader, cur, snapshot, name, sql.Identifier(staging, name), None, Path(tmp))
            _create_lookup_index(cur, snapshot, name, staging)
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
        # Which parts (days) of which snapshot each table holds: the next publish loads only
        # the parts that changed.
        cur.execute(
            sql.SQL(
                "create table {} (table_name text, part text, marker text,"
                " primary key (table_name, part))"
            ).format(_parts_table(staging))
        )
        cur.executemany(
            sql.SQL("insert into {} values (%s, %s, %s)").format(_parts_table(staging)),
            [(name, k, marker) for name, parts in wanted.items() for k, marker in parts.items()],
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


def _create_table(cur, snapshot: Snapshot, name: str, schema: str) -> None:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(postgres_type(data_type)))
        for column, data_type in snapshot.manifest.tables[name].columns
    )
    cur.execute(sql.SQL("create table {} ({})").format(sql.Identifier(schema, name), columns))


def _copy_in(
    reader: duckdb.DuckDBPyConnection,
    cur,
    snapshot: Snapshot,
    name: str,
    target: sql.Composable,
    keys: list[str] | None,
    tmp: Path,
) -> None:
    """Append the table's parts `keys` (all when None) to `target`."""
    if keys == []:
        return
    csv = tmp / f"{name}.csv"
    # DuckDB writes NULL as an empty field and an empty string as "": PostgreSQL's CSV rules.
    reader.execute(
        f"copy ({_select_for_csv(snapshot, name, keys)}) to '{csv}' (format csv, header false)"
    )
    # Binary: text mode would turn a CR LF inside a value into LF (universal newlines).
    with csv.open("rb") as handle:
        cur.copy_expert(sql.SQL("copy {} from stdin with (format csv)").format(target), handle)
    csv.unlink()


def _create_lookup_index(cur, snapshot: Snapshot, name: str, schema: str) -> None:
    """Drill-down tables are read one request at a time: an index on the lookup column (built
    after the load: one sort, not a b-tree update per row; kept up to date by later publishes)."""
    column = snapshot.manifest.tables[name].lookup_column
    if column:
        cur.execute(
            sql.SQL("create index {} on {} ({})").format(
                sql.Identifier(f"{name}__{column}_lookup"),
                sql.Identifier(schema, name),
                sql.Identifier(column),
            )
        )


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
