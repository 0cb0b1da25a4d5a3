"""The alert payload (docs/design.md §7): one JSON object per POST, the same shape for every kind."""

from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("anomaly", "budget", "forecast", "run_failure", "stale_source", "quarantine_spike",
         "unpriced_model", "digest")  # fmt: skip
SEVERITIES = ("info", "warning", "critical")
CAUSES = ("more_requests", "longer_prompts", "longer_completions", "more_retries", "model_mix",
          "price_change", "tier_or_context_mix", "cache_misses", "other")  # fmt: skip


@dataclass(frozen=True)
class Alert:
    kind: str
    severity: str
    title: str
    summary: str  # one human sentence: what, how much, why
    dimension: str  # organisation, tenant, feature, model, job, ...
    value: str
    window_start: str | None
    window_end: str | None
    observed: float | None  # USD
    expected: float | None  # USD
    cause: str
    cause_detail: str
    link: str
    dedup_key: str
    # An incident's root causes, largest first: {dimension, value, cause, excess_usd}.
    root_causes: tuple[dict, ...] | list[dict] | None = None
    # A digest's content (lines, movers, forecast, budgets, incidents, chart path).
    details: dict | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.cause not in CAUSES:
            raise ValueError(f"unknown cause {self.cause!r}")

    @property
    def cooldown_key(self) -> str:
        """Alerts about the same thing for the same reason: one message per cool-down."""
        return f"{self.kind}|{self.dimension}|{self.value}|{self.cause}"

    def payload(self) -> dict:
        return asdict(self)


def run_failure_alert(job_name: str, run_id: str, summary: str, detail: str, link: str) -> Alert:
    """The one `run_failure` alert of a failed run (from the sensor or a headless run)."""
    return Alert(
        kind="run_failure", severity="critical", title=f"Run failed: {job_name}",
        summary=summary, dimension="job", value=job_name, window_start=None, window_end=None,
        observed=None, expected=None, cause="other", cause_detail=detail, link=link,
        dedup_key=f"run_failure|{run_id}",
    )  # fmt: skip
