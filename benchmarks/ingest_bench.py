"""Ingest benchmark: the project's log pipeline vs DuckDB's own read_json, same file, same run.

    python -m benchmarks.ingest_bench --events 1000000

Each side runs in a fresh child process (so that peak RSS is its own) into a fresh warehouse
file; the timer covers the ingest only, not interpreter start-up or module imports. Results go to
$TOKENLAKE_HOME/bench/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from orchestration.settings import Settings

NATIVE = """
import sys, time, duckdb
path, db = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
started = time.perf_counter()
con.execute(f"create table usage_events as select * from read_json('{path}', format = 'newline_delimited')")
rows = con.execute("select count(*) from usage_events").fetchone()[0]
print(rows, time.perf_counter() - started)
"""

PROJECT = """
import sys, time
from pathlib import Path
# pyarrow imports pandas on its first array built from Python values (dlt's load-id column):
# module loading is start-up, as in `tokenlake run` and Dagster, which have imported it already.
import pandas
from ingestion.pipeline import warehouse_pipeline
from ingestion.usage_logs.load import load_usage_logs
path, root = sys.argv[1], Path(sys.argv[2])
pipeline = warehouse_pipeline("usage_logs", root / "warehouse.duckdb", root / "dlt")
started = time.perf_counter()
report = load_usage_logs(pipeline, path)
print(report.rows_loaded, time.perf_counter() - started)
"""


def make_input(events: int, folder: Path) -> Path:
    """One JSONL file of `events` gateway records (the demo generator's, concatenated)."""
    target = folder / f"events-{events}.jsonl"
    if target.exists():
        return target
    from demo import generate

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        # The gateway writes ~80 % of the demo's events; ask for enough to cut exactly `events`.
        generate(
            Path(tmp),
            int(events * 1.35),
            seed=1,
            fmt="jsonl",
            end=datetime(2026, 11, 1, tzinfo=UTC),
        )
        written = 0
        with open(target.with_suffix(".part"), "wb") as out:
            for part in sorted((Path(tmp) / "logs" / "gateway").rglob("*.json")):
                for line in part.open("rb"):  # streaming copy; bounded by `events`
                    out.write(line)
                    written += 1
                    if written == events:
                        break
                if written == events:
                    break
        if written < events:
            raise RuntimeError(f"generated only {written} gateway events")
        target.with_suffix(".part").rename(target)
    return target


def measure(script: str, *args: str) -> dict:
    """Run `script` in a child process; its printed (rows, seconds) and its peak RSS."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark child failed: {out}")
    rows, seconds = out.split()[-2:]
    peak_mib = usage.ru_maxrss / 1024  # Linux reports KiB
    return {
        "rows": int(rows),
        "seconds": round(float(seconds), 3),
        "rows_per_s": round(int(rows) / float(seconds)),
        "peak_rss_mib": round(peak_mib, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best is reported")
    args = parser.parse_args()

    settings = Settings.from_env()
    bench_dir = settings.home / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = make_input(args.events, bench_dir)
    print(
        f"input: {data} ({data.stat().st_size / 2**20:.0f} MiB, made in {time.perf_counter() - started:.0f}s)"
    )

    native_runs, project_runs = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(dir=bench_dir) as tmp:
            native_runs.append(measure(NATIVE, str(data), str(Path(tmp) / "native.duckdb")))
        with tempfile.TemporaryDirectory(dir=bench_dir) as tmp:
            project_runs.append(measure(PROJECT, str(data), tmp))
    native = min(native_runs, key=lambda r: r["seconds"])
    project = min(project_runs, key=lambda r: r["seconds"])
    if project["rows"] != args.events or native["rows"] != args.events:
        raise RuntimeError(f"row counts differ: project {project['rows']}, native {native['rows']}")
    ratio = project["rows_per_s"] / native["rows_per_s"]
    result = {
        "benchmark": "ingest",
        "measured_at": datetime.now(UTC).isoformat(),
        "events": args.events,
        "input_mib": round(data.stat().st_size / 2**20, 1),
        "duckdb_read_json": native,
        "tokenlake_ingest": project,
        "throughput_ratio": round(ratio, 3),
        "targets": {
            "throughput_ratio_min": 0.40,
            "throughput_ratio_aim": 0.50,
            "peak_rss_mib_max": 1024,
        },
        "meets_targets": ratio >= 0.40 and project["peak_rss_mib"] <= 1024,
        "all_runs": {"duckdb_read_json": native_runs, "tokenlake_ingest": project_runs},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "max_rss_unit": "MiB",
        },
    }
    out = bench_dir / "ingest.json"
    out.write_text(json.dumps(result, indent=2))
    print(
        f"DuckDB read_json : {native['rows_per_s']:>9,} rows/s ({native['seconds']:.2f}s, peak RSS {native['peak_rss_mib']:.0f} MiB)\n"
        f"tokenlake ingest : {project['rows_per_s']:>9,} rows/s ({project['seconds']:.2f}s, peak RSS {project['peak_rss_mib']:.0f} MiB)\n"
        f"ratio            : {ratio:.1%} (target >= 40 %, aim 50 %)\n"
        f"written to {out}"
    )


if __name__ == "__main__":
    main()
