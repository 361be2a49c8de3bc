"""The record of every request the simulator answered, for tests to compare with salesctl's."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServedCall:
    """One answered request, with the usage exactly as the response reported it.

    Token fields follow salesctl's `Usage` convention whatever the provider's own is:
    `input_tokens` is the *uncached* prompt tokens (OpenAI-style `prompt_tokens` minus
    `cached_tokens`; Anthropic's `input_tokens` as is; Gemini `promptTokenCount` minus
    `cachedContentTokenCount`), `cache_read_tokens`/`cache_write_tokens` the cached ones.
    `raw_usage` keeps the provider's usage object verbatim.

    `status` is the HTTP status sent, or 0 when no response was sent (`refused`/`timeout`
    faults). A stream cut short records only the usage reported before the cut; a malformed
    body reports nothing (`usage_reported=False`, zero tokens).

    `billed_prompt_tokens`/`billed_output_tokens` are what the simulated provider charges for
    the request, reported or not: the whole prompt and the output it generated for a cut
    stream (the content it sent), an unreadable body or a cut-short one; the prompt for a
    request it held until the client gave up (`timeout`); nothing for an error status or a
    connection refused before the request was read.
    """

    provider: str
    model: str
    """The model the response said it served (the requested one for errors)."""
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    status: int
    stream: bool
    cost_usd_reported: float | None = None
    requested_model: str = ""
    reasoning_tokens: int = 0
    """Reasoning output on top of `output_tokens` (billed as output): OpenAI-style
    `reasoning_tokens`, Gemini's `thoughtsTokenCount`, Anthropic thinking."""
    fault: str | None = None
    """The injected fault's kind, if one shaped this answer."""
    usage_reported: bool = True
    raw_usage: dict[str, Any] | None = None
    cache_write_1h_tokens: int = 0
    """Of `cache_write_tokens`: Anthropic's one-hour writes."""
    billed_prompt_tokens: int = 0
    billed_output_tokens: int = 0
    """Output billed, reasoning included."""
    body: dict[str, Any] | None = None
    """The JSON body of a whole (non-streamed) answer, as sent: what a usage extractor reads."""

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens, cached or not."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def fully_reported(self) -> bool:
        """The usage report covers everything billed (nothing for a client to estimate)."""
        return (self.billed_prompt_tokens, self.billed_output_tokens) == (
            self.prompt_tokens if self.usage_reported else 0,
            self.output_tokens + self.reasoning_tokens if self.usage_reported else 0,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    """A thread-safe, append-only list of ServedCall."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[ServedCall] = []

    def add(self, call: ServedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def snapshot(self) -> list[ServedCall]:
        with self._lock:
            return list(self._calls)
