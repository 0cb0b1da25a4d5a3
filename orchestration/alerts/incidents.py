"""Anomaly findings grouped into incidents: one message per incident, its root causes ranked.

A prompt template that ships three times the context shows up as an anomaly of the feature, of
the tenants that use it and of the model it calls, daily and hourly. Those are one incident: the
findings of one day that share a cause (hours fold into their day). The incident's message
names its largest root cause and lists the others with their excess in USD, largest first, as
AWS Cost Anomaly Detection does. Its dedup key is the day and the cause, so a later scan that
finds one more hour or scope of the same incident sends nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from orchestration.alerts.model import Alert

CAUSE_TEXT = {
    "more_requests": "more requests", "longer_prompts": "longer prompts",
    "longer_completions": "longer completions", "more_retries": "more retries",
    "model_mix": "a shift to pricier models", "price_change": "a price change",
    "tier_or_context_mix": "pricier calls (long context or service tier), not a price change",
    "cache_misses": "fewer cache hits", "other": "no single cause",
}  # fmt: skip


@dataclass(frozen=True)
class Incident:
    day: str  # YYYY-MM-DD
    cause: str
    findings: tuple[dict, ...]  # largest excess first

    @property
    def top(self) -> dict:
        return self.findings[0]

    def root_causes(self) -> list[dict]:
        """One entry per scope (its largest finding: the day's, or its worst hour)."""
        seen: dict[tuple[str, str], dict] = {}
        for f in self.findings:
            key = (f["scope_type"], f["scope_value"])
            if key not in seen:
                seen[key] = {"dimension": f["scope_type"], "value": f["scope_value"],
                             "cause": f["cause"], "excess_usd": round(_excess(f), 2)}  # fmt: skip
        return sorted(seen.values(), key=lambda r: -r["excess_usd"])


def _excess(finding: dict) -> float:
    return finding["observed"] - finding["expected"]


def group_incidents(
    findings: list[dict], shared: set[tuple[int, int]] = frozenset()
) -> list[Incident]:
    """One incident per day and cause, joined with any other finding of that day whose calls
    it shares (`shared`: index pairs, see anomaly_review.shared_calls). The incident's cause is
    its largest finding's."""
    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, f in enumerate(findings):
        key = (str(f["window"])[:10], f["cause"])
        parent[root(i)] = root(first.setdefault(key, i))
    for i, j in shared:
        parent[root(i)] = root(j)
    groups: dict[int, list[dict]] = defaultdict(list)
    for i, f in enumerate(findings):
        groups[root(i)].append(f)
    incidents = []
    for members in groups.values():
        ordered = tuple(sorted(members, key=lambda f: (f["granularity"] != "day", -_excess(f))))
        top = max(members, key=_excess)
        incidents.append(Incident(str(top["window"])[:10], top["cause"], ordered))
    return sorted(incidents, key=lambda i: (i.day, i.cause))


def explain(cause: str, parts: dict[str, float], excess: float) -> str:
    """ "mostly X (+$a)" when X explains over half of the excess; otherwise the top two."""
    share = parts.get(cause, 0.0)
    if excess > 0 and share > 0.5 * excess:
        return f"mostly {CAUSE_TEXT[cause]} (+${share:,.2f})"
    named = {"price_change": "tier_or_context_mix"} if cause == "tier_or_context_mix" else {}
    ranked = sorted(
        ((named.get(k, k), v) for k, v in parts.items() if v > 0), key=lambda kv: -kv[1]
    )
    if not ranked:
        return CAUSE_TEXT[cause]
    return " and ".join(f"{CAUSE_TEXT[k]} (+${v:,.2f})" for k, v in ranked[:2])


def incident_alert(incident: Incident, link: str) -> Alert:
    top = incident.top
    start = pd.Timestamp(top["window"])
    day = pd.Timestamp(incident.day)
    when = (
        f"on {start:%Y-%m-%d}" if top["granularity"] == "day" else f"at {start:%Y-%m-%d %H:00} UTC"
    )
    ratio = top["observed"] / top["expected"] if top["expected"] else None
    roots = incident.root_causes()
    parts = top.get("cause_parts") or {}
    summary = (
        f"{top['scope_type']} {top['scope_value']} cost ${top['observed']:,.2f} {when}, "
        + (f"{ratio:.1f}x its usual ${top['expected']:,.2f}" if ratio else "with no usual spend")
        + f": {explain(incident.cause, parts, _excess(top))}."
    )
    if len(roots) > 1:
        summary += (
            " Also: "
            + ", ".join(
                f"{r['dimension']} {r['value']} (+${r['excess_usd']:,.2f})" for r in roots[1:4]
            )
            + "."
        )
    return Alert(
        kind="anomaly", severity="critical" if ratio is None or ratio >= 3 else "warning",
        title=f"Spend anomaly: {top['scope_type']} {top['scope_value']}",
        summary=summary, dimension=top["scope_type"], value=top["scope_value"],
        window_start=day.isoformat(), window_end=(day + timedelta(days=1)).isoformat(),
        observed=round(top["observed"], 2), expected=round(top["expected"], 2),
        cause=incident.cause,
        cause_detail=", ".join(f"{k} {v:+.2f}" for k, v in parts.items()) if parts else "",
        link=link, dedup_key=f"anomaly|{incident.day}|{incident.cause}",
        root_causes=roots,
    )  # fmt: skip
