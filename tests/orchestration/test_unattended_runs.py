"""Unattended `tokenlake run`: hard crashes are recovered by the next run, waits are bounded and
name the run they wait for, SIGTERM/SIGINT stop a run promptly (real processes, real Dagster
storage)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from orchestration import run_guard
from orchestration.dagster_instance import write_dagster_yaml
from orchestration.supervisor import supervise
from tests.conftest import event, write_jsonl

TOKENLAKE = str(Path(sys.executable).with_name("tokenlake"))
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance(tmp_path: Path):
    write_dagster_yaml(tmp_path / "dagster", env={})
    with DagsterInstance.from_config(str(tmp_path / "dagster")) as inst:
        yield inst


def _owned_run(instance: DagsterInstance, pid: int, holds_warehouse: bool = True) -> str:
    run_id = str(uuid.uuid4())
    tags = run_guard.owner_tags(pid)
    instance.add_run(
        DagsterRun(
            job_name="full_pipeline", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags
        )
    )
    if holds_warehouse:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(run_guard.WAREHOUSE_POOL, 1)
        status = storage.claim_concurrency_slot(run_guard.WAREHOUSE_POOL, run_id, "usage_logs")
        assert status.is_claimed
    return run_id


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_whose_process_is_gone_is_marked_failed_and_its_slot_freed(instance):
    dead = _owned_run(instance, _dead_pid())
    said: list[str] = []
    assert run_guard.recover_dead_runs(instance, said.append) == [dead]
    assert instance.get_run_by_id(dead).status == DagsterRunStatus.FAILURE
    assert run_guard.warehouse_holders(instance) == []
    assert "marked failed, slots freed" in said[0]
    run_guard.wait_for_warehouse(instance, timeout_seconds=0)  # free: returns at once


def test_a_reused_pid_is_not_taken_for_the_runs_process(instance):
    run_id = _owned_run(instance, os.getpid())
    tags = dict(instance.get_run_by_id(run_id).tags)
    # The same pid, started at another time: after a reboot it is another process.
    instance.add_run_tags(
        run_id,
        {run_guard.OWNER_STARTED_TAG: f"{float(tags[run_guard.OWNER_STARTED_TAG]) - 3600:.2f}"},
    )
    assert run_guard.recover_dead_runs(instance, lambda _: None) == [run_id]


def test_a_live_run_keeps_its_slot_and_the_wait_is_bounded_and_names_it(instance):
    live = _owned_run(instance, os.getpid())
    assert run_guard.recover_dead_runs(instance, lambda _: None) == []
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(run_guard.WarehouseBusy) as raised:
        run_guard.wait_for_warehouse(
            instance, timeout_seconds=1.0, say=said.append, poll_seconds=0.2
        )
    assert time.monotonic() - started < 10
    assert live[:8] in str(raised.value) and f"pid {os.getpid()}" in str(raised.value)
    assert said and "waiting for the warehouse, held by run " + live[:8] in said[0]
    assert instance.get_run_by_id(live).status == DagsterRunStatus.STARTED


def test_a_run_on_another_host_is_dead_when_its_heartbeat_is_stale(instance):
    run_id = _owned_run(instance, os.getpid(), holds_warehouse=False)
    instance.add_run_tags(run_id, {run_guard.OWNER_HOST_TAG: "elsewhere"})
    assert run_guard.run_is_alive(instance.get_run_by_id(run_id)) is True
    instance.add_run_tags(run_id, {run_guard.HEARTBEAT_TAG: "2020-01-01T00:00:00+00:00"})
    assert run_guard.run_is_alive(instance.get_run_by_id(run_id)) is False


def test_slots_left_by_a_finished_run_are_freed_and_unowned_live_runs_left_alone(instance):
    finished = _owned_run(instance, os.getpid())
    instance.report_run_failed(instance.get_run_by_id(finished))
    unowned = str(uuid.uuid4())
    instance.add_run(DagsterRun(job_name="j", run_id=unowned, status=DagsterRunStatus.STARTED))
    run_guard.recover_dead_runs(instance, lambda _: None)
    assert run_guard.warehouse_holders(instance) == []
    assert instance.get_run_by_id(unowned).status == DagsterRunStatus.STARTED


def test_the_supervisor_kills_a_child_that_ignores_the_stop_and_recovers_it(tmp_path: Path):
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"]  # fmt: skip
    recovered = []
    before = signal.getsignal(signal.SIGTERM)
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    status = supervise(stubborn, grace_seconds=1.0, on_child_killed=lambda: recovered.append(1))
    assert status == 128 + signal.SIGTERM
    assert time.monotonic() - started < 8
    assert recovered == [1]
    assert signal.getsignal(signal.SIGTERM) is before  # handlers put back


# --- the real command ---------------------------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_", "AWS_"))
    }
    return {**clean, "TOKENLAKE_HOME": str(tmp_path / "home"),
            "TOKENLAKE_LOGS_URL": str(tmp_path / "logs"), **extra}  # fmt: skip


def _marts(home: Path) -> tuple:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            """select (select count(*) from raw.usage_events),
                      (select count(*) || '/' || sum(total_cost) from marts.fct_llm_attempts),
                      (select count(*) from marts.fct_llm_requests),
                      (select sum(total_cost) from marts.agg_usage_daily)"""
        ).fetchone()


def _run(env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TOKENLAKE, "run"], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def _kill_when(env: dict[str, str], marker: str, delay: float) -> None:
    """Start `tokenlake run`, and SIGKILL it and its child's whole group once `marker` shows."""
    parent = subprocess.Popen([TOKENLAKE, "run"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    seen = []
    for line in parent.stdout:
        seen.append(line)
        if marker in line or time.monotonic() > deadline:
            break
    assert any(marker in line for line in seen), "".join(seen[-30:])
    time.sleep(delay)
    children = psutil.Process(parent.pid).children()
    parent.kill()  # the OOM killer or a reboot: no handler runs
    for child in children:
        os.killpg(child.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "marker, delay",
    [
        ("usage_logs - STEP_START", 0.0),
        ("dbt_models - STEP_START", 2.0),
        ("publish__duckdb_file - STEP_START", 0.2),
    ],  # fmt: skip
    ids=["ingest", "dbt", "publish"],
)
def test_a_hard_crash_is_recovered_by_the_next_run(tmp_path: Path, marker: str, delay: float):
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(300)])
    clean_env = _env(tmp_path / "clean")
    clean_env["TOKENLAKE_LOGS_URL"] = str(tmp_path / "logs")
    assert _run(clean_env).returncode == 0
    env = _env(tmp_path, TOKENLAKE_WAREHOUSE_WAIT_SECONDS="60")
    _kill_when(env, marker, delay)
    started = time.monotonic()
    result = _run(env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert time.monotonic() - started < 200
    assert "recovered run" in result.stdout
    assert _marts(tmp_path / "home") == _marts(tmp_path / "clean" / "home")


@pytest.mark.slow
def test_sigterm_stops_a_run_waiting_for_the_warehouse_promptly(tmp_path: Path):
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(i) for i in range(5)])
    env = _env(tmp_path, TOKENLAKE_WAREHOUSE_WAIT_SECONDS="600")
    home = tmp_path / "home"
    write_dagster_yaml(home / "dagster", env={})
    with DagsterInstance.from_config(str(home / "dagster")) as inst:
        holder = _owned_run(inst, os.getpid())  # this test process: alive, holding the warehouse
    waiting = subprocess.Popen([TOKENLAKE, "run"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    for line in waiting.stdout:
        if "waiting for the warehouse" in line:
            assert holder[:8] in line
            break
    started = time.monotonic()
    waiting.send_signal(signal.SIGTERM)
    assert waiting.wait(timeout=60) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 30
    waiting.stdout.close()


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda t: {"TOKENLAKE_LOGS_URL": str(t / "nowhere")}, "does not exist"),
        (
            lambda t: {"TOKENLAKE_LOGS_URL": str((t / "empty").mkdir() or t / "empty")},
            "no log file",
        ),
        (
            lambda t: {"TOKENLAKE_PRICE_BOOK": str(t / "prices.csv")},
            "line 3: input_per_mtok 'abc' is not a number",
        ),
        (lambda t: {"TOKENLAKE_ANOMALY_Z": "high"}, "TOKENLAKE_ANOMALY_Z must be a number"),
        # No credentials anywhere (and no instance-metadata lookup): fails before any request.
        (
            lambda t: {
                "TOKENLAKE_LOGS_URL": "s3://no-such-bucket/logs",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": str(t / "none"),
                "AWS_CONFIG_FILE": str(t / "none"),
            },
            "cannot list it (NoCredentialsError",
        ),
        (
            lambda t: {"TOKENLAKE_HOME": "/proc/tokenlake"},
            "TOKENLAKE_HOME: /proc/tokenlake is not a folder",
        ),
    ],  # fmt: skip
    ids=[
        "missing-logs",
        "empty-logs",
        "price-book",
        "bad-number",
        "s3-no-credentials",
        "unwritable-home",
    ],
)
def test_configuration_errors_are_one_line_and_exit_2(tmp_path: Path, setup, expected):
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(1)])
    shipped = (REPO / "seeds" / "price_book.csv").read_text().splitlines()
    (tmp_path / "prices.csv").write_text(
        "\n".join([shipped[0], shipped[1], "openai,my-model,,2026-01-01,USD,abc,1,,,,,,,,,"]) + "\n"
    )
    env = _env(tmp_path, **setup(tmp_path))
    result = _run(env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("tokenlake: ") and expected in result.stderr
    debug = subprocess.run([TOKENLAKE, "run", "--debug"], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def _alerts(home: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(home / "alerts.sqlite") as con:
        return sorted(con.execute("select kind, value from alerts").fetchall())


@pytest.mark.slow
def test_a_silent_source_a_quarantine_spike_and_an_unpriced_model_each_alert_once(tmp_path: Path):
    good = [event(i) for i in range(10)] + [event(10, model="brand-new-model-x")]
    write_jsonl(tmp_path / "logs" / "a.jsonl", good)
    # Logs of a shape the contract does not know (a gateway's own export): all quarantined.
    write_jsonl(
        tmp_path / "logs" / "b.jsonl", [{"ts": 1, "usage": {"tokens": i}} for i in range(30)]
    )
    two_days_ago = time.time() - 2 * 86400
    for name in ("a.jsonl", "b.jsonl"):
        os.utime(tmp_path / "logs" / name, (two_days_ago, two_days_ago))
    env = _env(tmp_path)
    first = _run(env)
    assert first.returncode == 1, first.stdout[-2000:] + first.stderr[-2000:]
    assert "checks FAILED: raw/usage_events:quarantine_share_of_last_load" in first.stderr
    expected = [("quarantine_spike", None), ("stale_source", "usage_logs"),
                ("unpriced_model", "openai/brand-new-model-x")]  # fmt: skip
    found = _alerts(tmp_path / "home")
    assert [(k, v if k != "quarantine_spike" else None) for k, v in found] == expected
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select source, is_stale, hours_silent > 47 from analytics.source_freshness"
        ).fetchall() == [("usage_logs", True, True)]
    second = _run(env)  # nothing new: the spike was the last load's, the silence is the same one
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert len(_alerts(tmp_path / "home")) == 3


def test_dbt_never_outlives_a_step_that_failed_while_it_ran():
    from orchestration.defs.dbt.dbt_cli import streamed_to_the_end

    class Invocation:  # dagster-dbt's DbtCliInvocation as the step sees it
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

        def stream(self):
            yield "an event"
            raise KeyError("model.tokenlake.a_model_the_manifest_lacks")

    invocation = Invocation()
    started = time.monotonic()
    with pytest.raises(KeyError):
        list(streamed_to_the_end(invocation))
    assert invocation.process.poll() is not None  # stopped, not left holding the warehouse
    assert time.monotonic() - started < 30
