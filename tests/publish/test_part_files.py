"""part_files: the days of a table written side by side, one cursor per DuckDB thread; a view over
a join a week of days per COPY."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from orchestration.publish.fingerprints import NO_DATE
from orchestration.publish.part_files import side_by_side
from orchestration.publish.snapshot import refresh_snapshot
from tests.support.attempts_view import create_attempts_over_requests


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("select current_setting('threads')").fetchone()[0])


def test_each_key_once_on_one_thread_per_cursor_results_in_key_order() -> None:
    con = duckdb.connect()
    con.execute("set threads = 2")
    seen: list[tuple[str, int, str]] = []

    def work(cursor: duckdb.DuckDBPyConnection, key: str) -> str:
        seen.append((key, _threads(cursor), threading.current_thread().name))
        (value,) = cursor.execute("select ? || '!'", [key]).fetchone()
        return value

    keys = [f"2026-11-{day:02d}" for day in range(1, 21)]
    assert side_by_side(con, keys, work) == [f"{key}!" for key in keys]
    assert sorted(key for key, _, _ in seen) == keys
    assert {threads for _, threads, _ in seen} == {1}  # each statement runs on its caller alone
    assert all(name.startswith("publish") for _, _, name in seen)
    assert _threads(con) == 2  # the connection's own setting is back


def test_one_thread_runs_the_keys_in_the_callers_thread() -> None:
    con = duckdb.connect()
    con.execute("set threads = 1")
    names = side_by_side(con, ["a", "b"], lambda cursor, key: threading.current_thread().name)
    assert names == [threading.current_thread().name] * 2


def test_the_first_error_interrupts_the_others_and_is_raised() -> None:
    """A failing day stops the day being written beside it (a statement that would run for
    minutes on one thread) instead of waiting for it, and the connection is usable after."""
    con = duckdb.connect()
    con.execute("set threads = 2")
    started = threading.Event()

    def work(cursor: duckdb.DuckDBPyConnection, key: str) -> int:
        if key == "slow":
            started.set()
            return cursor.execute("select count(*) from range(100000000000) t(i) where i % 7 = 3").fetchone()[0]  # fmt: skip
        assert started.wait(10)
        time.sleep(0.2)  # the slow statement is running
        raise ValueError(f"cannot write {key}")

    began = time.monotonic()
    with pytest.raises(ValueError, match="cannot write broken"):
        side_by_side(con, ["slow", "broken", "never-1", "never-2"], work)
    assert time.monotonic() - began < 20
    assert _threads(con) == 2
    assert con.execute("select 42").fetchone() == (42,)


def test_a_view_over_a_join_is_written_a_week_of_days_per_copy_each_day_its_own_file(tmp_path):
    """mart_request_attempts (the attempts joined to their requests) over 20 days and a NULL
    date: three weeks' COPYs, each day's file holds that day's rows (sorted by request), and the
    snapshot reads back the view's rows."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_attempts_over_requests(
            con,
            """
            select 'r' || (i * 7919 % 61) as request_id, i // 61 + 1 as attempt,
                   case when i = 5 then null
                        else timestamp '2026-11-01 00:30' + to_hours(i * 4) end as event_at,
                   timestamp '2026-11-20 10:00' as priced_at
            from range(120) t(i)
            """,
        )
    snapshot = refresh_snapshot(path, tmp_path / "store")
    table = snapshot.manifest.tables["mart_request_attempts"]
    assert len(table.parts) == 21 and NO_DATE in table.parts
    with duckdb.connect(str(path)) as con:
        for key, part in table.parts.items():
            assert len(part.files) == 1
            rows = con.execute(
                f"select request_id, event_at from read_parquet('{snapshot.store / part.files[0]}')"
            ).fetchall()
            assert [r[0] for r in rows] == sorted(r[0] for r in rows)
            days = {None if r[1] is None else r[1].date().isoformat() for r in rows}
            assert days == {None if key == NO_DATE else key}
        read_back = sorted(con.execute(snapshot.select_sql("mart_request_attempts")).fetchall())
        assert read_back == sorted(
            con.execute("select * from marts.mart_request_attempts").fetchall()
        )
        assert len(read_back) == 120
