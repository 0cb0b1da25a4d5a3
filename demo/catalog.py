"""The made-up organisation behind the demo data: tenants, features, models, incidents.

Model names are real provider names (dated snapshots where the provider reports them), so the
price book prices them; one fine-tuned model is deliberately absent from the price book.
"""

from __future__ import annotations

from dataclasses import dataclass

UNPRICED_MODEL = ("openai", "ft:gpt-4.1-mini-2025-04-14:acme:support-v3:B7x9Q2")

TENANT_NAMES = [
    "acme", "globex", "initech", "umbrella", "hooli", "stark-industries", "wayne-enterprises",
    "wonka", "soylent", "cyberdyne", "tyrell", "massive-dynamic", "aperture", "black-mesa",
    "vandelay", "pied-piper", "dunder-mifflin", "prestige-worldwide", "gringotts", "oscorp",
    "nakatomi", "weyland", "monarch", "rekall", "virtucon", "blue-sun", "zorg", "spacely",
    "cogswell", "bluth", "sterling-cooper", "los-pollos", "krusty-krab", "paper-street",
    "gekko", "duff", "buy-n-large", "ollivanders", "octan", "sirius-cyber", "yoyodyne",
    "tessier-ashpool", "encom", "omni-consumer", "genco", "ajax", "acme-eu", "northwind",
    "contoso", "fabrikam",
]  # fmt: skip

TIERS = ("free", "premium", "enterprise")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
AGENTS = ("support-agent", "coding-agent", "research-agent", "analytics-agent")
FAILURE_STATUSES = ("rate_limited", "timeout", "error")


@dataclass(frozen=True)
class Variant:
    """One way a feature calls a model."""

    action_type: str
    provider: str
    model: str
    share: float
    mean_input: int
    mean_output: int
    cache_share: float = 0.0  # share of calls that read from the prompt cache
    batch_share: float = 0.0
    reasoning: bool = False
    long_context_share: float = 0.0  # share of calls above 200k input tokens


@dataclass(frozen=True)
class Feature:
    name: str
    weight: float
    variants: tuple[Variant, ...]
    agent: str | None = None
    source: str = "gateway"  # which log shipper writes its events (gateway: JSONL, app: Parquet)
    legacy_names: bool = False  # writes prompt_tokens/completion_tokens instead


OPENAI, ANTHROPIC = "openai", "anthropic"

FEATURES: tuple[Feature, ...] = (
    Feature("chat_assistant", 0.22, (
        Variant("user_interaction", OPENAI, "gpt-4.1-2025-04-14", 0.4, 2500, 450, cache_share=0.5),
        Variant("user_interaction", ANTHROPIC, "claude-sonnet-4-5-20250929", 0.4, 2500, 450, cache_share=0.6),
        Variant("user_interaction", OPENAI, "gpt-4o-2024-08-06", 0.2, 2200, 400, cache_share=0.4),
    )),
    Feature("support_bot", 0.16, (
        Variant("user_interaction", ANTHROPIC, "claude-haiku-4-5-20251001", 0.65, 3000, 300, cache_share=0.7),
        Variant("user_interaction", OPENAI, "gpt-4.1-mini-2025-04-14", 0.35, 3000, 300, cache_share=0.6),
    ), agent="support-agent"),
    Feature("document_search", 0.12, (
        Variant("rag_query_embedding", OPENAI, "text-embedding-3-small", 0.5, 60, 0),
        Variant("user_interaction", OPENAI, "gpt-4o-mini-2024-07-18", 0.5, 4000, 350, cache_share=0.3),
    )),
    Feature("document_indexing", 0.06, (
        Variant("document_indexing", OPENAI, "text-embedding-3-small", 1.0, 6000, 0, batch_share=0.8),
    ), source="app"),
    Feature("summarization", 0.07, (
        Variant("user_interaction", OPENAI, "gpt-4o-mini-2024-07-18", 0.5, 8000, 600),
        Variant("user_interaction", ANTHROPIC, "claude-sonnet-4-5-20250929", 0.5, 9000, 700,
                cache_share=0.2, long_context_share=0.01),
    )),
    Feature("code_review", 0.07, (
        Variant("user_interaction", OPENAI, "o4-mini-2025-04-16", 0.5, 12000, 1500, reasoning=True),
        Variant("user_interaction", ANTHROPIC, "claude-sonnet-4-5-20250929", 0.5, 12000, 1200, cache_share=0.5),
    ), agent="coding-agent"),
    Feature("title_generation", 0.08, (
        Variant("title_generation", OPENAI, "gpt-4o-mini-2024-07-18", 1.0, 400, 15),
    ), legacy_names=True),
    Feature("content_moderation", 0.08, (
        Variant("guardrail_check", OPENAI, "gpt-4o-mini-2024-07-18", 0.6, 800, 5),
        Variant("guardrail_check", ANTHROPIC, "claude-3-5-haiku-20241022", 0.4, 800, 5),
    )),
    Feature("email_drafting", 0.05, (
        Variant("user_interaction", OPENAI, "gpt-4.1-mini-2025-04-14", 1.0, 1500, 400),
    ), legacy_names=True),
    Feature("sql_copilot", 0.04, (
        Variant("user_interaction", OPENAI, "gpt-5-2025-08-07", 0.5, 6000, 700, reasoning=True, cache_share=0.4),
        Variant("user_interaction", ANTHROPIC, "claude-sonnet-4-5-20250929", 0.5, 6000, 600, cache_share=0.5),
    ), agent="analytics-agent"),
    Feature("meeting_notes", 0.03, (
        Variant("user_interaction", ANTHROPIC, "claude-sonnet-4-5-20250929", 1.0, 20000, 1200, batch_share=0.3),
    ), source="app"),
    Feature("research_agent", 0.02, (
        Variant("user_interaction", ANTHROPIC, "claude-opus-4-1-20250805", 0.4, 15000, 2500, cache_share=0.5),
        Variant("user_interaction", OPENAI, "gpt-5-2025-08-07", 0.6, 15000, 2500, reasoning=True),
    ), agent="research-agent"),
)  # fmt: skip

# What the gateway believes a million tokens cost (input+output, one blended rate, no cache
# discount): the kind of figure gateways log as "computed_cost", kept to be compared, never used.
GATEWAY_BLENDED_RATE = 3.0
