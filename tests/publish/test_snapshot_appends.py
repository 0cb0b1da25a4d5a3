"""An hour of new events adds one file to the newest day of the snapshot instead of rewriting
the day; any other change to the day, a newer day, or too many files rewrite it as one file.
Every version reads back equal to the warehouse, in the snapshot, the DuckDB file and the
Parquet exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import orchestration.publish.snapshot as snapshot_module
from orchestration.publish import part_files
from orchestration.publish.catalog import attach_warehouse
from orchestration.publish.duckdb_file import publish_duckdb_file
from orchestration.publish.parquet import export_parquet
from orchestration.publish.snapshot import Snapshot, refresh_snapshot
from tests.support.attempts_view import create_attempts_over_requests

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TABLE = "fct_llm_attempts"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Attempts every 2 hours over 2026-11-01 .. 2026-11-03, all from one dbt run."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""
            create table marts.fct_llm_attempts as
            select 'r' || lpad(cast(i as varchar), 3, '0') as request_id, 1 as attempt,
                   timestamp '2026-11-01 00:30' + to_hours(i * 2) as event_at,
                   cast(i as decimal(18, 6)) as total_cost,
                   timestamp '2026-11-20 10:00' as priced_at
            from range(36) t(i)
        """)
    return path


def add_hour(warehouse: Path, hour: str, stamp: str, count: int = 3) -> None:
    """A dbt run that priced `count` new attempts in `hour`."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"""
            insert into marts.fct_llm_attempts
            select 'n{stamp[-5:-3]}-' || i, 1, timestamp '{hour}' + to_minutes(i), 1.5,
                   timestamp '{stamp}'
            from range({count}) t(i)
        """)


def files_of(snapshot: Snapshot, day: str) -> list[str]:
    return snapshot.manifest.tables[TABLE].parts[day].files


def assert_reads_back(snapshot: Snapshot, warehouse: Path, tmp_path: Path) -> None:
    """The snapshot, a DuckDB file published from it and Parquet exported from it all hold the
    warehouse's rows, each once."""
    target = tmp_path / "published" / "tokenlake.duckdb"
    publish_duckdb_file(snapshot, target, NOW)
    exports = tmp_path / "exports"
    export_parquet(snapshot, str(exports))
    with attach_warehouse(warehouse) as con:
        expected = sorted(con.execute(f"select * from wh.marts.{TABLE}").fetchall())
        assert sorted(con.execute(snapshot.select_sql(TABLE)).fetchall()) == expected
        exported = con.execute(
            f"select * from read_parquet('{exports}/{TABLE}/**/*.parquet', hive_partitioning = false)"
        ).fetchall()
        assert sorted(exported) == expected
    with duckdb.connect(str(target), read_only=True) as con:
        assert sorted(con.execute(f"select * from {TABLE}").fetchall()) == expected


def test_an_hour_of_new_events_is_one_more_file_of_the_newest_day(warehouse, tmp_path):
    store = tmp_path / "store"
    first = refresh_snapshot(warehouse, store)
    day_file = files_of(first, "2026-11-03")
    add_hour(warehouse, "2026-11-03 23:00", "2026-11-20 11:00")
    second = refresh_snapshot(warehouse, store)
    assert second.written == {TABLE: ["2026-11-03"]}
    assert second.rows_written == 3  # the hour, not the day
    files = files_of(second, "2026-11-03")
    assert files[:1] == day_file and len(files) == 2
    assert second.manifest.tables[TABLE].parts["2026-11-03"].rows == 12 + 3
    assert_reads_back(second, warehouse, tmp_path)
    # The added file is sorted by request for lookups, like the day's own file.
    with duckdb.connect() as con:
        ids = con.execute(f"select request_id from '{store / files[1]}'").fetchall()
    assert ids == sorted(ids)
    assert refresh_snapshot(warehouse, store).written == {}


def test_a_changed_row_of_the_newest_day_rewrites_it_as_one_file(warehouse, tmp_path):
    store = tmp_path / "store"
    refresh_snapshot(warehouse, store)
    add_hour(warehouse, "2026-11-03 23:00", "2026-11-20 11:00")
    refresh_snapshot(warehouse, store)
    with duckdb.connect(str(warehouse)) as con:  # a price correction, and a new hour
        con.execute(
            "update marts.fct_llm_attempts set total_cost = -1, "
            "priced_at = timestamp '2026-11-20 12:00' where request_id = 'r030'"
        )
    add_hour(warehouse, "2026-11-03 23:30", "2026-11-20 12:00")
    third = refresh_snapshot(warehouse, store)
    assert third.written == {TABLE: ["2026-11-03"]} and third.rows_written == 12 + 6
    assert len(files_of(third, "2026-11-03")) == 1
    assert_reads_back(third, warehouse, tmp_path)


def test_a_deleted_row_of_the_newest_day_rewrites_it(warehouse, tmp_path):
    """The added rows make up for the deleted one in the count: the older rows show it."""
    store = tmp_path / "store"
    refresh_snapshot(warehouse, store)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.fct_llm_attempts where request_id = 'r031'")
    add_hour(warehouse, "2026-11-03 23:00", "2026-11-20 11:00", count=1)
    second = refresh_snapshot(warehouse, store)
    assert len(files_of(second, "2026-11-03")) == 1
    assert_reads_back(second, warehouse, tmp_path)


def test_a_day_that_is_no_longer_the_newest_becomes_one_file(warehouse, tmp_path):
    store = tmp_path / "store"
    refresh_snapshot(warehouse, store)
    add_hour(warehouse, "2026-11-03 22:00", "2026-11-20 11:00")
    add_then = refresh_snapshot(warehouse, store)
    export_parquet(add_then, str(tmp_path / "exports"))
    assert (tmp_path / "exports" / TABLE / "month=2026-11" / "2026-11-03_1.parquet").exists()
    add_hour(warehouse, "2026-11-04 00:00", "2026-11-20 12:00")  # after midnight
    next_day = refresh_snapshot(warehouse, store)
    assert next_day.written == {TABLE: ["2026-11-03", "2026-11-04"]}
    assert len(files_of(next_day, "2026-11-03")) == 1
    assert_reads_back(next_day, warehouse, tmp_path)
    assert not (tmp_path / "exports" / TABLE / "month=2026-11" / "2026-11-03_1.parquet").exists()


def test_the_newest_day_is_rewritten_once_it_holds_the_most_files(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot_module, "MAX_PART_FILES", 3)
    store = tmp_path / "store"
    refresh_snapshot(warehouse, store)
    counts = []
    for hour in (20, 21, 22):
        add_hour(warehouse, f"2026-11-03 {hour}:00", f"2026-11-20 {hour - 9}:00")
        counts.append(len(files_of(refresh_snapshot(warehouse, store), "2026-11-03")))
    assert counts == [2, 3, 1]


def test_rows_added_to_the_attempts_view_are_counted_from_its_tables(tmp_path):
    """mart_request_attempts over the attempts and their requests (as dbt builds it): a new
    request's attempts in the newest day are one more file, and an older request re-priced in
    the same run makes the day a rewrite."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_attempts_over_requests(
            con,
            """
            select 'r' || (i // 2) as request_id, i % 2 + 1 as attempt,
                   timestamp '2026-11-01 00:00' + to_hours(i * 6) as event_at,
                   timestamp '2026-11-20 10:00' as priced_at
            from range(12) t(i)
            """,
        )
    store = tmp_path / "store"
    refresh_snapshot(path, store)

    def new_request(request_id: str, stamp: str) -> None:
        with duckdb.connect(str(path)) as con:
            con.execute(
                f"insert into marts.fct_llm_attempts values ('{request_id}', 1, "
                f"timestamp '2026-11-03 23:00', timestamp '{stamp}')"
            )
            con.execute(f"insert into marts.fct_llm_requests values ('{request_id}', '{stamp}')")

    new_request("r9", "2026-11-20 11:00")
    second = refresh_snapshot(path, store)
    view = second.manifest.tables["mart_request_attempts"]
    assert second.written["mart_request_attempts"] == ["2026-11-03"]
    assert len(view.parts["2026-11-03"].files) == 2
    new_request("r10", "2026-11-20 12:00")
    with duckdb.connect(str(path)) as con:  # r5 (attempts on 11-03) re-priced
        con.execute(
            "update marts.fct_llm_requests set priced_at = '2026-11-20 12:00' "
            "where request_id = 'r5'"
        )
    third = refresh_snapshot(path, store)
    assert len(third.manifest.tables["mart_request_attempts"].parts["2026-11-03"].files) == 1
    with attach_warehouse(path) as con:
        assert sorted(con.execute(third.select_sql("mart_request_attempts")).fetchall()) == sorted(
            con.execute("select * from wh.marts.mart_request_attempts").fetchall()
        )


def test_added_rows_that_disagree_with_the_fingerprint_rewrite_the_day(
    warehouse, tmp_path, monkeypatch
):
    """A safeguard: if the rows written for the hour are not the rows the fingerprint counted,
    the day is written whole instead of keeping a file that may miss or repeat rows."""
    store = tmp_path / "store"
    refresh_snapshot(warehouse, store)
    written = part_files.write_added_rows

    def miscounted(*args, **kwargs):
        relative, count = written(*args, **kwargs)
        return relative, count + 1

    monkeypatch.setattr(part_files, "write_added_rows", miscounted)
    add_hour(warehouse, "2026-11-03 23:00", "2026-11-20 11:00")
    second = refresh_snapshot(warehouse, store)
    assert len(files_of(second, "2026-11-03")) == 1 and second.rows_written == 15
    assert not list((store / "data" / TABLE).glob("*added*"))
    assert_reads_back(second, warehouse, tmp_path)
