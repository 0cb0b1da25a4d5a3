"""Email delivery over SMTP (digests): settings from TOKENLAKE_SMTP_*, the chart attached.

The password is a secret: never printed; errors name the server's host and port only.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from orchestration.alerts.model import Alert
from orchestration.alerts.notifier import DeliveryError

# Alert kinds that go by email as well as to the webhook.
EMAIL_KINDS = ("digest",)


@dataclass
class EmailSender:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0
    window_seconds: float = 30.0  # as the webhook's: one delivery window per tick or run

    @classmethod
    def from_settings(
        cls, settings
    ) -> EmailSender | None:  # settings: orchestration.settings.Settings
        if not (settings.smtp_host and settings.smtp_to):
            return None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                   tuple(settings.smtp_to), settings.smtp_user, settings.smtp_password,
                   settings.smtp_starttls, settings.webhook_timeout_seconds,
                   settings.webhook_window_seconds)  # fmt: skip

    @property
    def receiver(self) -> str:
        return f"{self.host}:{self.port}"

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = alert.title
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Message-ID"] = f"<{alert.dedup_key.replace('|', '.')}@tokenlake>"
        lines = (alert.details or {}).get("lines") or [alert.summary, alert.cause_detail]
        msg.set_content("\n\n".join(lines) + f"\n\nOpen in Dagster: {alert.link}\n")
        chart = (alert.details or {}).get("chart")
        if chart and Path(chart).is_file():
            msg.add_attachment(Path(chart).read_bytes(), maintype="image", subtype="png",
                               filename=Path(chart).name)  # fmt: skip
        return msg

    def send(self, alert: Alert, timeout_seconds: float | None = None) -> None:
        try:
            with smtplib.SMTP(
                self.host, self.port, timeout=timeout_seconds or self.timeout_seconds
            ) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self.message(alert))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"SMTP {self.receiver} refused or unreachable ({type(exc).__name__})"
            ) from None
