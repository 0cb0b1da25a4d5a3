"""Ending a process that has finished its work without the interpreter's clean-up.

After a run that imported Dagster, dbt and pyarrow, Python's finalisation (freeing every module
and object one by one) takes about a second of the hourly `tokenlake run`, and as much again in
its dbt process. Nothing is left to do by then: files and DuckDB connections are closed by their
owners, and the `atexit` handlers (dbt-duckdb closes its database in one) still run here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn


def finish() -> None:
    """What the interpreter's exit does that matters: run the atexit handlers, flush stdout and
    stderr."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can be written to it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def quick_exit(code: int) -> NoReturn:
    """finish(), then end the process with `code`."""
    finish()
    os._exit(code)


def exit_code(exc: SystemExit) -> int:
    """The status `sys.exit(value)` would end the process with."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message") prints the message and exits 1
    return 1


def status_of(main: Callable[[], object]) -> int:
    """`main()` (which may end with sys.exit), and the status the process would end with. An
    exception that escapes is reported as Python would and is status 1; an interrupt is left to
    the caller."""
    try:
        main()
        return 0
    except SystemExit as exc:
        return exit_code(exc)
    except Exception:  # reported as the interpreter would report it
        sys.excepthook(*sys.exc_info())
        return 1


def run_then_quick_exit(main: Callable[[], object]) -> NoReturn:
    """`main()`, then quick_exit with its status (status_of). An interrupt is left to the
    interpreter, which ends the process by the signal, as the caller expects."""
    quick_exit(status_of(main))
