"""Queued faults and scripted answers, consumed by the next matching request.

Tests (and the HTTP control surface) queue them; each request to a provider pops at most one
fault and one script that match it (`provider=None` matches any provider), oldest first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .brain import Script

PROVIDERS = ("cerebras", "claude", "gemini", "openrouter", "openai")
"""Provider names as salesctl spells them (Anthropic is "claude")."""

FaultKind = Literal[
    "status", "timeout", "slow", "malformed", "cut_stream", "wrong_content", "refused"
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)


@dataclass(slots=True)
class Fault:
    """One injected failure.

    kind:
      status        answer `status` (429, 500, 502, 503, 400, 401, ...) in the provider's error
                    shape; a 429 (or any status given `retry_after`) carries `retry-after`
                    (seconds, default 1) and `retry-after-ms`; `retry_after=False` sends none.
      timeout       hold the request `delay` seconds (default 30), then close the connection
                    without answering: the client's own timeout is expected to fire first.
      slow          wait `delay` seconds, then answer normally.
      malformed     status 200 with a truncated JSON body (or, when streaming, a truncated event).
      cut_stream    a stream stops abruptly after `after_chunks` content chunks, or after
                    `after_bytes` bytes of its body when given (negative: that many bytes
                    before its end; mid-event, mid-character even); the chunked body is never
                    terminated. A non-streaming body is cut short of its length (at
                    `after_bytes`, else half way).
      wrong_content valid JSON that does not fit the requested schema / tool parameters.
      refused       close the connection without any response.
    """

    kind: FaultKind = "status"
    provider: str | None = None
    status: int = 500
    retry_after: float | bool | None = None
    delay: float | None = None
    after_chunks: int = 2
    message: str | None = None
    times: int = 1
    after_bytes: int | None = None


@dataclass(slots=True)
class UsageShape:
    """The usage the next answer of `provider` (None: any) reports, instead of what the
    simulator counts itself; None leaves a figure as counted.

    prompt_tokens          all prompt tokens, cached ones included (e.g. 150_000 for a long-
                           context tier)
    cache_read_tokens      of those, read from the prompt cache
    cache_write_tokens     of those, written to it (Anthropic; OpenRouter `cache_write_tokens`)
    cache_write_1h_tokens  of the writes, one-hour ones (Anthropic `ephemeral_1h_input_tokens`)
    output_tokens          visible output (text and tool calls)
    reasoning_tokens       reasoning on top of it: OpenAI-style `reasoning_tokens` inside
                           `completion_tokens`, Gemini `thoughtsTokenCount`, Anthropic thinking
                           inside `output_tokens`
    served_model           the model id the answer says it served (e.g. a dated snapshot)
    report_cost            OpenRouter: False never sends `usage.cost`, True always does
    """

    provider: str | None = None
    prompt_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    served_model: str | None = None
    report_cost: bool | None = None
    times: int = 1


def make_shape(provider: str | None = None, *, times: int = 1, **figures: Any) -> UsageShape:
    """Validate `shape_next` arguments into a UsageShape."""
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
    if times < 1:
        raise ValueError("times must be at least 1")
    known = set(UsageShape.__dataclass_fields__) - {"provider", "times"}
    unknown = sorted(set(figures) - known)
    if unknown:
        raise ValueError(f"unknown usage figure(s) {unknown}; expected some of {sorted(known)}")
    for name, value in figures.items():
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"{name} must not be negative")
    shape = UsageShape(provider=provider, times=times, **figures)
    cached = (shape.cache_read_tokens or 0) + (shape.cache_write_tokens or 0)
    if shape.prompt_tokens is not None and cached > shape.prompt_tokens:
        raise ValueError("cached tokens cannot exceed prompt_tokens")
    if (shape.cache_write_1h_tokens or 0) > (shape.cache_write_tokens or 0):
        raise ValueError("cache_write_1h_tokens is part of cache_write_tokens")
    return shape


def make_fault(
    provider: str | None = None,
    status: int | None = None,
    *,
    kind: str | None = None,
    retry_after: float | bool | None = None,
    delay: float | None = None,
    after_chunks: int = 2,
    message: str | None = None,
    times: int = 1,
    after_bytes: int | None = None,
) -> Fault:
    """Validate `fail_next` arguments into a Fault."""
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
    kind = kind or "status"
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
    if kind == "status" and status is None:
        raise ValueError("a status fault needs status=...")
    if times < 1:
        raise ValueError("times must be at least 1")
    if after_bytes is not None and kind != "cut_stream":
        raise ValueError("after_bytes is the byte a cut_stream fault cuts at")
    return Fault(
        kind=kind,
        provider=provider,
        status=status if status is not None else 500,
        retry_after=retry_after,
        delay=delay,
        after_chunks=after_chunks,
        message=message,
        times=times,
        after_bytes=after_bytes,
    )


def make_script(
    provider: str | None = None,
    *,
    text: str | None = None,
    json: Any = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> Script:
    """Validate `script` arguments into a Script."""
    if provider is not None and provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")
    if sum(x is not None for x in (text, json, tool_calls)) != 1:
        raise ValueError("script needs exactly one of text=, json= or tool_calls=")
    for call in tool_calls or []:
        if "name" not in call:
            raise ValueError("each scripted tool call needs a name")
    return Script(text=text, json=json, tool_calls=tool_calls)


class Directives:
    """The queues of faults and scripts; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._scripts: list[tuple[str | None, Script]] = []
        self._shapes: list[UsageShape] = []

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def add_script(self, provider: str | None, script: Script) -> None:
        with self._lock:
            self._scripts.append((provider, script))

    def add_shape(self, shape: UsageShape) -> None:
        with self._lock:
            self._shapes.append(shape)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._scripts.clear()
            self._shapes.clear()

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self, provider: str) -> Fault | None:
        """The oldest fault for this provider, counting down its `times`."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.provider in (None, provider):
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[index]
                    return fault
        return None

    def take_script(self, provider: str) -> Script | None:
        with self._lock:
            for index, (wanted, script) in enumerate(self._scripts):
                if wanted in (None, provider):
                    del self._scripts[index]
                    return script
        return None

    def take_shape(self, provider: str) -> UsageShape | None:
        """The oldest usage shape for this provider, counting down its `times`."""
        with self._lock:
            for index, shape in enumerate(self._shapes):
                if shape.provider in (None, provider):
                    shape.times -= 1
                    if shape.times <= 0:
                        del self._shapes[index]
                    return shape
        return None
