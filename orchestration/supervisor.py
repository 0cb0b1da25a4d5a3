"""`tokenlake run` as a small parent process that always stops when told to.

While Dagster executes a job it captures SIGINT/SIGTERM and acts on them only inside a step's
code: a run waiting for the warehouse pool, or between steps, ignores them. So the job runs in a
child process (its own process group, dbt's processes included) and this parent, which imports
nothing heavy, turns the first SIGTERM or SIGINT into a SIGINT for the child's group. A child
that has not ended `grace_seconds` later is killed, and its run is then recovered at once
(marked failed, pool slots freed) instead of at the next run's start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

# Exit status of a run the recovery found dead, or that gave up waiting for the warehouse.
EXIT_WAREHOUSE_BUSY = 3


def supervise(
    command: Sequence[str],
    grace_seconds: float,
    on_child_killed: Callable[[], None],
    poll_seconds: float = 0.2,
) -> int:
    """Run `command` in its own process group; its exit status, or 128 + the signal."""
    child = subprocess.Popen(list(command), start_new_session=True)
    stop: dict[str, float | int] = {}

    def on_signal(signum: int, _frame: object) -> None:
        if stop:
            return
        stop.update(signum=signum, at=time.monotonic())
        print(
            f"tokenlake: {signal.Signals(signum).name} received: stopping the run "
            f"(killed if still running in {grace_seconds:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        _signal_group(child.pid, signal.SIGINT)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    killed = False
    try:
        while child.poll() is None:
            if stop and time.monotonic() - float(stop["at"]) > grace_seconds:
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
                killed = True
                break
            # Returns as soon as the child ends (subprocess polls every 50 ms at most).
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=poll_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # Whatever ended the child, none of its processes may outlive it (a dbt still writing the
    # warehouse would hold the file's lock).
    _signal_group(child.pid, signal.SIGKILL)
    if killed or child.returncode < 0 or child.returncode == EXIT_WAREHOUSE_BUSY:
        on_child_killed()
    if stop:
        return 128 + int(stop["signum"])
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
