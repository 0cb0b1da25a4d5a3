"""Runs that never wait forever: owners, heartbeats, recovery of dead runs, a bounded warehouse wait.

Every run that `tokenlake run` (or `tokenlake demo`) starts is tagged with its owner: host, pid
and the process's start time (a pid can be reused after a reboot). A thread refreshes a
heartbeat tag while the run lives. A run killed hard (SIGKILL, the OOM killer, a reboot) stays
`STARTED` in Dagster's storage and keeps its slot in the `warehouse` pool; without this module
the next run would wait for that slot for ever. Before each run starts:

- a run of ours whose process is gone (same host: the pid is not that process any more; another
  host sharing DAGSTER_PG_URL: no heartbeat for STALE_AFTER) is marked failed and its pool slots
  are freed; slots still held by runs that have finished are freed too;
- while a live run holds the warehouse, the new run waits at most TOKENLAKE_WAREHOUSE_WAIT_SECONDS,
  saying which run holds it, then gives up (exit 3) instead of piling up behind it.

Pool bookkeeping goes through the instance's event-log storage, as Dagster's own daemon does
when it frees the slots of finished runs (dagster._daemon.monitoring.concurrency).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psutil
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

WAREHOUSE_POOL = "warehouse"
OWNER_HOST_TAG = "tokenlake/host"
OWNER_PID_TAG = "tokenlake/pid"
OWNER_STARTED_TAG = "tokenlake/pid_started"
HEARTBEAT_TAG = "tokenlake/heartbeat"
HEARTBEAT_SECONDS = 30.0
# A run on another host whose heartbeat is older than this is dead (ten missed beats).
STALE_AFTER_SECONDS = 300.0
UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
# Process start times are compared to the second (psutil reads them with tick resolution).
START_TIME_TOLERANCE = 1.0


class WarehouseBusy(RuntimeError):
    """A live run held the warehouse longer than the wait allows."""


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def owner_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that name the process a run lives in."""
    pid = os.getpid() if pid is None else pid
    started = _process_started(pid)
    return {
        OWNER_HOST_TAG: socket.gethostname(),
        OWNER_PID_TAG: str(pid),
        OWNER_STARTED_TAG: f"{started:.2f}" if started is not None else "",
        HEARTBEAT_TAG: datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_is_alive(run: DagsterRun, now: datetime | None = None) -> bool | None:
    """True/False for a run tokenlake owns; None for a run without owner tags (not ours)."""
    tags = run.tags
    if OWNER_PID_TAG not in tags:
        return None
    if tags.get(OWNER_HOST_TAG) == socket.gethostname():
        started = _process_started(int(tags[OWNER_PID_TAG]))
        if started is None:
            return False
        recorded = tags.get(OWNER_STARTED_TAG)
        return not recorded or abs(started - float(recorded)) <= START_TIME_TOLERANCE
    beat = tags.get(HEARTBEAT_TAG)
    if not beat:
        return False
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(beat)).total_seconds()
    return age <= STALE_AFTER_SECONDS


def describe_run(run: DagsterRun | None, run_id: str) -> str:
    """Who a run is, for a person deciding what to do about it."""
    if run is None:
        return f"run {run_id[:8]} (no longer in the run storage)"
    tags = run.tags
    owner = (
        f"pid {tags[OWNER_PID_TAG]} on {tags.get(OWNER_HOST_TAG, '?')}, last heartbeat "
        f"{tags.get(HEARTBEAT_TAG, '?')}"
        if OWNER_PID_TAG in tags
        else "launched from the Dagster UI or daemon"
    )
    return f"run {run_id[:8]} of job {run.job_name} ({run.status.value}, {owner})"


def recover_dead_runs(instance: DagsterInstance, say: Callable[[str], None] = print) -> list[str]:
    """Mark tokenlake's dead runs failed and free pool slots no live run holds; the run ids."""
    recovered: list[str] = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if run_is_alive(run) is not False:
            continue
        instance.report_run_failed(
            run,
            message=(
                f"tokenlake: the process of this run ({describe_run(run, run.run_id)}) is gone "
                "(killed, out of memory or a reboot); marked failed so that its pool slots are freed"
            ),
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
        say(f"tokenlake: recovered {describe_run(run, run.run_id)}: marked failed, slots freed")
    # Slots of runs that ended (or were deleted) without releasing them.
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        finished = run is None or run.status in FINISHED
        if finished and instance.event_log_storage.free_concurrency_slots_for_run(run_id):
            say(f"tokenlake: freed the pool slots left by {describe_run(run, run_id)}")
    return recovered


def warehouse_holders(instance: DagsterInstance, exclude: str | None = None) -> list[str]:
    """Run ids holding a slot of the warehouse pool."""
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return sorted({slot.run_id for slot in info.claimed_slots if slot.run_id != exclude})


def wait_for_warehouse(
    instance: DagsterInstance,
    timeout_seconds: float,
    say: Callable[[str], None] = print,
    poll_seconds: float = 2.0,
    report_every: float = 60.0,
) -> None:
    """Return once no run holds the warehouse pool (dead owners recovered on the way);
    WarehouseBusy after `timeout_seconds`, naming the holder."""
    deadline = time.monotonic() + timeout_seconds
    next_report = 0.0
    while True:
        recover_dead_runs(instance, say)
        holders = warehouse_holders(instance)
        if not holders:
            return
        who = "; ".join(describe_run(instance.get_run_by_id(r), r) for r in holders)
        now = time.monotonic()
        if now >= deadline:
            raise WarehouseBusy(
                f"the warehouse is still held after {timeout_seconds:.0f} s by {who}. If that "
                "process is stuck, stop it (or mark the run failed in the Dagster UI) and run again; "
                "TOKENLAKE_WAREHOUSE_WAIT_SECONDS sets how long to wait"
            )
        if now >= next_report:
            say(f"tokenlake: waiting for the warehouse, held by {who}")
            next_report = now + report_every
        time.sleep(min(poll_seconds, max(deadline - now, 0.05)))


@dataclass
class Heartbeat:
    """Refreshes the run's heartbeat tag; gives up the process when a step of the run has been
    blocked on the warehouse pool for longer than the wait allows (a run started alongside
    grabbed it first): the process exits 3 and the run is recovered as dead."""

    instance: DagsterInstance
    run_id: str
    blocked_limit_seconds: float
    every: float = HEARTBEAT_SECONDS

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="tokenlake-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if self.instance.get_run_by_id(self.run_id) is None:
                    continue  # not created yet
                self.instance.add_run_tags(
                    self.run_id, {HEARTBEAT_TAG: datetime.now(UTC).isoformat(timespec="seconds")}
                )
                if self._blocked_for() > self.blocked_limit_seconds:
                    holders = warehouse_holders(self.instance, exclude=self.run_id)
                    who = "; ".join(
                        describe_run(self.instance.get_run_by_id(r), r) for r in holders
                    )
                    print(
                        f"tokenlake: gave up: a step waited {self.blocked_limit_seconds:.0f} s "
                        f"for the warehouse, held by {who or 'another run'}",
                        flush=True,
                    )
                    os._exit(3)
            except Exception as exc:  # a storage hiccup must not end the run
                print(f"tokenlake: heartbeat skipped ({type(exc).__name__})", flush=True)

    def _blocked_for(self) -> float:
        info = self.instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        waiting = [
            p.enqueued_timestamp
            for p in info.pending_steps
            if p.run_id == self.run_id and p.assigned_timestamp is None
        ]
        if not waiting:
            return 0.0
        oldest = min(waiting)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return (datetime.now(UTC) - oldest).total_seconds()
