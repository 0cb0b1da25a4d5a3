"""Secrets kept out of what is printed, logged or stored: one place for the whole project
(orchestration re-exports `redact_url` from its settings)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Key-like tokens: provider key prefixes, bearer tokens, and any long run of key characters.
_KEY_LIKE = re.compile(
    r"(?i)\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{6,}|bearer\s+[A-Za-z0-9._\-]{6,}|[A-Za-z0-9_\-]{32,}"
)


def redact_url(url: str) -> str:
    """A URL safe to print: user info (user:password@) replaced, e.g. in s3://key:secret@bucket."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and key-like tokens replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub("***", text)
