"""The publishers on a tiny hand-made warehouse: what is published, Parquet to a folder and to
an fsspec URL, the DuckDB file swap, and the PostgreSQL type mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.publish.catalog import attach_warehouse, published_tables
from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.publish.parquet import export_parquet
from orchestration.publish.postgres import postgres_type
from orchestration.publish.snapshot import Manifest, refresh_snapshot
from tests.support.attempts_view import create_attempts_over_requests

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create schema marts; create schema analytics")
        con.execute("create table raw.usage_events as select 'secret' as prompt")
        con.execute("""
            create table marts.agg_usage_daily as
            select date '2026-09-01' + cast(i as integer) as usage_date, 'tenant-' || (i % 3) as tenant_id,
                   cast(i * 1.25 as decimal(18, 6)) as total_cost, ['a', 'b'] as tags
            from range(75) t(i)
        """)
        con.execute(
            "create view marts.llm_usage_events as select usage_date as timestamp, "
            "tenant_id, total_cost as computed_cost from marts.agg_usage_daily"
        )
        con.execute("create table analytics.spend_forecast as select 1.5 as projected_total")
    return path


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_published_tables_are_the_marts_and_analytics_not_raw(warehouse):
    with attach_warehouse(warehouse) as con:
        tables = {t.name: t for t in published_tables(con)}
    assert set(tables) == {"agg_usage_daily", "llm_usage_events", "spend_forecast"}
    assert tables["agg_usage_daily"].date_column == "usage_date"
    assert tables["spend_forecast"].date_column is None


def test_duplicate_names_across_schemas_are_refused(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table analytics.agg_usage_daily as select 1 as x")
    with attach_warehouse(warehouse) as con, pytest.raises(ValueError, match="agg_usage_daily"):
        published_tables(con)


def test_parquet_to_a_folder_by_month_a_file_per_day(warehouse, tmp_path):
    out = tmp_path / "exports"
    (out / "a_mart_that_was_dropped").mkdir(parents=True)
    (out / "agg_usage_daily" / "month=2026-09").mkdir(parents=True)
    (out / "agg_usage_daily" / "month=2026-09" / "part_0.parquet").write_bytes(b"old layout")
    counts = export_parquet(refresh_snapshot(warehouse, tmp_path / "store"), str(out))
    assert counts == {"agg_usage_daily": 75, "llm_usage_events": 75, "spend_forecast": 1}
    months = sorted(p.name for p in (out / "agg_usage_daily").iterdir())
    assert months == ["month=2026-09", "month=2026-10", "month=2026-11"]
    assert sorted(p.name for p in (out / "agg_usage_daily" / "month=2026-11").iterdir()) == [
        f"2026-11-{d:02d}.parquet" for d in range(1, 15)
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(counts)  # stale folder gone, no staging
    with attach_warehouse(warehouse) as con:
        back = rows(
            con,
            f"select usage_date, tenant_id, total_cost, tags from read_parquet("
            f"'{out}/agg_usage_daily/**/*.parquet', hive_partitioning = true)",
        )
        assert back == rows(con, "select * from wh.marts.agg_usage_daily")
    export_parquet(refresh_snapshot(warehouse, tmp_path / "store"), str(out))  # again: the same
    assert len(list((out / "agg_usage_daily").rglob("*.parquet"))) == 75


def test_a_publish_rewrites_only_the_days_that_changed(warehouse, tmp_path):
    store, out = tmp_path / "store", tmp_path / "exports"
    first = refresh_snapshot(warehouse, store)
    assert first.rows_written == 75 + 75 + 1
    export_parquet(first, str(out))
    day = out / "agg_usage_daily" / "month=2026-10" / "2026-10-05.parquet"
    untouched = out / "agg_usage_daily" / "month=2026-10" / "2026-10-06.parquet"
    before = (day.stat().st_ino, untouched.stat().st_ino)

    assert refresh_snapshot(warehouse, store).written == {}  # nothing written since
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.agg_usage_daily set total_cost = 0 where usage_date = '2026-10-05'"
        )
        con.execute("delete from marts.agg_usage_daily where usage_date = '2026-11-14'")
    second = refresh_snapshot(warehouse, store, retain_seconds=3600)
    # The changed day, in both the table and the view over it; the emptied day is gone.
    assert second.written == {"agg_usage_daily": ["2026-10-05"], "llm_usage_events": ["2026-10-05"]}
    assert "2026-11-14" not in second.manifest.tables["agg_usage_daily"].parts
    export_parquet(second, str(out))
    assert day.stat().st_ino != before[0] and untouched.stat().st_ino == before[1]
    assert not (out / "agg_usage_daily" / "month=2026-11" / "2026-11-14.parquet").exists()
    with attach_warehouse(warehouse) as con:
        assert rows(
            con,
            f"select * from read_parquet('{out}/agg_usage_daily/**/*.parquet', hive_partitioning = false)",
        ) == (rows(con, "select * from wh.marts.agg_usage_daily"))
    # The replaced files stay for readers of the previous version until the retention ends.
    retired = set(Manifest.load(store).retired)
    assert len(retired) == 4 and all((store / f).exists() for f in retired)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.agg_usage_daily set total_cost = 1 where usage_date = '2026-09-01'"
        )
    third = refresh_snapshot(warehouse, store, retain_seconds=0)
    assert not any((store / f).exists() for f in retired) and not third.manifest.retired


def test_each_day_and_the_rows_without_a_date_are_their_own_file(warehouse, tmp_path):
    """Days are written one file each (one COPY per day); rows whose date is NULL are kept in a
    part of their own, and a change among them rewrites only that part."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.agg_usage_daily values (null, 'tenant-x', 2.5, ['c'])")
    store = tmp_path / "store"
    first = refresh_snapshot(warehouse, store)
    daily = first.manifest.tables["agg_usage_daily"]
    assert len(daily.parts) == 76 and daily.parts["null"].rows == 1
    assert all(len(p.files) == 1 for p in daily.parts.values())
    with attach_warehouse(warehouse) as con:

        def ordered(sql: str) -> list[tuple]:  # NULL dates: sorted by the engine
            return con.execute(f"select * from ({sql}) order by all").fetchall()

        assert ordered(first.select_sql("agg_usage_daily")) == ordered(
            "select * from wh.marts.agg_usage_daily"
        )
        assert ordered(first.select_sql("agg_usage_daily", ["null"])) == [
            (None, "tenant-x", 2.5, ["c"])
        ]
        assert ordered(first.select_sql("agg_usage_daily", ["2026-09-03"])) == ordered(
            "select * from wh.marts.agg_usage_daily where usage_date = '2026-09-03'"
        )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.agg_usage_daily set total_cost = 3 where usage_date is null")
    second = refresh_snapshot(warehouse, store)
    assert second.written == {"agg_usage_daily": ["null"], "llm_usage_events": ["null"]}


def test_a_priced_at_column_marks_the_days_a_run_wrote(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""
            create table marts.fct_llm_attempts as
            select 'r' || i as request_id, timestamp '2026-11-01' + to_hours(i * 5) as event_at,
                   i as cost, timestamp '2026-11-20 10:00' as priced_at
            from range(200) t(i)
        """)
    store = tmp_path / "store"
    first = refresh_snapshot(path, store)
    assert len(first.written["fct_llm_attempts"]) == 42
    with duckdb.connect(str(path)) as con:  # a run re-prices one attempt and adds a new one
        con.execute(
            "update marts.fct_llm_attempts set cost = -1, priced_at = timestamp '2026-11-20 11:00' "
            "where request_id = 'r7'"
        )
        con.execute(
            "insert into marts.fct_llm_attempts values "
            "('new', timestamp '2026-11-30 23:00', 1, timestamp '2026-11-20 11:00')"
        )
    second = refresh_snapshot(path, store)
    assert second.written == {"fct_llm_attempts": ["2026-11-02", "2026-11-30"]}
    assert second.manifest.tables["fct_llm_attempts"].watermark == "2026-11-20 11:00:00"


def test_a_request_stamp_marks_the_days_of_its_earlier_attempts(tmp_path):
    """mart_request_attempts shows each attempt's share of its request's cost: a retry priced a
    day later changes the share of the first attempt, whose own stamp did not change."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""
            create table marts.mart_request_attempts as
            select 'r' || i as request_id, 1 as attempt,
                   timestamp '2026-11-01 23:00' + to_days(i) as event_at, 1.0 as request_cost_share,
                   timestamp '2026-11-20 10:00' as priced_at,
                   timestamp '2026-11-20 10:00' as request_priced_at
            from range(5) t(i)
        """)
    store = tmp_path / "store"
    refresh_snapshot(path, store)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "update marts.mart_request_attempts set request_cost_share = 0.5, "
            "request_priced_at = timestamp '2026-11-20 11:00' where request_id = 'r1'"
        )
    assert refresh_snapshot(path, store).written == {"mart_request_attempts": ["2026-11-02"]}


def test_duckdb_file_is_swapped_in_whole(warehouse, tmp_path):
    target = tmp_path / "published" / "tokenlake.duckdb"
    store = tmp_path / "published" / "tokenlake_files"
    publish_duckdb_file(refresh_snapshot(warehouse, store), target, NOW)
    reader = duckdb.connect(str(target), read_only=True)  # a BI tool holding the old file
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.agg_usage_daily where usage_date >= date '2026-10-01'")
    counts = publish_duckdb_file(refresh_snapshot(warehouse, store), target, NOW)
    assert counts["agg_usage_daily"] == 30
    assert reader.execute("select count(*) from agg_usage_daily").fetchone() == (75,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("select count(*) from agg_usage_daily").fetchone() == (30,)
        info = con.execute("select table_name, row_count from _publish_info order by 1").fetchall()
        assert info == [("agg_usage_daily", 30), ("llm_usage_events", 30), ("spend_forecast", 1)]
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert "raw" not in schemas
        # Same types as the warehouse (Parquet has no HUGEINT, say: the views cast back).
        types = con.execute(
            "select data_type from information_schema.columns where table_name = 'agg_usage_daily'"
        ).fetchall()
        assert [t for (t,) in types] == ["DATE", "VARCHAR", "DECIMAL(18,6)", "VARCHAR[]"]
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "tokenlake.duckdb",
        "tokenlake_files",
    ]


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("DECIMAL(18,6)", "numeric(18, 6)"),
        ("BIGINT", "bigint"),
        ("HUGEINT", "numeric(38, 0)"),
        ("TIMESTAMP", "timestamp"),
        ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
        ("VARCHAR[]", "jsonb"),
        ("STRUCT(a INTEGER)", "jsonb"),
        ("DOUBLE", "double precision"),
        ("DATE", "date"),
        ("BOOLEAN", "boolean"),
    ],
)
def test_postgres_column_types(duckdb_type, expected):
    assert postgres_type(duckdb_type) == expected


def test_the_attempts_view_is_fingerprinted_from_its_tables_with_the_same_days(tmp_path):
    """Where mart_request_attempts is the view over the attempts and their requests (as dbt builds
    it), an hourly refresh reads the two tables, not the join: the same days are rewritten."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_attempts_over_requests(
            con,
            """
            select 'r' || (i // 2) as request_id, i % 2 + 1 as attempt,
                   timestamp '2026-11-01 23:00' + to_days(i) as event_at,
                   timestamp '2026-11-20 10:00' as priced_at
            from range(6) t(i)
            """,
        )
    store = tmp_path / "store"
    first = refresh_snapshot(path, store)
    assert first.row_counts()["mart_request_attempts"] == 6
    with duckdb.connect(str(path)) as con:
        # Request r1's retry re-priced: both of its attempts' days (11-03, 11-04) change.
        con.execute(
            "update marts.fct_llm_requests set priced_at = timestamp '2026-11-20 11:00' "
            "where request_id = 'r1'"
        )
        con.execute(
            "insert into marts.fct_llm_attempts values "
            "('r9', 1, timestamp '2026-11-30 08:00', timestamp '2026-11-20 11:00')"
        )
        con.execute(
            "insert into marts.fct_llm_requests values ('r9', timestamp '2026-11-20 11:00')"
        )
    second = refresh_snapshot(path, store)
    assert second.written["mart_request_attempts"] == ["2026-11-03", "2026-11-04", "2026-11-30"]
    assert second.row_counts()["mart_request_attempts"] == 7
    assert refresh_snapshot(path, store).written == {}
