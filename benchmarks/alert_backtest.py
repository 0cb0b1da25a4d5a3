"""Anomaly alerts backtested on the demo's 90 days: precision and recall for the planted incidents.

    python -m benchmarks.alert_backtest [--events 200000] [--days 60]

The demo (with its realistic noise: weekends, heavy-tailed calls, model mixes) is generated and
built once (ingest + `dbt build`), then every one of the last `--days` days is judged as if it
were the newest complete day (`anomaly_alerts(..., as_of=day)`, the same code the hourly scan
runs), and each message (one per incident) is compared with the manifest's planted incidents:

* a message is a true positive when its day is an incident's day and the incident's scope is
  among its root causes (with the incident's cause as the message's cause, counted apart);
* precision = true positives / messages; recall = incidents found / incidents planted.

Results go to $TOKENLAKE_HOME/bench/alert_backtest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.alerts.anomalies import Thresholds
from orchestration.alerts.scan import anomaly_alerts
from orchestration.settings import DBT_BUILD_ARGS, DBT_PROJECT_DIR, Settings

DBT = str(Path(sys.executable).with_name("dbt"))
END = datetime(2026, 11, 20, 18, tzinfo=UTC)
# The planted incidents the anomaly scan is meant to find (the others are for other checks).
ANOMALY_INCIDENTS = {"prompt_growth": "longer_prompts", "tenant_spike": "more_requests"}


def build(folder: Path, events: int) -> tuple[Path, list[dict]]:
    from demo import generate
    from ingestion.pipeline import warehouse_pipeline
    from ingestion.price_book import user_price_book
    from ingestion.usage_logs.load import load_usage_logs

    demo, warehouse = folder / "demo", folder / "warehouse.duckdb"
    manifest = demo / "manifest.json"
    if not (manifest.exists() and warehouse.exists()):
        generate(demo, events, end=END)
        load_usage_logs(
            warehouse_pipeline("usage_logs", warehouse, folder / "dlt"), str(demo / "logs")
        )
        pipeline = warehouse_pipeline("price_book", warehouse, folder / "dlt")
        pipeline.run(user_price_book(None)).raise_on_failed_jobs()
        target = str(folder / "dbt-target")
        subprocess.run(
            [DBT, *DBT_BUILD_ARGS, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR), "--target-path", target, "--log-path", target],
            env={**os.environ, "TOKENLAKE_WAREHOUSE": str(warehouse)}, check=True,
            capture_output=True,
        )  # fmt: skip
    incidents = [
        i for i in json.loads(manifest.read_text())["incidents"] if i["kind"] in ANOMALY_INCIDENTS
    ]
    return warehouse, incidents


def backtest(warehouse: Path, incidents: list[dict], days: int, t: Thresholds) -> dict:
    messages: list[dict] = []
    started = time.perf_counter()
    last = (END - timedelta(days=1)).date()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        seen: set[str] = set()
        for back in range(days - 1, -1, -1):
            day = last - timedelta(days=back)
            _, alerts = anomaly_alerts(con, Thresholds(**{**t.__dict__, "days_back": 1}), "", day)
            for a in alerts:
                if a.dedup_key in seen:
                    continue  # the outbox would not send it again
                seen.add(a.dedup_key)
                messages.append({"day": str(day), "window_start": a.window_start[:10],
                                 "cause": a.cause, "dimension": a.dimension, "value": a.value,
                                 "root_causes": a.root_causes, "summary": a.summary})  # fmt: skip
    found, true_positive, right_cause = set(), 0, 0
    for m in messages:
        match = next((i for i in incidents if i["date"] == m["window_start"] and any(
            r["dimension"] == i["dimension"] and r["value"] == i["value"]
            for r in m["root_causes"] or [])), None)  # fmt: skip
        m["planted"] = match["kind"] if match else None
        if match:
            true_positive += 1
            found.add(match["kind"])
            right_cause += m["cause"] == ANOMALY_INCIDENTS[match["kind"]]
    return {
        "days_judged": days,
        "first_day": str(last - timedelta(days=days - 1)),
        "last_day": str(last),
        "incidents_planted": len(incidents),
        "messages": len(messages),
        "true_positives": true_positive,
        "right_cause": right_cause,
        "precision": round(true_positive / len(messages), 3) if messages else None,
        "recall": round(len(found) / len(incidents), 3) if incidents else None,
        "price_change_messages": sum(m["cause"] == "price_change" for m in messages),
        "scan_seconds": round(time.perf_counter() - started, 1),
        "false_positives": [m for m in messages if not m["planted"]],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    folder = settings.home / "bench" / f"alerts-{args.events}"
    folder.mkdir(parents=True, exist_ok=True)
    warehouse, incidents = build(folder, args.events)
    thresholds = Thresholds(
        z_threshold=settings.anomaly_z,
        min_excess_usd=settings.anomaly_min_usd,
        min_excess_by_dimension=settings.anomaly_min_usd_by_dimension,
    )
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "events": args.events,
        "thresholds": thresholds.__dict__,
        **backtest(warehouse, incidents, args.days, thresholds),
    }
    out = settings.home / "bench" / "alert_backtest.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(
        f"alert backtest, {result['days_judged']} days ({result['first_day']} .. {result['last_day']}): "
        f"{result['messages']} messages for {result['incidents_planted']} planted incidents; "
        f"precision {result['precision']}, recall {result['recall']}, right cause "
        f"{result['right_cause']}/{result['true_positives']}, price_change {result['price_change_messages']}"
    )
    for m in result["false_positives"]:
        print(f"  not planted: {m['window_start']} {m['cause']}: {m['summary']}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
