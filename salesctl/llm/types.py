"""Provider-neutral types at the centre of the gateway; adapters translate at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from salesctl.vocabulary import Complexity

Role = Literal["user", "assistant", "tool"]
Mode = Literal["passthrough", "smart_router"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: `parameters` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for, with parsed arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn. The system prompt is passed separately, never as a message.

    A `tool` message answers the assistant's call `tool_call_id` with `content`.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the provider reported them, normalised.

    `input_tokens` counts uncached prompt tokens only; cached prompt tokens are in
    `cache_read_tokens` (read from the provider's cache) and `cache_write_tokens` (written to it).
    Adapters whose provider includes cached tokens in its prompt count subtract them here, once.
    Two finer counts are parts of others, kept because some prices tell them apart:
    `cache_write_1h_tokens` of `cache_write_tokens` (Anthropic's one-hour cache writes, billed
    above the five-minute ones) and `reasoning_tokens` of `output_tokens` (reasoning/thinking).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    """Of `cache_write_tokens`: written for one hour rather than five minutes."""
    reasoning_tokens: int = 0
    """Of `output_tokens`: the model's reasoning (thinking) tokens."""

    @property
    def prompt_tokens(self) -> int:
        """All prompt tokens, cached or not (the seed's `prompt_tokens`)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """Everything an adapter needs for one call; `model` is the provider's own model id."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int = 1000
    temperature: float | None = None
    tools: tuple[ToolSpec, ...] = ()
    response_schema: dict[str, Any] | None = None
    cache_prompt: bool = False
    """Ask for the stable prefix (tools, system prompt) to be cached where caching is explicit
    (Anthropic `cache_control`); providers that cache automatically ignore it."""


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """What the provider answered, already normalised."""

    text: str
    usage: Usage
    model: str
    """The model the provider says it served (may differ from the one requested)."""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    reported_cost_usd: Decimal | None = None
    """The call's cost when the provider reports it itself (OpenRouter's `usage.cost`)."""
    simulated: bool = False
    attempts: int = 1
    usage_reported: bool = True
    """False when the provider sent no usage (a stream cut before it): tokens unknown, not 0."""
    usage_complete: bool = True
    """False for a stream cut before its final usage report: `usage` holds only what was
    reported so far (an Anthropic stream reports its prompt first, its output at the end)."""
    raw_usage: dict[str, Any] | None = None
    """The provider's usage report verbatim (JSON-able), kept for audits of the normalisation."""
    unanswered: int = 0
    """Earlier attempts the provider was served without answering (timed out after the
    request was sent, or cut short): billed by the provider, priced on an estimate."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed answer text."""

    text: str


StreamEvent = TextDelta | ProviderResponse
"""A stream yields text deltas and ends with exactly one ProviderResponse carrying usage."""


class ProviderAdapter(Protocol):
    """One LLM API behind its official SDK. Adding a provider is one module implementing this."""

    name: str

    async def complete(self, request: ProviderRequest) -> ProviderResponse: ...

    def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class LLMResult:
    """The gateway's answer to one `complete()` call, with what it cost."""

    text: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal | None
    latency_ms: int
    tracking_id: str
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_hit: bool = False
    complexity: Complexity | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    saved_usd: Decimal | None = None
    price_source: str | None = None
    simulated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    cost_estimated: bool = False
    """The provider reported no usage for the answer: `cost_usd` is an estimate."""

    @property
    def json(self) -> Any:
        """The answer parsed as JSON (for `response_schema` calls)."""
        import json

        return json.loads(self.text)


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Who is calling and how to pick the model (the seed's `LLMConfig`).

    passthrough: `provider` and `model` are required and used as given.
    smart_router: the gateway classifies the request and picks from the tier's choices.
    `cache=None` follows the agent's policy (on for lead agents, off for chat agents).
    """

    agent_type: str
    mode: Mode = "passthrough"
    provider: str | None = None
    model: str | None = None
    lead_id: int | None = None
    session_id: str | None = None
    user_id: str | None = None
    cache: bool | None = None
