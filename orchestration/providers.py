"""The providers whose admin usage and cost APIs tokenlake reads, and which settings name them."""

from collections.abc import Callable
from dataclasses import dataclass

from dlt.sources import DltSource

from ingestion.provider_usage import (
    anthropic_client,
    anthropic_usage_source,
    openai_client,
    openai_usage_source,
)
from ingestion.provider_usage.client import AdminClient
from ingestion.provider_usage.endpoints import ANTHROPIC_ENDPOINTS, OPENAI_ENDPOINTS, Endpoint
from orchestration.settings import Settings


@dataclass(frozen=True)
class Provider:
    name: str  # openai | anthropic: also the dlt pipeline and source name prefix
    title: str
    key_variable: str
    endpoints: tuple[Endpoint, ...]
    client: Callable[[str, str], AdminClient]
    source: Callable[..., DltSource]

    @property
    def pipeline_name(self) -> str:
        return f"{self.name}_usage"

    def key(self, settings: Settings) -> str | None:
        return getattr(settings, f"{self.name}_admin_key")

    def api_base(self, settings: Settings) -> str:
        return getattr(settings, f"{self.name}_api_base")


OPENAI = Provider("openai", "OpenAI", "OPENAI_ADMIN_KEY", OPENAI_ENDPOINTS,
                  openai_client, openai_usage_source)  # fmt: skip
ANTHROPIC = Provider("anthropic", "Anthropic", "ANTHROPIC_ADMIN_KEY", ANTHROPIC_ENDPOINTS,
                     anthropic_client, anthropic_usage_source)  # fmt: skip
PROVIDERS = (OPENAI, ANTHROPIC)
