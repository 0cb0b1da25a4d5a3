"""The quality gate before publishing: nothing is published while a blocking check fails.

dbt tests with severity `error` are Dagster asset checks of severity ERROR; their latest results
are read from the instance, so the gate also holds for a "publish only" run after a failed build.
Warnings (e.g. the provider-bill reconciliation) do not block.
"""

from collections.abc import Iterable

import dagster as dg


def failing_blocking_checks(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> list[str]:
    """Names (asset/check) of checks whose latest evaluation failed with severity ERROR."""
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    failing = []
    for key, record in latest.items():
        if record.status.value != "FAILED":  # PLANNED, SUCCEEDED or FAILED
            continue
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None or evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failing.append(f"{key.asset_key.to_user_string()}:{key.name}")
    return sorted(failing)
