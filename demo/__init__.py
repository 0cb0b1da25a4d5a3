"""Deterministic demo data: an organisation's LLM usage logs with planted incidents."""

from demo.generator import DemoGenerator, Incident, Manifest, generate

__all__ = ["DemoGenerator", "Incident", "Manifest", "generate"]
