"""HTTP for the providers' admin APIs: paging, retries with back-off, and errors that say what to fix.

Retries: 429 and 5xx (and dropped connections) are retried with exponential back-off; a
`Retry-After` header (seconds or an HTTP date) wins over the computed delay. 401/403 fail at
once. Error messages name the environment variable to fix and never contain the key itself.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from ingestion.redaction import redact_secrets

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_PAGES = 100_000  # a bound on any pagination loop: a server that never ends is an error


class ProviderAPIError(RuntimeError):
    """A provider API call failed for good (after retries, or at once for client errors)."""


class ProviderAuthError(ProviderAPIError):
    """The admin key was rejected (401) or lacks the scope (403)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 1.0
    max_delay_seconds: float = 60.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        hinted = _parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay_seconds)
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_delay_seconds)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


@dataclass
class AdminClient:
    """GET JSON from one provider's admin API (base URL, auth headers, retry policy)."""

    provider: str  # "OpenAI" / "Anthropic", for messages
    key_variable: str  # e.g. OPENAI_ADMIN_KEY: what the user must fix on 401/403
    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def _secrets(self) -> list[str]:
        """The credentials this client sends (its auth and key headers' values)."""
        return [
            value.split()[-1]
            for name, value in self.headers.items()
            if value and ("auth" in name.lower() or "key" in name.lower())
        ]

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self.session.get(
                    url, params=params, headers=dict(self.headers), timeout=self.timeout_seconds
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.retry.attempts:
                    raise ProviderAPIError(
                        f"{self.provider} API unreachable at {url} after {attempt} attempts: "
                        f"{type(exc).__name__}"
                    ) from None
                self.sleep(self.retry.delay(attempt, None))
                continue
            status = response.status_code
            if status in (401, 403):
                what = "was rejected" if status == 401 else "lacks the permission for this report"
                raise ProviderAuthError(
                    f"{self.provider} admin API: HTTP {status} on {path}: the key in "
                    f"{self.key_variable} {what}. Set {self.key_variable} to an organisation admin "
                    f"key with usage and cost read access ({_error_message(response, self._secrets())})."
                )
            if status in RETRY_STATUSES:
                if attempt == self.retry.attempts:
                    raise ProviderAPIError(
                        f"{self.provider} admin API: HTTP {status} on {path} after {attempt} "
                        f"attempts ({_error_message(response, self._secrets())})"
                    )
                self.sleep(self.retry.delay(attempt, response.headers.get("Retry-After")))
                continue
            if status >= 400:
                raise ProviderAPIError(
                    f"{self.provider} admin API: HTTP {status} on {path}: {_error_message(response, self._secrets())}"
                )
            try:
                # Money as Decimal from the first parse: never a float on the way in.
                return response.json(parse_float=Decimal)
            except ValueError:
                raise ProviderAPIError(
                    f"{self.provider} admin API: {path} answered HTTP {status} with a body that is not JSON"
                ) from None
        raise AssertionError("unreachable")

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a cursor-paginated report (`has_more` / `next_page` -> `page`)."""
        query = dict(params)
        for _ in range(MAX_PAGES):
            page = self.get(path, query)
            if not isinstance(page.get("data"), list) or "has_more" not in page:
                raise ProviderAPIError(
                    f"{self.provider} admin API: {path} answered without `data`/`has_more`: "
                    "not a report page (is the base URL right?)"
                )
            yield page
            if not page["has_more"]:
                return
            if not page.get("next_page"):
                raise ProviderAPIError(
                    f"{self.provider} admin API: {path} has_more without next_page"
                )
            query["page"] = page["next_page"]
        raise ProviderAPIError(f"{self.provider} admin API: {path} returned over {MAX_PAGES} pages")


def _error_message(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """The provider's own error text (both APIs put it under error.message), shortened, with
    anything that looks like a key taken out (some APIs echo the key they were sent)."""
    try:
        body = response.json()
    except ValueError:
        return redact_secrets((response.text or "").strip(), secrets)[:200] or "no body"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return redact_secrets(str(error["message"]), secrets)[:200]
    return redact_secrets(str(body), secrets)[:200]
