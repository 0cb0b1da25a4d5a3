"""The options of the log readers that the settings parse: the values TOKENLAKE_LOGS_FORMAT takes
and the OTLP span options, known without loading the readers (Arrow, DuckDB), which a process
that only reads the settings (the `tokenlake run` supervisor) does not need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The built-in formats: the mappings shipped in formats/ (`<name>.yaml`).
FORMATS_DIR = Path(__file__).resolve().parent / "formats"
BUILT_IN = tuple(sorted(p.stem for p in FORMATS_DIR.glob("*.yaml")))
# Values of TOKENLAKE_LOGS_FORMAT besides a built-in name.
AUTO, CONTRACT = "auto", "contract"


@dataclass(frozen=True)
class OtelOptions:
    """Where a span's tenant is (TOKENLAKE_OTEL_TENANT_ATTRIBUTES: attribute names, span before
    resource), and the tenant of a span that has none (TOKENLAKE_OTEL_DEFAULT_TENANT; empty:
    such spans are quarantined). A defaulted tenant is flagged in extra_fields
    (`tenant_defaulted`)."""

    tenant_attributes: tuple[str, ...] = ("tenant.id", "tenant_id")
    default_tenant: str = "unattributed"
