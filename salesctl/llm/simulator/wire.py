"""What every wire format module provides, and the shapes they hand back to the server.

A wire module translates between one provider's HTTP API and the brain: it parses the
request into a `ChatRequest`, renders the brain's `Answer` as a JSON body or a list of SSE
events, and knows its provider's error shape and auth header. The server does the rest
(faults, latency, caching, the ledger), so those behave the same for every provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .brain import Answer, ChatRequest
from .cache import CacheUse


class BadRequest(ValueError):
    """The request is invalid for this API: answered with a 400 in the provider's shape."""


@dataclass(frozen=True, slots=True)
class Route:
    """What a path asks for: a completion, a token count, or a no-op (Cerebras TCP warming)."""

    action: str
    """"complete", "count_tokens" or "noop"."""
    model: str | None = None
    stream: bool | None = None
    """Set when the path itself decides streaming (Gemini); None: the body's `stream` does."""


@dataclass(frozen=True, slots=True)
class Reported:
    """Usage exactly as the response reported it, normalised for the ledger.

    `input_tokens` excludes cached tokens whatever the provider's own convention is (OpenAI
    and Gemini include them in their prompt count; Anthropic does not), like salesctl's Usage.
    """

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    """Reasoning output, on top of `output_tokens` (which counts the visible output only)."""
    cost_usd: float | None = None
    raw: dict[str, Any] | None = None
    """The provider's own usage object, verbatim."""
    cache_write_1h_tokens: int = 0


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event, ready to write."""

    data: bytes
    content: bool = False
    """A content chunk (text or tool arguments): what `cut_stream`'s `after_chunks` counts,
    and what a cut stream is billed for."""
    reported: Reported | None = None
    """Usage this event reports (cumulative), if any."""


@dataclass(slots=True)
class Rendered:
    """A successful answer: a JSON body, or a list of SSE events when streaming."""

    model: str
    body: dict[str, Any] | None = None
    events: list[SseEvent] = field(default_factory=list)
    reported: Reported | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Served:
    """How the next answer presents itself, beyond what the brain decided."""

    model: str | None = None
    """The model id to say was served (None: the API's own mapping of the requested id)."""
    report_cost: bool | None = None
    """OpenRouter's `usage.cost`: None as requested, False never, True always."""


@dataclass(frozen=True, slots=True)
class PromptUsage:
    """Prompt tokens of a request and how the cache served them."""

    total: int
    cache: CacheUse

    @property
    def uncached(self) -> int:
        return self.total - self.cache.read - self.cache.write


def canonical(value: Any) -> str:
    """Stable JSON for hashing and token counting."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sse(data: Any, event: str | None = None, newline: str = "\n") -> bytes:
    """Format one server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}{newline}" if event else ""
    return f"{head}data: {payload}{newline}{newline}".encode()


class WireFormat:
    """Base class of the wire format modules."""

    cache_style = "automatic"
    """"automatic" (prefix ≥ 1024 tokens cached implicitly) or "explicit" (cache_control)."""

    def route(self, method: str, path: str) -> Route | None:
        """What `path` (below the provider's prefix) asks for, or None for a 404."""
        raise NotImplementedError

    def api_key(self, headers: Any, query: dict[str, list[str]]) -> str:
        """The API key the request carries ("" when missing)."""
        auth = headers.get("Authorization") or ""
        return auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""

    def parse(self, provider: str, route: Route, body: dict[str, Any]) -> ChatRequest:
        """The request as the brain sees it; raises BadRequest for invalid input."""
        raise NotImplementedError

    def render(
        self,
        provider: str,
        req: ChatRequest,
        ans: Answer,
        prompt: PromptUsage,
        body: dict[str, Any],
        served: Served = Served(),
    ) -> Rendered:
        """The answer in this API's response shape (JSON body or SSE events)."""
        raise NotImplementedError

    def error(
        self, provider: str, status: int, message: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """An error body in this API's shape, and any extra headers."""
        raise NotImplementedError

    def count_tokens_body(self, prompt_tokens: int) -> dict[str, Any]:
        """The answer of the token-counting endpoint, where the API has one."""
        raise NotImplementedError

    def malformed_event(self) -> bytes:
        """A stream event whose JSON is cut off (for the `malformed` fault)."""
        return sse('{"id": "sim-truncated", "choices": [{"delta": {"content": "Hel')

    def stream_done(self) -> bytes | None:
        """The event that ends a stream (OpenAI's `[DONE]`), if the API has one."""
        return None


def default_message(status: int) -> str:
    """A realistic error message for a status code."""
    return {
        400: "Invalid request.",
        401: "Invalid or missing API key.",
        403: "Permission denied.",
        404: "Not found.",
        408: "Request timed out.",
        429: "Rate limit exceeded. Please retry after a short wait.",
        500: "The server had an error while processing your request.",
        502: "Bad gateway.",
        503: "The service is temporarily overloaded. Please retry.",
        504: "Gateway timeout.",
        529: "Overloaded.",
    }.get(status, f"HTTP {status}.")
