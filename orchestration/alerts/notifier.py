"""Send alerts to TOKENLAKE_WEBHOOK_URL: Slack's incoming-webhook format, or the payload as JSON.

The URL is a secret (a Slack hook URL is its own credential): it is never printed, logged or
put in metadata; errors name the receiver's host only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests

from orchestration.alerts.model import Alert
from orchestration.alerts.outbox import DEFAULT_COOLDOWN, Outbox

SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
# A delivery is not started with less time than this left in the window.
MIN_ATTEMPT_SECONDS = 0.5


class DeliveryError(RuntimeError):
    pass


def is_slack(url: str) -> bool:
    return (urlsplit(url).hostname or "") in SLACK_HOSTS


def slack_message(alert: Alert) -> dict:
    """The same facts as Slack `text` plus blocks."""
    icon = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}
    if alert.kind == "digest":
        lines = (alert.details or {}).get("lines") or [alert.summary]
        return {
            "text": f"{icon[alert.severity]} {alert.title}: {alert.summary}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
                *({"type": "section", "text": {"type": "mrkdwn", "text": line[:2900]}}
                  for line in lines[:40]),
                {"type": "context", "elements": [{"type": "mrkdwn", "text":
                    f"chart attached to the email digest · <{alert.link}|open in Dagster>"}]},
            ],
        }  # fmt: skip
    fields = [
        f"*{alert.dimension}*: {alert.value}",
        f"*cause*: {alert.cause}",
        f"*observed*: ${alert.observed:,.2f}" if alert.observed is not None else "*observed*: –",
        f"*expected*: ${alert.expected:,.2f}" if alert.expected is not None else "*expected*: –",
    ]
    roots = alert.root_causes or []
    if len(roots) > 1:
        fields.append(
            "*root causes*: "
            + "; ".join(
                f"{r['dimension']} {r['value']} +${r['excess_usd']:,.2f}" for r in roots[:5]
            )
        )
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
    """POSTs alerts to one receiver.

    Redirects are not followed: a POST redirected would arrive as a body-less GET (requests
    follows 301/302 that way), so a 3xx is a failed delivery, kept pending, naming the host it
    pointed to. Each POST carries `Idempotency-Key: <dedup_key>`: a delivery that timed out may
    still have reached the receiver, and its retry carries the same key for it to drop.
    """

    url: str = field(repr=False)
    timeout_seconds: float = 10.0
    # All deliveries of one tick or run end within this many seconds; the rest wait, pending.
    window_seconds: float = 30.0

    @classmethod
    def from_settings(
        cls, settings
    ) -> Notifier | None:  # settings: orchestration.settings.Settings
        if not settings.webhook_url:
            return None
        return cls(settings.webhook_url, settings.webhook_timeout_seconds,
                   settings.webhook_window_seconds)  # fmt: skip

    @property
    def receiver(self) -> str:
        """Where alerts go, safe to print: the host only."""
        return urlsplit(self.url).hostname or "webhook"

    def send(self, alert: Alert, timeout_seconds: float | None = None) -> None:
        body = slack_message(alert) if is_slack(self.url) else alert.payload()
        try:
            response = requests.post(
                self.url,
                json=body,
                headers={"Idempotency-Key": alert.dedup_key},
                timeout=timeout_seconds or self.timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.receiver} unreachable ({type(exc).__name__})") from None
        if 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("Location", "")).hostname or "elsewhere"
            raise DeliveryError(
                f"{self.receiver} answered HTTP {response.status_code}, a redirect to {target} "
                "(not followed: set TOKENLAKE_WEBHOOK_URL to the final address)"
            )
        if response.status_code >= 300:
            raise DeliveryError(f"{self.receiver} answered HTTP {response.status_code}")


@dataclass
class DeliveryReport:
    delivered: int = 0
    suppressed: int = 0
    failed: int = 0
    # Not tried: the delivery window had ended (still pending, tried on the next tick or run).
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(
    outbox: Outbox,
    notifier: Notifier | None,
    now: datetime | None = None,
    cooldown: timedelta = DEFAULT_COOLDOWN,
    email=None,  # orchestration.alerts.email.EmailSender | None
) -> DeliveryReport:
    """Send every pending alert once (oldest first) to each of its channels (the webhook; email
    too for digests) within the notifier's delivery window; failures, and alerts the window
    left no time for, stay pending for the next tick."""
    from orchestration.alerts.email import EMAIL_KINDS

    report = DeliveryReport()
    moment = now or datetime.now(UTC)
    if notifier is None and email is None:
        return report  # no receiver configured: alerts wait in the table
    deadline = time.monotonic() + max(c.window_seconds for c in (notifier, email) if c)
    for alert in outbox.pending():
        if alert.kind != "digest" and outbox.recently_delivered(alert, cooldown, moment):
            outbox.mark(alert, "suppressed", moment)
            report.suppressed += 1
            continue
        channels = {"webhook": notifier} if notifier else {}
        if email is not None and alert.kind in EMAIL_KINDS:
            channels["email"] = email
        if not channels:
            continue  # its channel is not configured: it waits
        done = outbox.delivered_channels(alert)
        failed = False
        for name, channel in channels.items():
            if name in done:
                continue
            left = deadline - time.monotonic()
            if left < MIN_ATTEMPT_SECONDS:
                report.deferred += 1
                failed = True
                break
            try:
                channel.send(alert, timeout_seconds=min(channel.timeout_seconds, left))
            except DeliveryError as exc:
                outbox.mark(alert, "pending", moment, str(exc))
                report.failed += 1
                report.errors.append(str(exc))
                failed = True
                continue
            outbox.mark_channel(alert, name, moment)
        if not failed:
            outbox.mark(alert, "delivered", moment)
            report.delivered += 1
    return report
