"""Delivery of alerts, and alerts for failed runs.

`deliver_alerts` sends what waits in the outbox on every tick: an alert whose delivery failed
stays pending and is tried again next tick; one already delivered within the cool-down (same
kind, dimension, value and cause) is recorded as suppressed, not repeated. `run_failure_alerts`
turns any failed run of any job into one `run_failure` alert.
"""

import dagster as dg

from orchestration.alerts.model import run_failure_alert
from orchestration.alerts.notifier import deliver_pending
from orchestration.defs.alerting.resources import AlertsResource
from orchestration.settings import DAGSTER_UI_URL


@dg.sensor(
    name="deliver_alerts",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends pending alerts to TOKENLAKE_WEBHOOK_URL; failed deliveries are retried next tick.",
)
def deliver_alerts(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SkipReason:
    notifier, email = alerts.notifier(), alerts.email()
    if notifier is None and email is None:
        return dg.SkipReason("TOKENLAKE_WEBHOOK_URL is not set: alerts wait in the alerts table")
    report = deliver_pending(alerts.outbox(), notifier, email=email)
    return dg.SkipReason(
        f"delivered {report.delivered}, suppressed {report.suppressed} (cool-down), "
        f"failed {report.failed} (kept pending){': ' + report.errors[0] if report.errors else ''}"
    )


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="One run_failure alert per failed run of any job.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    run = context.dagster_run
    message = (context.failure_event.message or "").splitlines()[0][:300]
    outbox = alerts.outbox()
    outbox.add(
        run_failure_alert(
            run.job_name,
            run.run_id,
            summary=f"Job {run.job_name} failed (run {run.run_id[:8]}): {message}",
            detail=message,
            link=f"{DAGSTER_UI_URL}/runs/{run.run_id}",
        )
    )
    notifier = alerts.notifier()
    if notifier is not None:
        deliver_pending(outbox, notifier, email=alerts.email())
