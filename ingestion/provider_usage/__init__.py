"""Provider usage and cost admin APIs (OpenAI, Anthropic) -> raw tables, incrementally, via dlt."""

from ingestion.provider_usage.client import ProviderAPIError, ProviderAuthError, RetryPolicy
from ingestion.provider_usage.reports import (
    anthropic_client,
    anthropic_usage_source,
    cursor_of,
    openai_client,
    openai_usage_source,
)
from ingestion.provider_usage.window import Window, sync_window

__all__ = [
    "ProviderAPIError",
    "ProviderAuthError",
    "RetryPolicy",
    "Window",
    "anthropic_client",
    "anthropic_usage_source",
    "cursor_of",
    "openai_client",
    "openai_usage_source",
    "sync_window",
]
