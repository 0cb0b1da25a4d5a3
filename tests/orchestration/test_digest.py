"""The daily and weekly digest: its content against a hand computation on hand-made marts, and
delivery to a real webhook receiver and a real SMTP server on loopback."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.alerts.digest import build_digest, chart, digest_alert
from orchestration.alerts.email import EmailSender
from orchestration.alerts.notifier import Notifier, deliver_pending, slack_message
from orchestration.alerts.outbox import Outbox
from tests.orchestration.test_alert_delivery import Receiver
from tests.support.smtp_server import SMTPServer

LAST = date(2026, 11, 19)  # the newest complete day (data runs into 11-20)
TENANTS = {"acme": 10.0, "globex": 4.0, "initech": 1.0}
FEATURES = {"acme": "chat", "globex": "search", "initech": "chat"}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """21 days: each tenant spends its base a day; acme doubles on LAST, globex stops on LAST."""
    rows = []
    for d in range(21):
        day = LAST - timedelta(days=20 - d)
        for tenant, base in TENANTS.items():
            cost = base * (2 if (tenant == "acme" and day == LAST) else 1)
            if tenant == "globex" and day == LAST:
                cost = 0.0
            rows.append((day, tenant, FEATURES[tenant], f"model-{tenant}", "system", cost))
    frame = pd.DataFrame(rows, columns=["usage_date", "tenant_id", "feature", "model", "key_source",
                                        "net_cost"])  # fmt: skip
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema seeds")
        con.register("f", frame)
        for table in ("agg_usage_daily_by_tenant", "agg_usage_daily"):
            con.execute(f"create table marts.{table} as select * exclude (net_cost), "
                        "net_cost::decimal(18, 6) as net_cost from f")  # fmt: skip
        con.execute(
            "create table marts.fct_llm_attempts as select timestamp '2026-11-20 09:00' as event_at"
        )
        con.execute("""create table seeds.budgets as select 'tenant' as scope_type, 'acme' as scope_value,
                       null::date as month, 300.0 as amount_usd, '0.8;1.0' as alert_thresholds""")
    return path


INCIDENT = {"title": "Spend anomaly: tenant acme", "cause": "more_requests",
            "summary": "tenant acme cost $20.00 on 2026-11-19, 2.0x its usual $10.00: mostly more requests.",
            "window_start": "2026-11-19T00:00:00"}  # fmt: skip


def test_daily_and_weekly_digests_match_a_hand_computation(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        budgets = con.execute("select * from seeds.budgets").df()
        daily = build_digest(con, "daily", [INCIDENT], budgets)
        weekly = build_digest(con, "weekly", [INCIDENT], budgets)
    assert (daily.start, daily.end) == (LAST, LAST)
    assert (daily.spend, daily.previous) == (20.0 + 0.0 + 1.0, 15.0)
    assert daily.movers["tenant"] == [
        {"value": "acme", "now": 20.0, "before": 10.0, "change": 10.0},
        {"value": "globex", "now": 0.0, "before": 4.0, "change": -4.0}]  # fmt: skip
    assert [m["value"] for m in daily.movers["feature"]] == ["chat", "search"]
    assert (weekly.start, weekly.end) == (LAST - timedelta(days=6), LAST)
    assert (weekly.spend, weekly.previous) == (6 * 15.0 + 21.0, 7 * 15.0)
    assert weekly.change_pct == pytest.approx((111 / 105 - 1) * 100)
    assert daily.forecast["month"] == "2026-11" and daily.forecast["status"] == "ok"
    assert daily.forecast["actual_to_date"] == pytest.approx(
        sum(15.0 for d in range(1, 19)) + 21.0
    )  # Nov 1 .. 19, the complete days
    assert [(b["scope_value"], b["budget_usd"]) for b in daily.budgets] == [("acme", 300.0)]
    assert daily.incidents == [INCIDENT]
    text = "\n".join(daily.lines())
    assert "Spend 2026-11-19: $21.00, previous daily period $15.00 (+40.0 %)." in text
    assert "Top tenant movers: acme +10.00 ($20.00); globex -4.00 ($0.00)" in text
    assert "Budget tenant acme" in text and "1 incident(s)" in text


def test_the_digest_reaches_the_webhook_and_the_mailbox_once_each(warehouse, tmp_path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        digest = build_digest(con, "daily", [INCIDENT])
        png = chart(con, digest, tmp_path / "digests" / "daily.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    alert = digest_alert(digest, "http://127.0.0.1:3000/assets/analytics/digest", png)
    outbox = Outbox(tmp_path / "alerts.sqlite")
    assert outbox.add(alert)
    hook, smtp = Receiver(), SMTPServer(refuse=True)
    try:
        email = EmailSender(
            "127.0.0.1", smtp.port, "tokenlake@example.test", ("finops@example.test",)
        )
        first = deliver_pending(outbox, Notifier(hook.url), email=email)
        # The mail server refused it: the webhook has it, the digest stays pending for the mail.
        assert (first.delivered, first.failed) == (0, 1) and "SMTP 127.0.0.1" in first.errors[0]
        assert outbox.counts() == {"pending": 1} and len(hook.requests) == 1
        smtp.refuse = False
        assert deliver_pending(outbox, Notifier(hook.url), email=email).delivered == 1
        assert deliver_pending(outbox, Notifier(hook.url), email=email).delivered == 0
    finally:
        hook.close()
        smtp.close()
    assert len(hook.requests) == 1  # the webhook was not sent it again
    body = hook.requests[0][2]
    assert body["kind"] == "digest" and body["details"]["lines"] == digest.lines()
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == "tokenlake daily digest: 2026-11-19"
    assert mail["To"] == "finops@example.test"
    parts = list(mail.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"Top tenant movers: acme +10.00" in text
    image = next(p for p in parts if p.get_content_type() == "image/png")
    assert image.get_payload(decode=True) == png.read_bytes()
    slack = slack_message(alert)
    assert slack["blocks"][0]["text"]["text"] == "tokenlake daily digest: 2026-11-19"
    assert any("Top tenant movers" in b["text"]["text"] for b in slack["blocks"][1:-1])


def test_the_digest_job_and_schedules(warehouse, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TOKENLAKE_HOME", str(home))
    monkeypatch.setenv("TOKENLAKE_WAREHOUSE", str(warehouse))
    from orchestration.definitions import defs

    job = defs.resolve_job_def("digest")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"analytics__digest": {"config": {"period": "weekly"}}}},
        )
    assert result.success
    rows = Outbox(home / "alerts.sqlite").rows()
    assert [(r["kind"], r["dedup_key"]) for r in rows] == [("digest", "digest|weekly|2026-11-19")]
    assert (home / "digests" / "weekly-2026-11-19.png").exists()
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["daily_digest"].cron_schedule == "30 6 * * *"
    assert schedules["weekly_digest"].cron_schedule == "45 6 * * 1"
    assert "analytics/digest" not in {
        k.to_user_string()
        for k in defs.resolve_job_def("hourly_incremental").asset_layer.executable_asset_keys
    }


def test_tokenlake_digest_sends_the_weekly_digest_by_email(warehouse, tmp_path):
    import os
    import subprocess
    import sys

    smtp = SMTPServer()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENLAKE_", "DAGSTER_"))}
        env |= {"TOKENLAKE_HOME": str(tmp_path / "home"), "TOKENLAKE_WAREHOUSE": str(warehouse),
                "TOKENLAKE_SMTP_HOST": "127.0.0.1", "TOKENLAKE_SMTP_PORT": str(smtp.port),
                "TOKENLAKE_SMTP_TO": "a@example.test, b@example.test"}  # fmt: skip
        tokenlake = str(Path(sys.executable).with_name("tokenlake"))
        run = subprocess.run([tokenlake, "digest", "--period", "weekly"], env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "1 delivered" in run.stdout
    finally:
        smtp.close()
    assert [m["Subject"] for m in smtp.messages] == [
        "tokenlake weekly digest: 2026-11-13 .. 2026-11-19"]  # fmt: skip
    assert smtp.messages[0]["To"] == "a@example.test, b@example.test"
