"""Where alerts wait and where they go: the outbox under TOKENLAKE_HOME and TOKENLAKE_WEBHOOK_URL.

Read from the environment when used, never put in Dagster config: the webhook URL is a secret.
"""

import dagster as dg

from orchestration.alerts.email import EmailSender
from orchestration.alerts.notifier import Notifier
from orchestration.alerts.outbox import Outbox
from orchestration.settings import Settings


class AlertsResource(dg.ConfigurableResource):
    """The alerts table (outbox) and the notifier, from the environment."""

    def outbox(self) -> Outbox:
        return Outbox(Settings.from_env().alerts_db)

    def notifier(self) -> Notifier | None:
        return Notifier.from_settings(Settings.from_env())

    def email(self) -> EmailSender | None:
        return EmailSender.from_settings(Settings.from_env())
