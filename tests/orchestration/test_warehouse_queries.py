"""Small warehouse reads from checks and sensors while another process writes the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import warehouse
from orchestration.settings import Settings

HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("insert into t values (2)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def settings_for(path: Path, monkeypatch) -> Settings:
    monkeypatch.setenv("TOKENLAKE_HOME", str(path.parent))
    monkeypatch.setenv("TOKENLAKE_WAREHOUSE", str(path))
    return Settings.from_env()


def test_a_read_waits_for_a_writer_in_another_process(tmp_path: Path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 1 as x")
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), "3"], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "locked"
    started = time.monotonic()
    rows = warehouse.query(settings_for(path, monkeypatch), "select sum(x) from t")
    assert writer.wait(timeout=30) == 0
    assert rows == [(3,)]  # read after the writer committed and let go
    assert time.monotonic() - started > 1


def test_other_errors_are_not_retried(tmp_path: Path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    path.write_text("not a database")
    started = time.monotonic()
    with pytest.raises(duckdb.Error):
        warehouse.query(settings_for(path, monkeypatch), "select 1")
    assert time.monotonic() - started < 5
