"""End-to-end benchmark: what a user runs every hour, `tokenlake run`, full and +1 h, against a
hand-written DuckDB floor doing the same work in the same run.

    python -m benchmarks.cycle_bench --events 1000000 [--events 3000000 ...]

For each size, on a JSONL history of gateway events (benchmarks.ingest_bench.make_input):

* full   `tokenlake run` on a fresh home (ingest, dbt, analytics, publish to the DuckDB file and
         Parquet; no provider keys, no PostgreSQL), as a user's cron runs it: wall time, the
         time of each Dagster step (from the run's event log), peak RSS of the process tree;
* +1h    one more hour of events (the last hour's traffic, shifted, new ids) dropped into the
         logs folder, and `tokenlake run` again;
* +1h same size   one more hour of SAME_SIZE_HOUR events at every size (the +1 h run's hour
         grows with the history's density), and `tokenlake run` again; the report gives each
         +1 h run's wall time over the smallest history's;
* floor  the same work in hand-written DuckDB SQL: read_json of the files, pricing by the
         version in force (benchmarks.marts_bench.HAND_SQL), hourly and daily rollups; for +1 h,
         over the new hour's file only (the least an hourly cycle must do). It runs in its own
         process, in memory without a limit: its time and its peak RSS are both reported.

Results go to $TOKENLAKE_HOME/bench/cycle.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil

from benchmarks.ingest_bench import make_input
from benchmarks.marts_bench import HAND_ROLLUP_MEASURES, HAND_SQL
from orchestration.settings import REPO_ROOT, Settings

TOKENLAKE = str(Path(sys.executable).with_name("tokenlake"))
# Events of the "+1 h, same size" run at every history size.
SAME_SIZE_HOUR = 1_000


class PeakRss:
    """Samples the summed RSS of a process and its descendants until stopped; at the peak, which
    processes held it."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self.at_peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
                sizes: dict[str, int] = {}
                for p in procs:
                    with contextlib.suppress(psutil.Error):  # a child that just ended
                        label = _label(p)
                        sizes[label] = sizes.get(label, 0) + p.memory_info().rss
                total = sum(sizes.values())
                if total > self.peak:
                    self.peak, self.at_peak = total, sizes
            except psutil.Error:
                pass
            self._stop.wait(self.every)


def _label(process: psutil.Process) -> str:
    """A short name for a process of the run: the supervisor, the run itself, dbt, …"""
    args = process.cmdline()
    text = " ".join(args)
    if "--in-process" in args:
        return "run (dagster, ingest, publish)"
    script = Path(args[1] if len(args) > 1 else "").name
    if script in ("dbt", "tokenlake-dbt") or "/dbt " in text or " dbt." in text:
        return "dbt"
    if "orchestration.dbt_standby" in args:  # the run's dbt, started ahead of its step
        return "dbt"
    if script == "tokenlake":
        return "supervisor"
    return Path(args[0]).name if args else "?"


def tokenlake_run(home: Path, logs: Path) -> dict:
    """`tokenlake run` in a child process: wall time, exit code, peak RSS, Dagster step times."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENLAKE_", "DAGSTER_", "OPENAI_", "ANTHROPIC_"))}  # fmt: skip
    env |= {
        "TOKENLAKE_HOME": str(home),
        "TOKENLAKE_LOGS_URL": str(logs),
        # Benchmark data is dated in the past: freshness alerts would only add noise.
        "TOKENLAKE_LOGS_STALE_HOURS": "0",
        "TOKENLAKE_PROVIDER_STALE_HOURS": "0",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [TOKENLAKE, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakRss(proc.pid) as rss:
        out, _ = proc.communicate()
    wall = time.perf_counter() - started
    steps, failed = step_times(home / "dagster")
    if proc.returncode != 0 or failed:
        raise RuntimeError(
            f"tokenlake run exited {proc.returncode}, failed steps {failed}:\n{out[-3000:]}"
        )
    return {
        "wall_s": round(wall, 2),
        "exit_code": proc.returncode,
        "daily_marts": "left out" not in out,
        "peak_rss_mib": round(rss.peak / 2**20),
        "rss_at_peak_mib": {k: round(v / 2**20) for k, v in sorted(rss.at_peak.items())},
        "steps_s": steps,
        "steps_total_s": round(sum(steps.values()), 2),
    }


def step_times(dagster_home: Path) -> tuple[dict[str, float], list[str]]:
    """Seconds per step of the newest run, from Dagster's event log (start to success/failure),
    and the steps that failed."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=1)[0]
        started: dict[str, float] = {}
        took: dict[str, float] = {}
        failed: list[str] = []
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started[event.step_key] = entry.timestamp
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                if event.event_type_value == "STEP_FAILURE":
                    failed.append(event.step_key)
                took[event.step_key] = round(
                    entry.timestamp - started.get(event.step_key, entry.timestamp), 2
                )
    return dict(sorted(took.items(), key=lambda kv: -kv[1])), failed


def write_next_hour(history: Path, target: Path, limit: int | None = None) -> int:
    """The last hour of the history, an hour later, with new request ids, as its own file (its
    first `limit` events only, when given)."""
    first = f'order by "timestamp", request_id, attempt limit {limit}' if limit else ""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"""
            copy (
                select * replace (
                    strftime(cast("timestamp" as timestamptz) + interval 1 hour, '%Y-%m-%dT%H:%M:%S.%gZ')
                        as "timestamp",
                    request_id || '-next' as request_id)
                from read_json('{history}', format = 'newline_delimited')
                where cast("timestamp" as timestamptz) >= (
                    select max(cast("timestamp" as timestamptz)) - interval 1 hour
                    from read_json('{history}', format = 'newline_delimited'))
                {first}
            ) to '{target}' (format json)""")
        return con.execute(f"select count(*) from read_json('{target}')").fetchone()[0]


def hand_floor(files: list[Path]) -> dict:
    """The floor in a child process: its seconds (the SQL alone, as the child times it) and the
    peak RSS of that process, sampled as the `tokenlake run`'s is."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.cycle_bench", "--floor-of", *map(str, files)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with PeakRss(proc.pid) as rss:
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"hand floor exited {proc.returncode}:\n{err[-3000:]}")
    return {"floor_s": json.loads(out)["seconds"], "floor_peak_rss_mib": round(rss.peak / 2**20)}


def floor_seconds(files: list[Path]) -> float:
    """Seconds for the same work in hand-written DuckDB SQL, reading the files themselves: an
    in-memory database, no memory limit (at 10 M events it holds ~18 GB; under a 2 GB limit,
    with spilling, it did not finish)."""
    paths = ", ".join(f"'{f}'" for f in files)
    started = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'; create schema raw")
        con.execute(f"""
            create table raw.usage_events as
            select * replace (cast("timestamp" as timestamptz) as "timestamp")
            from read_json([{paths}], format = 'newline_delimited')""")
        con.execute(
            HAND_SQL.format(
                book=REPO_ROOT / "seeds" / "price_book.csv",
                measures=HAND_ROLLUP_MEASURES,
                contracts=REPO_ROOT / "seeds" / "provider_contracts.csv",
            )
        )
    return round(time.perf_counter() - started, 2)


def bench(events: int, folder: Path) -> dict:
    history = make_input(events, folder)
    run_dir = folder / f"cycle-{events}"
    shutil.rmtree(run_dir, ignore_errors=True)
    logs = run_dir / "logs"
    logs.mkdir(parents=True)
    os.link(history, logs / "history.jsonl")  # the same bytes, no copy

    result: dict = {"events": events}
    print("  full tokenlake run ...", flush=True)
    result["full"] = tokenlake_run(run_dir / "home", logs)
    result["full"] |= hand_floor([history])
    result["full"]["vs_floor"] = round(result["full"]["wall_s"] / result["full"]["floor_s"], 2)

    next_hour = logs / "next-hour.jsonl"
    result["plus_1h_events"] = write_next_hour(history, next_hour)
    print(f"  +1 h tokenlake run ({result['plus_1h_events']:,} events) ...", flush=True)
    result["plus_1h"] = tokenlake_run(run_dir / "home", logs)
    result["plus_1h"] |= hand_floor([next_hour])
    result["plus_1h"]["share_of_full"] = round(
        result["plus_1h"]["wall_s"] / result["full"]["wall_s"], 3
    )

    # The history's own last hour grows with its density (10 M events over the same span carry
    # ~5x the events per hour of 1 M): an hour of the same size at every history size shows what
    # the history alone costs.
    same_hour = logs / "same-size-hour.jsonl"
    result["plus_1h_same_size_events"] = write_next_hour(next_hour, same_hour, SAME_SIZE_HOUR)
    print(f"  +1 h tokenlake run ({result['plus_1h_same_size_events']:,} events) ...", flush=True)
    result["plus_1h_same_size"] = tokenlake_run(run_dir / "home", logs)
    result["plus_1h_same_size"] |= hand_floor([same_hour])
    return result


def history_growth(runs: list[dict]) -> dict[str, float]:
    """Each +1 h run's wall time over the smallest history's (cost flat in history: ~1)."""
    base = min(runs, key=lambda run: run["events"])
    return {
        f"{run['events']}_{kind}": round(run[kind]["wall_s"] / base[kind]["wall_s"], 2)
        for run in runs
        if run is not base
        for kind in ("plus_1h", "plus_1h_same_size")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, action="append", help="sizes (repeatable)")
    parser.add_argument("--floor-of", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_of:  # hand_floor's child process
        print(json.dumps({"seconds": floor_seconds(args.floor_of)}))
        return
    folder = Settings.from_env().home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },  # fmt: skip
        "runs": [],
    }
    for events in args.events or [1_000_000]:
        print(f"== {events:,} events", flush=True)
        run = bench(events, folder)
        report["runs"].append(run)
        print(json.dumps(run, indent=2), flush=True)
    report["plus_1h_vs_smallest_history"] = history_growth(report["runs"])
    out = folder / "cycle.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
