"""Where alerts wait and where they go: the outbox under TOKENLAKE_HOME and TOKENLAKE_WEBHOOK_URL.

Taken from the settings (read from the environment), never put in Dagster config: the webhook
URL is a secret.
"""

import dagster as dg

from orchestration.alerts.email import EmailSender
from orchestration.alerts.notifier import Notifier
from orchestration.alerts.outbox import Outbox
from orchestration.settings import Settings


class AlertsResource(dg.ConfigurableResource):
    """The alerts table (outbox), the webhook notifier and the email sender."""

    settings: dg.ResourceDependency[Settings]

    def outbox(self) -> Outbox:
        return Outbox(self.settings.alerts_db)

    def notifier(self) -> Notifier | None:
        return Notifier.from_settings(self.settings)

    def email(self) -> EmailSender | None:
        return EmailSender.from_settings(self.settings)
