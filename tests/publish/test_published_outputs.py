"""Published outputs on demo data: the DuckDB file and Parquet equal the marts, PostgreSQL swaps
versions without readers erroring or seeing a mix, the BI role reads the published schema and
nothing else, and a reader of the published file never blocks a run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest

from orchestration.publish.catalog import published_tables
from orchestration.publish.postgres import publish_postgres
from orchestration.publish.snapshot import Manifest, refresh_snapshot, store_folder

pytestmark = pytest.mark.slow


def mart_names(warehouse: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'analytics') order by 2"
        ).fetchall()


def test_published_duckdb_file_holds_every_mart_unchanged(demo_pipeline):
    marts = mart_names(demo_pipeline.warehouse)
    assert len(marts) >= 20
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_pipeline.warehouse}' as wh (read_only)")
        con.execute(f"attach '{demo_pipeline.published_duckdb}' as pub (read_only)")
        for schema, name in marts:
            missing = con.execute(
                f"select count(*) from (select * from wh.{schema}.{name} "
                f"except all select * from pub.main.{name})"
            ).fetchone()[0]
            extra = con.execute(
                f"select count(*) from (select * from pub.main.{name} "
                f"except all select * from wh.{schema}.{name})"
            ).fetchone()[0]
            assert (missing, extra) == (0, 0), name
        info = dict(
            con.execute("select table_name, row_count from pub.main._publish_info").fetchall()
        )
        assert set(info) == {name for _, name in marts}
    # The swap leaves no temporary files behind: the file, and the snapshot its views read.
    assert sorted(p.name for p in demo_pipeline.published_duckdb.parent.iterdir()) == [
        "tokenlake.duckdb",
        "tokenlake_files",
    ]


LOOKUP_INDEXES = {
    (table, "request_id")
    for table in ("fct_llm_attempts", "fct_llm_requests", "mart_request_attempts", "mart_request_summary")
}  # fmt: skip


def test_published_drilldown_tables_look_one_request_up_quickly(demo_pipeline):
    """DuckDB file: each day's file sorted by request_id in small row groups, so a lookup skips
    the rest by their min/max; PostgreSQL: an index."""
    store = store_folder(demo_pipeline.published_duckdb)
    manifest = Manifest.load(store)
    with duckdb.connect(str(demo_pipeline.published_duckdb), read_only=True) as con:
        request_id = con.execute(
            "select request_id from main.mart_request_summary limit 1"
        ).fetchone()[0]
        for table, _ in LOOKUP_INDEXES:
            assert manifest.tables[table].lookup_column == "request_id"
            files = [f for p in manifest.tables[table].parts.values() for f in p.files]
            assert len(files) > 80  # a file per day
            for file in files[:5]:
                ids = [r[0] for r in con.execute(
                    f"select request_id from read_parquet('{store / file}')"
                ).fetchall()]  # fmt: skip
                assert ids == sorted(ids), file
        found = con.execute(
            f"select attempt from main.mart_request_attempts where request_id = '{request_id}'"
        ).fetchall()
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        assert sorted(found) == sorted(con.execute(
            f"select attempt from marts.mart_request_attempts where request_id = '{request_id}'"
        ).fetchall())  # fmt: skip
    in_postgres = pg_rows(
        demo_pipeline.bi_url,
        "select tablename, indexdef from pg_indexes where schemaname = 'tokenlake'",
    )
    assert {(t, d.rsplit("(", 1)[1].rstrip(")")) for t, d in in_postgres if "_lookup" in d} == (
        LOOKUP_INDEXES
    )


def test_parquet_exports_read_back_equal_to_the_marts(demo_pipeline):
    exports = demo_pipeline.exports
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_pipeline.warehouse}' as wh (read_only)")
        for table in published_tables(con):
            folder = exports / table.name
            files = sorted(folder.rglob("*.parquet"))
            assert files, table.name
            if table.date_column:
                months = {p.parent.name for p in files}
                assert all(m.startswith("month=") for m in months), table.name
                assert len(months) >= 3, table.name  # 90 days of demo data
            columns = ", ".join(f'"{c}"' for c, _ in table.columns)
            read_back = f"select {columns} from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
            original = f"select {columns} from {table.source}"
            for a, b in ((original, read_back), (read_back, original)):
                diff = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
                assert diff == 0, table.name


def pg_rows(url: str, sql: str, params=None) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def test_postgres_holds_the_marts_and_the_bi_role_reads_only_them(demo_pipeline):
    marts = mart_names(demo_pipeline.warehouse)
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        attempts, cost = con.execute(
            "select count(*), sum(computed_cost) from marts.llm_usage_events"
        ).fetchone()
    bi = demo_pipeline.bi_url
    assert pg_rows(bi, "select count(*), sum(computed_cost) from tokenlake.llm_usage_events") == [
        (attempts, cost)
    ]
    published = {r[0] for r in pg_rows(bi, "select table_name from tokenlake._publish_info")}
    assert published == {name for _, name in marts}
    columns = [r[0] for r in pg_rows(bi, "select * from tokenlake.llm_usage_events limit 0")] or [
        r[0]
        for r in pg_rows(
            bi,
            "select column_name from information_schema.columns where table_schema = 'tokenlake' "
            "and table_name = 'llm_usage_events' order by ordinal_position",
        )
    ]
    assert columns[:18] == [
        "timestamp", "tenant_id", "user_id", "feature", "request_id", "attempt", "prompt_tokens",
        "completion_tokens", "total_tokens", "computed_cost", "latency_ms", "retry_count", "model",
        "provider", "region", "cache_hit", "status", "prompt_template_id",
    ]  # fmt: skip

    # Raw data the loader keeps in the same database (as with dlt's postgres destination).
    owner = psycopg2.connect(demo_pipeline.publish_url)
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute("create schema if not exists raw")
        cur.execute("create table if not exists raw.usage_events as select 1 as secret_column")
        cur.execute("create table if not exists public.notes as select 1 as n")
    owner.close()
    forbidden = [
        "insert into tokenlake.mart_feature_ranking (feature) values ('x')",
        "update tokenlake.mart_feature_ranking set total_cost = 0",
        "delete from tokenlake.mart_feature_ranking",
        "drop table tokenlake.mart_feature_ranking",
        "truncate tokenlake.mart_feature_ranking",
        "create table tokenlake.mine (x int)",
        "create table public.mine (x int)",
        "select * from raw.usage_events",
        "select * from public.notes",
        "alter role tokenlake_bi createrole",
    ]
    for statement in forbidden:
        conn = psycopg2.connect(bi)
        try:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()


def test_publishing_twice_while_a_reader_loops_never_errors_or_mixes(demo_pipeline, tmp_path):
    """Two versions of the warehouse published in turn while a BI session queries in a loop."""
    v1 = demo_pipeline.warehouse
    v2 = tmp_path / "v2.duckdb"
    shutil.copy(v1, v2)
    with duckdb.connect(str(v2)) as con:
        con.execute(
            "delete from marts.agg_usage_daily "
            "where usage_date < (select min(usage_date) + 30 from marts.agg_usage_daily)"
        )
    # v3: v1's rows with a column added, which a publish swaps in as a new schema (v1 and v2
    # differ by rows only: the publish deletes and reloads the changed days in place).
    v3 = tmp_path / "v3.duckdb"
    shutil.copy(v1, v3)
    with duckdb.connect(str(v3)) as con:
        con.execute("alter table marts.agg_usage_daily add column note varchar")
    expected = {}
    for version, path in (("v1", v1), ("v2", v2)):
        with duckdb.connect(str(path), read_only=True) as con:
            expected[version] = con.execute(
                "select count(*), sum(total_cost) from marts.agg_usage_daily"
            ).fetchone()

    seen, errors, stop = [], [], threading.Event()

    def reader() -> None:
        conn = psycopg2.connect(demo_pipeline.bi_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            while not stop.is_set():
                try:
                    # One statement over two tables: the data and the publish's own record of it.
                    cur.execute(
                        "select count(*), sum(total_cost), (select row_count from "
                        "tokenlake._publish_info where table_name = 'agg_usage_daily') "
                        "from tokenlake.agg_usage_daily"
                    )
                    seen.append(cur.fetchone())
                except Exception as error:  # noqa: BLE001 - any error fails the test
                    errors.append(repr(error))
        conn.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for path in (v2, v1, v2, v3, v1):
            snapshot = refresh_snapshot(path, tmp_path / f"store-{path.stem}")
            publish_postgres(snapshot, demo_pipeline.publish_url, datetime.now(UTC), None)
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert errors == []
    assert len(seen) > 20
    versions = set()
    for count, total, recorded in seen:
        assert count == recorded, "a query saw one version's data and another's record"
        version = next(v for v, (n, cost) in expected.items() if (n, cost) == (count, total))
        versions.add(version)
    assert versions == {"v1", "v2"}
    # Old versions were dropped, nothing half-loaded is left.
    schemas = pg_rows(
        demo_pipeline.publish_url,
        "select nspname from pg_namespace where nspname like 'tokenlake%'",
    )
    assert schemas == [("tokenlake",)]


READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select max(published_at) from _publish_info").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the file open until told
print(con.execute("select count(*) from llm_usage_events").fetchone()[0], flush=True)
"""


def test_a_reader_holding_the_published_file_does_not_block_a_run(demo_pipeline):
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(demo_pipeline.published_duckdb)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = reader.stdout.readline().strip()
        assert first
        assert demo_pipeline.run("hourly_incremental")
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert int(reader.stdout.readline()) > 0  # the old version is still readable
    finally:
        reader.kill()
    with duckdb.connect(str(demo_pipeline.published_duckdb), read_only=True) as con:
        latest = con.execute("select max(published_at) from _publish_info").fetchone()[0]
    assert str(latest) > first
