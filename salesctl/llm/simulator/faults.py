"""Queued faults and scripted answers, consumed by the next matching request.

Tests (and the HTTP control surface) queue them; each request to a provider pops at most one
fault and one script that match it (`provider=None` matches any provider), oldest first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from .brain import Script

PROVIDERS = ("cerebras", "claude", "gemini", "openrouter", "openai")
"""Provider names as salesctl spells them (Anthropic is "claude")."""

FaultKind = Literal[
    "status", "timeout", "slow", "malformed", "cut_stream", "wrong_content", "refused"
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]


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
      cut_stream    a stream stops abruptly after `after_chunks` content chunks (the chunked body
                    is never terminated); a non-streaming body is cut short of its length.
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
    return Fault(
        kind=kind,  # type: ignore[arg-type]
        provider=provider,
        status=status if status is not None else 500,
        retry_after=retry_after,
        delay=delay,
        after_chunks=after_chunks,
        message=message,
        times=times,
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

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def add_script(self, provider: str | None, script: Script) -> None:
        with self._lock:
            self._scripts.append((provider, script))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._scripts.clear()

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
