"""The run's standby dbt process (orchestration/dbt_standby.py) runs the dbt step's command as the
step's own process would have: its streams, environment, directory and exit status; it serves
one command, ends with the process that started it, and dies with a requester that is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from orchestration import dbt_standby
from orchestration.dbt_process import DBT_STEP_EXECUTABLE
from orchestration.settings import DBT_EXECUTABLE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def standby(monkeypatch: pytest.MonkeyPatch) -> subprocess.Popen:
    """A standby started by this process; its socket in this process's environment."""
    monkeypatch.delenv(dbt_standby.STANDBY_SOCKET, raising=False)  # restored after the test
    dbt_standby.start()
    process = dbt_standby._standby
    assert process is not None
    yield process
    if process.poll() is None:
        process.stdin.close()  # as when this process ends
        process.wait(timeout=30)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_standby_runs_the_command_with_the_callers_streams_environment_and_directory(
    standby: subprocess.Popen, tmp_path: Path
):
    socket_path = os.environ[dbt_standby.STANDBY_SOCKET]
    profiles = tmp_path / "profiles-of-the-caller"
    result = subprocess.run(
        [DBT_STEP_EXECUTABLE, "debug", "--config-dir"],
        env={**os.environ, "DBT_PROFILES_DIR": str(profiles)},  # not in the standby's own
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(profiles) in result.stdout
    # It was the standby that ran it: it ended after its one command, and removed its folder.
    assert standby.wait(timeout=30) == 0
    assert not Path(socket_path).parent.exists()


def test_a_failing_command_ends_with_dbts_own_status_and_message(standby: subprocess.Popen):
    ours = subprocess.run(
        [DBT_STEP_EXECUTABLE, "no-such-command"], capture_output=True, text=True, timeout=120
    )
    assert standby.wait(timeout=30) == 2  # the standby ran it
    dbt = subprocess.run([DBT_EXECUTABLE, "no-such-command"], capture_output=True, text=True)
    assert ours.returncode == dbt.returncode == 2
    assert ours.stderr.replace("tokenlake-dbt", "dbt") == dbt.stderr


def test_without_a_standby_tokenlake_dbt_runs_dbt_itself(tmp_path: Path):
    env = {**os.environ, dbt_standby.STANDBY_SOCKET: str(tmp_path / "no-socket")}
    result = subprocess.run(
        [DBT_STEP_EXECUTABLE, "--help"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_the_standby_ends_with_the_process_that_started_it(tmp_path: Path):
    code = textwrap.dedent("""
        import os
        from orchestration import dbt_standby
        dbt_standby.start()
        print(dbt_standby._standby.pid, os.environ[dbt_standby.STANDBY_SOCKET], flush=True)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    pid, socket_path = out.split()
    assert _wait_until(lambda: _gone(int(pid))), "the standby outlived its process"
    assert _wait_until(lambda: not Path(socket_path).parent.exists())


# A dbt project whose one operation runs until it is stopped (a template loop): no warehouse.
SLOW_PROJECT = {
    "dbt_project.yml": "name: slow\nversion: '1.0'\nprofile: slow\nmacro-paths: ['macros']\n",
    "profiles.yml": "slow:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ':memory:'\n",
    "macros/forever.sql": "{% macro forever() %}{% for i in range(100000) %}"
    "{% for j in range(100000) %}{% endfor %}{% endfor %}{% endmacro %}\n",
}


def _slow_operation(tmp_path: Path) -> subprocess.Popen:
    for name, text in SLOW_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return subprocess.Popen(
        [DBT_STEP_EXECUTABLE, "run-operation", "forever", "--profiles-dir", str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _running_the_operation(standby: subprocess.Popen) -> bool:
    """The standby has taken the request and started dbt (its folder is removed on accept)."""
    return not Path(os.environ[dbt_standby.STANDBY_SOCKET]).parent.exists()


def test_an_interrupt_of_the_requester_stops_dbt_in_the_standby(
    standby: subprocess.Popen, tmp_path: Path
):
    requester = _slow_operation(tmp_path)
    assert _wait_until(lambda: _running_the_operation(standby))
    time.sleep(2)  # dbt is in the loop
    assert requester.poll() is None and standby.poll() is None
    requester.send_signal(signal.SIGINT)  # what Dagster's step sends first
    requester.communicate(timeout=60)
    assert requester.returncode != 0
    assert standby.wait(timeout=30) != 0


def test_a_killed_requester_takes_its_dbt_with_it(standby: subprocess.Popen, tmp_path: Path):
    requester = _slow_operation(tmp_path)
    assert _wait_until(lambda: _running_the_operation(standby))
    time.sleep(2)
    requester.kill()  # Dagster's step, when dbt did not stop after SIGINT
    requester.communicate(timeout=30)
    assert standby.wait(timeout=30) == -signal.SIGKILL


def test_a_standby_that_cannot_start_leaves_the_run_to_start_its_own_dbt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.delenv(dbt_standby.STANDBY_SOCKET, raising=False)

    def no_temp_folder(**_kwargs: object) -> str:
        raise PermissionError("read-only /tmp")

    monkeypatch.setattr(dbt_standby.tempfile, "mkdtemp", no_temp_folder)
    dbt_standby.start()
    assert dbt_standby.STANDBY_SOCKET not in os.environ
    assert "no standby dbt process (read-only /tmp)" in capsys.readouterr().err
