"""Send alerts to TOKENLAKE_WEBHOOK_URL: Slack's incoming-webhook format, or the payload as JSON.

The URL is a secret (a Slack hook URL is its own credential): it is never printed, logged or
put in metadata; errors name the receiver's host only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests

from orchestration.alerts.model import Alert
from orchestration.alerts.outbox import DEFAULT_COOLDOWN, Outbox

SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


class DeliveryError(RuntimeError):
    pass


def is_slack(url: str) -> bool:
    return (urlsplit(url).hostname or "") in SLACK_HOSTS


def slack_message(alert: Alert) -> dict:
    """The same facts as Slack `text` plus blocks."""
    icon = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}
    fields = [
        f"*{alert.dimension}*: {alert.value}",
        f"*cause*: {alert.cause}",
        f"*observed*: ${alert.observed:,.2f}" if alert.observed is not None else "*observed*: –",
        f"*expected*: ${alert.expected:,.2f}" if alert.expected is not None else "*expected*: –",
    ]
    return {
        "text": f"{icon[alert.severity]} {alert.title}: {alert.summary}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.summary}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                f"{alert.kind} · {alert.window_start or ''} → {alert.window_end or ''} · <{alert.link}|open in Dagster>"}]},
        ],
    }  # fmt: skip


@dataclass
class Notifier:
    url: str = field(repr=False)
    timeout_seconds: float = 10.0

    @property
    def receiver(self) -> str:
        """Where alerts go, safe to print: the host only."""
        return urlsplit(self.url).hostname or "webhook"

    def send(self, alert: Alert) -> None:
        body = slack_message(alert) if is_slack(self.url) else alert.payload()
        try:
            response = requests.post(self.url, json=body, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.receiver} unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise DeliveryError(f"{self.receiver} answered HTTP {response.status_code}")


@dataclass
class DeliveryReport:
    delivered: int = 0
    suppressed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(
    outbox: Outbox,
    notifier: Notifier | None,
    now: datetime | None = None,
    cooldown: timedelta = DEFAULT_COOLDOWN,
) -> DeliveryReport:
    """Send every pending alert once (oldest first); failures stay pending for the next tick."""
    report = DeliveryReport()
    moment = now or datetime.now(UTC)
    if notifier is None:
        return report  # no receiver configured: alerts wait in the table
    for alert in outbox.pending():
        if outbox.recently_delivered(alert, cooldown, moment):
            outbox.mark(alert, "suppressed", moment)
            report.suppressed += 1
            continue
        try:
            notifier.send(alert)
        except DeliveryError as exc:
            outbox.mark(alert, "pending", moment, str(exc))
            report.failed += 1
            report.errors.append(str(exc))
            continue
        outbox.mark(alert, "delivered", moment)
        report.delivered += 1
    return report
