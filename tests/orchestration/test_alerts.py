"""Alerts end to end: anomaly scans on real warehouses, the outbox, and a real HTTP receiver."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from orchestration.alerts.model import Alert
from orchestration.alerts.notifier import Notifier, deliver_pending, slack_message
from orchestration.alerts.outbox import Outbox
from tests.conftest import Warehouse, event, write_jsonl
from tests.dbt.test_marts import END
from tests.support.dbt_cli import dbt

SECRET_PATH = "/services/T000/B000/s3cr3t-hook-token"


class Receiver:
    """A webhook receiver on a loopback port that can go down and come back on the same port."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.messages: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECRET_PATH}"

    def up(self) -> Receiver:
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver():
    r = Receiver().up()
    yield r
    r.down()


def alert(key: str, value: str = "code_review", cause: str = "longer_prompts") -> Alert:
    return Alert(
        kind="anomaly", severity="warning", title=f"Spend anomaly: feature {value}",
        summary=f"feature {value} cost $12.00, 3.0x its usual $4.00: mostly longer prompts.",
        dimension="feature", value=value, window_start="2026-11-17T00:00:00",
        window_end="2026-11-18T00:00:00", observed=12.0, expected=4.0, cause=cause,
        cause_detail="longer_prompts +7.50", link="http://127.0.0.1:3000/assets/x", dedup_key=key,
    )  # fmt: skip


def test_receiver_down_keeps_the_alert_pending_until_a_later_tick(tmp_path: Path, receiver):
    outbox = Outbox(tmp_path / "alerts.sqlite")
    notifier = Notifier(receiver.url, timeout_seconds=2)
    assert outbox.add(alert("a1"))
    receiver.down()
    report = deliver_pending(outbox, notifier)
    assert (report.delivered, report.failed) == (0, 1)
    assert outbox.counts() == {"pending": 1}
    assert "s3cr3t" not in report.errors[0]  # errors name the host, never the URL
    receiver.up()
    assert deliver_pending(outbox, notifier).delivered == 1
    assert outbox.counts() == {"delivered": 1}
    assert [m["dedup_key"] for m in receiver.messages] == ["a1"]
    assert set(receiver.messages[0]) >= {"kind", "severity", "title", "summary", "dimension",
                                         "value", "window_start", "window_end", "observed",
                                         "expected", "cause", "cause_detail", "link", "dedup_key"}  # fmt: skip


def test_same_anomaly_next_tick_and_cooldown_send_no_second_message(tmp_path: Path, receiver):
    outbox = Outbox(tmp_path / "alerts.sqlite")
    notifier = Notifier(receiver.url)
    now = datetime(2026, 11, 18, 6, tzinfo=UTC)
    outbox.add(alert("a1"), now)
    deliver_pending(outbox, notifier, now)
    assert not outbox.add(alert("a1"), now + timedelta(hours=1))  # found again: same dedup_key
    outbox.add(alert("a1-hour-09"), now + timedelta(hours=1))  # same thing, same cause, new window
    report = deliver_pending(outbox, notifier, now + timedelta(hours=1))
    assert (report.delivered, report.suppressed) == (0, 1)
    outbox.add(alert("a1-later"), now + timedelta(hours=30))  # after the 24 h cool-down
    assert deliver_pending(outbox, notifier, now + timedelta(hours=30)).delivered == 1
    assert len(receiver.messages) == 2


def test_slack_hooks_get_text_and_blocks():
    message = slack_message(alert("s1"))
    assert message["text"].startswith(":warning: Spend anomaly: feature code_review")
    assert message["blocks"][0]["type"] == "header"
    assert "mostly longer prompts" in message["blocks"][1]["text"]["text"]


def scan(home: Path, monkeypatch, webhook: str | None) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv("TOKENLAKE_HOME", str(home))
    monkeypatch.delenv("TOKENLAKE_WAREHOUSE", raising=False)
    if webhook:
        monkeypatch.setenv("TOKENLAKE_WEBHOOK_URL", webhook)
    from orchestration.definitions import defs

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("forecast_and_scan").execute_in_process(instance=instance)
        logs = [serialize_value(e) for e in instance.all_logs(result.run_id)]
    assert result.success
    assert not any("s3cr3t" in line for line in logs)  # the webhook URL is never in Dagster's log
    return result


def deliver(home: Path, url: str) -> None:
    deliver_pending(Outbox(home / "alerts.sqlite"), Notifier(url))


@pytest.mark.slow
def test_planted_incidents_each_produce_exactly_one_alert(tmp_path_factory, monkeypatch, receiver):
    from demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, 200_000, end=END)  # the size `make demo` uses, with the default thresholds
    home = tmp_path_factory.mktemp("home")
    warehouse = Warehouse(home)
    warehouse.ingest(out / "logs")
    warehouse.load_price_book(None)
    assert dbt("build", warehouse=warehouse.path).returncode == 0
    incidents = {i["kind"]: i for i in json.loads((out / "manifest.json").read_text())["incidents"]}

    result = scan(home, monkeypatch, receiver.url)
    deliver(home, receiver.url)
    anomalies = [m for m in receiver.messages if m["kind"] == "anomaly"]
    # Each incident: one message for its scope on its day (its day and hours found, one sent).
    per_incident = Counter(
        (m["dimension"], m["value"], m["window_start"][:10], m["cause"]) for m in anomalies
    )
    growth, spike = incidents["prompt_growth"], incidents["tenant_spike"]
    on_growth_day = {k: n for k, n in per_incident.items()
                     if k[:3] == ("feature", growth["value"], growth["date"])}  # fmt: skip
    on_spike_day = {k: n for k, n in per_incident.items()
                    if k[:3] == ("tenant", spike["value"], spike["date"])}  # fmt: skip
    assert on_growth_day == {("feature", "code_review", growth["date"], "longer_prompts"): 1}
    assert on_spike_day == {("tenant", spike["value"], spike["date"], "more_requests"): 1}
    # Incidents, not rows: the demo's realistic noise adds at most two messages, and each
    # planted incident's message is the only one of its day.
    assert len(anomalies) <= 2 + 2, [m["summary"] for m in anomalies]
    for incident in (growth, spike):
        assert [m["window_start"][:10] for m in anomalies].count(incident["date"]) == 1
    growth_alert = next(m for m in anomalies if m["window_start"][:10] == growth["date"])
    assert growth_alert["root_causes"][0] == {
        "dimension": "feature", "value": "code_review", "cause": "longer_prompts",
        "excess_usd": growth_alert["root_causes"][0]["excess_usd"]}  # fmt: skip
    assert "mostly longer prompts" in growth_alert["summary"]
    # No price version or contract starts in the demo's last weeks: no price_change cause.
    assert not [m for m in anomalies if m["cause"] == "price_change"]
    # The forecast asset reported its projection, interval and backtest.
    forecast = result.asset_materializations_for_node("analytics__spend_forecast")[0].metadata
    assert forecast["organisation_status"].value == "ok"
    assert "backtest_interval_coverage" in forecast and "plot" in forecast

    # The next scan finds the same anomalies: no second message.
    before = len(receiver.messages)
    scan(home, monkeypatch, receiver.url)
    deliver(home, receiver.url)
    assert len(receiver.messages) == before


@pytest.mark.slow
def test_a_month_of_clean_traffic_produces_no_anomaly(tmp_path: Path, monkeypatch, receiver):
    """Steady synthetic traffic: the same calls every hour of every day for 35 days."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    records = []
    for d in range(35):
        for h in range(24):
            for k, feature in enumerate(("chat", "search", "summaries")):
                moment = start + timedelta(days=d, hours=h, minutes=7 * k)
                records.append(event(len(records), timestamp=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     feature=feature, tenant_id=f"tenant-{k}",
                                     input_tokens=2000 + (d * 7 + h) % 5,
                                     output_tokens=300, cache_read_tokens=0))  # fmt: skip
    write_jsonl(tmp_path / "logs" / "steady.jsonl", records)
    home = tmp_path / "home"
    warehouse = Warehouse(home)
    warehouse.ingest(tmp_path / "logs")
    warehouse.load_price_book(None)
    assert dbt("build", warehouse=warehouse.path).returncode == 0
    monkeypatch.setenv("TOKENLAKE_ANOMALY_MIN_USD", "0.01")  # even tiny excess would alert
    scan(home, monkeypatch, receiver.url)
    deliver(home, receiver.url)
    assert [m for m in receiver.messages if m["kind"] == "anomaly"] == []


@pytest.mark.slow
def test_a_failing_run_sends_one_failure_notification(tmp_path: Path, receiver):
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(b"not a database\n" * 1000)  # the run fails
    write_jsonl(tmp_path / "logs" / "a.jsonl", [event(1)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))}
    env |= {"TOKENLAKE_HOME": str(home), "TOKENLAKE_LOGS_URL": str(tmp_path / "logs"),
            "TOKENLAKE_WEBHOOK_URL": receiver.url}  # fmt: skip
    tokenlake = str(Path(sys.executable).with_name("tokenlake"))
    run = subprocess.run([tokenlake, "run"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1
    failures = [m for m in receiver.messages if m["kind"] == "run_failure"]
    assert len(failures) == 1 and failures[0]["value"] == "full_pipeline"
    assert "s3cr3t" not in run.stdout + run.stderr


def test_run_failure_sensor_sends_one_notification_per_failed_run(tmp_path, monkeypatch, receiver):
    from orchestration.defs.alerting.resources import AlertsResource
    from orchestration.defs.alerting.sensors import run_failure_alerts
    from orchestration.defs.resources import settings_resource

    monkeypatch.setenv("TOKENLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("TOKENLAKE_WEBHOOK_URL", receiver.url)

    @dg.op
    def boom() -> None:
        raise RuntimeError("the warehouse is on fire")

    @dg.job
    def doomed() -> None:
        boom()

    with dg.instance_for_test() as instance:
        result = doomed.execute_in_process(instance=instance, raise_on_error=False)
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        # Entered like the daemon does: the alerts resource opens the settings resource.
        with dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts", dagster_event=failure, dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"alerts": AlertsResource(settings=settings_resource)},
        ).for_run_failure() as context:  # fmt: skip
            run_failure_alerts(context)
            run_failure_alerts(context)  # the same failure seen twice: still one message
    failures = [m for m in receiver.messages if m["kind"] == "run_failure"]
    assert len(failures) == 1
    assert failures[0]["value"] == "doomed" and failures[0]["severity"] == "critical"
    assert result.run_id in failures[0]["link"]
