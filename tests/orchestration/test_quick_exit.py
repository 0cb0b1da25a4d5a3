"""Processes that end without the interpreter's clean-up still end as Python would have: the same
status, every line written, the atexit handlers run; and `tokenlake-dbt` is dbt."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from orchestration.dbt_process import DBT_STEP_EXECUTABLE
from orchestration.settings import DBT_EXECUTABLE

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60
    )


PROLOGUE = """
    import atexit, sys
    from pathlib import Path
    from orchestration.quick_exit import run_then_quick_exit
    atexit.register(lambda: Path(sys.argv[0]).with_name("atexit-ran").write_text("yes"))
    sys.stdout.write("no newline, still buffered")
"""


def test_the_status_of_sys_exit_output_and_atexit_handlers_are_kept(tmp_path: Path):
    result = _python(PROLOGUE + "    run_then_quick_exit(lambda: sys.exit(5))\n", tmp_path)
    assert result.returncode == 5
    assert result.stdout == "no newline, still buffered"
    assert (tmp_path / "atexit-ran").read_text() == "yes"


def test_returning_normally_is_status_0_and_a_message_exit_is_1(tmp_path: Path):
    assert _python(PROLOGUE + "    run_then_quick_exit(lambda: None)\n", tmp_path).returncode == 0
    result = _python(
        PROLOGUE + "    run_then_quick_exit(lambda: sys.exit('bad input'))\n", tmp_path
    )
    assert (result.returncode, result.stderr.strip()) == (1, "bad input")


def test_an_escaping_exception_is_reported_with_its_traceback_and_status_1(tmp_path: Path):
    code = PROLOGUE + "    def main():\n        raise RuntimeError('boom')\n"
    result = _python(code + "    run_then_quick_exit(main)\n", tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr
    assert (tmp_path / "atexit-ran").read_text() == "yes"


def test_dagster_starts_tokenlake_dbt_which_answers_as_dbt_does():
    assert Path(DBT_STEP_EXECUTABLE).name == "tokenlake-dbt"
    for args in (["--help"], ["no-such-command"]):
        ours = subprocess.run([DBT_STEP_EXECUTABLE, *args], capture_output=True, text=True)
        dbt = subprocess.run([DBT_EXECUTABLE, *args], capture_output=True, text=True)
        assert ours.returncode == dbt.returncode == (0 if args == ["--help"] else 2)
        assert ours.stdout.replace("tokenlake-dbt", "dbt") == dbt.stdout
        assert ours.stderr.replace("tokenlake-dbt", "dbt") == dbt.stderr
