"""Alert delivery: the outbox and receivers, the delivery sensor, alerts for failed runs."""

import dagster as dg

from orchestration.defs.alerting.resources import AlertsResource
from orchestration.defs.alerting.sensors import deliver_alerts, run_failure_alerts
from orchestration.defs.resources import settings_resource


def definitions() -> dg.Definitions:
    return dg.Definitions(
        sensors=[deliver_alerts, run_failure_alerts],
        resources={"alerts": AlertsResource(settings=settings_resource)},
    )
