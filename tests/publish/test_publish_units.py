"""The publishers on a tiny hand-made warehouse: what is published, Parquet to a folder and to
an fsspec URL, the DuckDB file swap, and the PostgreSQL type mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import fsspec
import pytest

from orchestration.publish.catalog import attach_warehouse, published_tables
from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.publish.parquet import export_parquet
from orchestration.publish.postgres import postgres_type

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
    assert tables["agg_usage_daily"].month_column == "usage_date"
    assert tables["spend_forecast"].month_column is None


def test_duplicate_names_across_schemas_are_refused(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table analytics.agg_usage_daily as select 1 as x")
    with attach_warehouse(warehouse) as con, pytest.raises(ValueError, match="agg_usage_daily"):
        published_tables(con)


def test_parquet_to_a_folder_by_month_and_replaced_whole(warehouse, tmp_path):
    out = tmp_path / "exports"
    (out / "a_mart_that_was_dropped").mkdir(parents=True)
    counts = export_parquet(warehouse, str(out))
    assert counts == {"agg_usage_daily": 75, "llm_usage_events": 75, "spend_forecast": 1}
    months = sorted(p.name for p in (out / "agg_usage_daily").iterdir())
    assert months == ["month=2026-09", "month=2026-10", "month=2026-11"]
    assert sorted(p.name for p in out.iterdir()) == sorted(counts)  # stale folder gone, no staging
    with attach_warehouse(warehouse) as con:
        back = rows(
            con,
            f"select usage_date, tenant_id, total_cost, tags from read_parquet("
            f"'{out}/agg_usage_daily/**/*.parquet', hive_partitioning = true)",
        )
        assert back == rows(con, "select * from wh.marts.agg_usage_daily")
    export_parquet(warehouse, str(out))  # again: replaced, not appended
    assert len(list((out / "agg_usage_daily").rglob("*.parquet"))) == 3


def test_parquet_to_an_fsspec_url(warehouse):
    export_parquet(warehouse, "memory://tokenlake-test/exports")
    fs = fsspec.filesystem("memory")
    with attach_warehouse(warehouse) as con:
        con.register_filesystem(fs)
        back = rows(
            con,
            "select * from read_parquet("
            "'memory://tokenlake-test/exports/spend_forecast/*.parquet')",
        )
        assert back == [(1.5,)]
        daily = con.execute(
            "select count(*) from read_parquet('memory://tokenlake-test/exports/"
            "agg_usage_daily/**/*.parquet', hive_partitioning = true)"
        ).fetchone()
        assert daily == (75,)


def test_duckdb_file_is_swapped_in_whole(warehouse, tmp_path):
    target = tmp_path / "published" / "tokenlake.duckdb"
    publish_duckdb_file(warehouse, target, NOW)
    reader = duckdb.connect(str(target), read_only=True)  # a BI tool holding the old file
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.agg_usage_daily where usage_date >= date '2026-10-01'")
    counts = publish_duckdb_file(warehouse, target, NOW)
    assert counts["agg_usage_daily"] == 30
    assert reader.execute("select count(*) from agg_usage_daily").fetchone() == (75,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("select count(*) from agg_usage_daily").fetchone() == (30,)
        info = con.execute("select table_name, row_count from _publish_info order by 1").fetchall()
        assert info == [("agg_usage_daily", 30), ("llm_usage_events", 30), ("spend_forecast", 1)]
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert "raw" not in schemas
    assert [p.name for p in target.parent.iterdir()] == ["tokenlake.duckdb"]


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
