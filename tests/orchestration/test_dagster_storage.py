"""The instance `tokenlake` writes: Dagster's local SQLite files, kept through one engine per file."""

import threading
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dagster_instance import write_dagster_yaml
from orchestration.dagster_storage import OPEN_ENGINES, EngineKeepingSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-11-13")


@dg.asset(partitions_def=DAYS)
def daily_numbers(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"day": context.partition_key})


@dg.asset
def totals() -> None:
    return None


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    write_dagster_yaml(home, env={})
    return home


def event_log_storage(instance: dg.DagsterInstance) -> EngineKeepingSqliteEventLogStorage:
    storage = instance._event_storage  # noqa: SLF001
    # Child processes get it wrapped in Dagster's delegating storage, DagsterInstance.get() plain.
    storage = getattr(storage, "_storage", None) and storage._storage.event_log_storage or storage
    assert isinstance(storage, EngineKeepingSqliteEventLogStorage)
    return storage


def test_runs_land_in_dagster_s_own_files_and_a_stock_instance_reads_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    days = DAYS.get_partition_keys()
    with dg.DagsterInstance.get() as instance:
        for day in days:  # a run, and a run file, per day: more files than engines kept open
            assert dg.materialize([daily_numbers], instance=instance, partition_key=day).success
        assert dg.materialize([totals], instance=instance).success
        storage = event_log_storage(instance)
        assert 0 < len(storage._engines) <= OPEN_ENGINES  # noqa: SLF001
        runs = {r.run_id for r in instance.get_runs()}

    assert (home / "history" / "runs.db").exists()
    assert (home / "schedules" / "schedules.db").exists()
    assert {p.stem for p in (home / "history" / "runs").glob("*.db")} == runs | {"index"}
    # Opened by its path, without DAGSTER_HOME (as tests and scripts do).
    monkeypatch.delenv("DAGSTER_HOME")
    with dg.DagsterInstance.from_config(str(home)) as by_path:
        assert {r.run_id for r in by_path.get_runs()} == runs
    # Dagster's stock SQLite storage on the same folder sees the same runs and materialisations.
    stock = home.parent / "stock"
    stock.mkdir()
    (stock / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\n")
    with dg.DagsterInstance.from_config(str(stock)) as plain:
        assert {r.run_id for r in plain.get_runs()} == runs
        assert plain.get_materialized_partitions(daily_numbers.key) == set(days)
        latest = plain.get_latest_materialization_event(daily_numbers.key)
        assert latest.asset_materialization.metadata["day"].value == days[-1]
        assert plain.get_latest_materialization_event(totals.key) is not None


def test_events_stored_from_several_threads_are_all_kept(home: Path):
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([totals], instance=instance)
        before = len(instance.all_logs(result.run_id))
        run = instance.get_run_by_id(result.run_id)

        def report(thread: int) -> None:
            for i in range(40):
                instance.report_engine_event(f"thread {thread} event {i}", run)

        threads = [threading.Thread(target=report, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        messages = [e.message for e in instance.all_logs(result.run_id)]
        assert len(messages) == before + 160
        assert {f"thread {t} event {i}" for t in range(4) for i in range(40)} <= set(messages)


def test_a_wiped_instance_starts_empty_and_takes_new_runs(home: Path):
    with dg.DagsterInstance.get() as instance:
        first = dg.materialize([daily_numbers], instance=instance, partition_key="2026-11-02")
        instance.wipe()
        assert not (home / "history" / "runs" / f"{first.run_id}.db").exists()
        assert instance.get_materialized_partitions(daily_numbers.key) == set()
        second = dg.materialize([daily_numbers], instance=instance, partition_key="2026-11-03")
        assert second.success
        assert instance.get_materialized_partitions(daily_numbers.key) == {"2026-11-03"}
