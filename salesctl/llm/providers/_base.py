"""What every SDK adapter shares: lazy client, key check, retries, and the streaming skeleton.

A concrete adapter says how to build its SDK client, how to make one request, how to open
one stream and read its chunks, and how to classify its SDK's exceptions; this base turns
that into the `ProviderAdapter` protocol with one retry policy and one failure vocabulary.
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, TypeVar

from salesctl.config import API_KEY_ENV, ProviderId, ProviderOptions, Settings
from salesctl.errors import MissingAPIKey, ProviderError
from salesctl.llm.types import (
    ProviderRequest,
    ProviderResponse,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)

from ._errors import SIMULATED_HEADER, Failure, MalformedResponse
from ._retry import call_with_retries

SIMULATED_ID_PREFIX = "sim"
T = TypeVar("T")
ClientT = TypeVar("ClientT")
"""An adapter's SDK client type (named as a string, so no SDK is imported to name it)."""
ChunkT = TypeVar("ChunkT")
"""The type of one chunk of an adapter's SDK stream."""

_FINISH_REASONS: dict[str, str] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
}


def normalise_finish_reason(raw: Any) -> str | None:
    """One vocabulary for why generation stopped: stop, length, tool_calls, content_filter.

    Anything else is passed through lower-cased rather than guessed at.
    """
    if raw is None:
        return None
    value = str(getattr(raw, "value", raw)).lower()
    return _FINISH_REASONS.get(value, value)


def is_simulated(headers: Mapping[str, Any] | None, response_id: str | None) -> bool:
    """True when the answer says it came from the salesctl provider simulator."""
    if headers:
        lowered = {str(k).lower(): v for k, v in headers.items()}
        flag = str(lowered.get(SIMULATED_HEADER, "")).strip().lower()
        if flag and flag not in ("0", "false", "no"):
            return True
    return bool(response_id) and str(response_id).startswith(SIMULATED_ID_PREFIX)


def parse_arguments(raw: str | Mapping[str, Any] | None, tool: str) -> dict[str, Any]:
    """A tool call's arguments as a dict; empty means no arguments."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise MalformedResponse(f"arguments of tool call {tool!r} are not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedResponse(f"arguments of tool call {tool!r} are not a JSON object")
    return value


def decimal_or_none(value: Any) -> Decimal | None:
    """A reported money figure as an exact Decimal (via str, so 0.1 stays 0.1); None when it
    is not a finite, non-negative amount (the call is then priced from the price table)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def as_json(model: Any) -> dict[str, Any] | None:
    """An SDK usage object as plain JSON, in the wire's field names, for `raw_usage`."""
    if model is None:
        return None
    if isinstance(model, Mapping):
        return dict(model)
    dump = getattr(model, "model_dump", None)
    if dump is None:
        return None
    result: dict[str, Any] = dump(mode="json", exclude_none=True, by_alias=True)
    return result


class StreamAccumulator(ABC, Generic[ChunkT]):
    """Collects one stream's text, tool calls, usage and end marker, chunk by chunk."""

    def __init__(self, request: ProviderRequest, *, simulated: bool = False) -> None:
        self.model = request.model
        self.text_parts: list[str] = []
        self.usage: Usage | None = None
        self.raw_usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.reported_cost_usd: Decimal | None = None
        self.simulated = simulated
        self.complete = False
        """True once the provider's end-of-answer marker arrived; a stream ending without it
        was cut."""
        self.usage_complete = False
        """True once the provider's final usage report arrived (adapters set it)."""
        self.unanswered = 0
        """Attempts to open the stream the provider was served without answering."""

    @abstractmethod
    def feed(self, chunk: ChunkT) -> str:
        """Take one chunk; return the text it adds (may be empty)."""

    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The finished tool calls (raises MalformedResponse for unreadable arguments)."""
        return ()

    def text(self) -> str:
        return "".join(self.text_parts)

    def response(self, attempts: int) -> ProviderResponse:
        """The final response once the stream completed."""
        calls = self.tool_calls()
        finish = self.finish_reason
        if calls and finish == "stop":
            finish = "tool_calls"
        return ProviderResponse(
            text=self.text(),
            usage=self.usage or Usage(),
            model=self.model,
            tool_calls=calls,
            finish_reason=finish,
            reported_cost_usd=self.reported_cost_usd,
            simulated=self.simulated,
            attempts=attempts,
            usage_reported=self.usage is not None,
            raw_usage=self.raw_usage,
            unanswered=self.unanswered,
        )

    def partial(self, attempts: int) -> ProviderResponse:
        """What arrived before the stream broke: the text and whatever usage was reported."""
        return ProviderResponse(
            text=self.text(),
            usage=self.usage or Usage(),
            model=self.model,
            finish_reason=None,
            reported_cost_usd=self.reported_cost_usd,
            simulated=self.simulated,
            attempts=attempts,
            usage_reported=self.usage is not None,
            usage_complete=self.usage is not None and self.usage_complete,
            raw_usage=self.raw_usage,
        )


@dataclass(slots=True)
class OpenStream(Generic[ChunkT]):
    """A stream whose request succeeded: its chunks, its accumulator, and how to close it."""

    chunks: AsyncIterator[ChunkT]
    accumulator: StreamAccumulator[ChunkT]
    close: Callable[[], Awaitable[None]]


class SDKProvider(ABC, Generic[ClientT]):
    """A `ProviderAdapter` backed by one official SDK client, built on first use and then reused."""

    provider_id: ClassVar[ProviderId]

    def __init__(self, settings: Settings) -> None:
        self.name: str = self.provider_id
        self._settings = settings
        self._client: ClientT | None = None
        self._secret: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @property
    def options(self) -> ProviderOptions:
        """Timeout and retry count for this provider, from settings."""
        return self._settings.provider_options(self.provider_id)

    @property
    def base_url(self) -> str | None:
        return self._settings.base_url(self.provider_id)

    # --- what each adapter supplies ------------------------------------------------------

    @abstractmethod
    def _build_client(self, api_key: str) -> ClientT:
        """The SDK's async client, with the SDK's own retries off (imports the SDK)."""

    @abstractmethod
    async def _close_client(self, client: ClientT) -> None: ...

    @abstractmethod
    def _classify(self, exc: BaseException) -> Failure | None:
        """Classify an exception raised during a call; None for anything not the SDK's."""

    @abstractmethod
    async def _complete_once(self, client: ClientT, request: ProviderRequest) -> ProviderResponse:
        """One request, parsed (raise MalformedResponse for an unreadable answer)."""

    @abstractmethod
    async def _open_stream(self, client: ClientT, request: ProviderRequest) -> OpenStream[Any]:
        """Send one streaming request; return once the provider has accepted it."""

    # --- the ProviderAdapter protocol ----------------------------------------------------

    def prepare(self) -> None:
        """Build the SDK client (imports, no network) so a call's latency excludes import time.

        A missing key is left for the call itself to report.
        """
        with contextlib.suppress(MissingAPIKey):
            self._sdk_client()

    def _sdk_client(self) -> ClientT:
        if self._client is None:
            key = self._settings.api_key(self.provider_id)
            value = key.get_secret_value().strip() if key is not None else ""
            if not value:
                raise MissingAPIKey(self.provider_id, API_KEY_ENV[self.provider_id])
            self._secret = value
            self._client = self._build_client(value)
        return self._client

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> tuple[T, int, int]:
        options = self.options
        return await call_with_retries(
            attempt,
            provider=self.name,
            max_retries=options.max_retries,
            timeout_s=options.timeout_s,
            classify=self._classify,
            secret=self._secret,
        )

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """One completion, retried per the shared policy; `attempts` says how many it took."""
        client = self._sdk_client()
        response, attempts, unanswered = await self._retrying(
            lambda: self._complete_once(client, request)
        )
        return replace(response, attempts=attempts, unanswered=unanswered)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        """Text deltas, then exactly one ProviderResponse carrying the reported usage.

        Opening the stream is retried like a completion; once text has started to flow a
        failure is final and raises `stream_interrupted` with the partial answer attached.
        """
        client = self._sdk_client()
        opened, attempts, unanswered = await self._retrying(
            lambda: self._open_stream(client, request)
        )
        accumulator: StreamAccumulator[Any] = opened.accumulator
        accumulator.unanswered = unanswered
        try:
            try:
                async for chunk in opened.chunks:
                    delta = accumulator.feed(chunk)
                    if delta:
                        yield TextDelta(delta)
            except Exception as exc:
                raise self._interrupted(exc, accumulator, attempts) from exc
            if not accumulator.complete:
                failure = Failure("stream_interrupted", False, detail="ended before its end marker")
                raise failure.to_error(
                    self.name,
                    attempts=attempts,
                    partial=accumulator.partial(attempts),
                    unanswered=unanswered,
                )
            try:
                final = accumulator.response(attempts)
            except MalformedResponse as exc:
                failure = Failure("malformed_response", False, detail=str(exc))
                raise failure.to_error(
                    self.name,
                    attempts=attempts,
                    secret=self._secret,
                    partial=accumulator.partial(attempts),
                    unanswered=unanswered,
                ) from exc
        finally:
            await opened.close()
        yield final

    def _interrupted(
        self, exc: Exception, accumulator: StreamAccumulator[Any], attempts: int
    ) -> ProviderError:
        if isinstance(exc, ProviderError):
            detail = str(exc)
        else:
            failure = self._classify(exc)
            detail = failure.detail if failure and failure.detail else type(exc).__name__
        return Failure("stream_interrupted", False, detail=detail).to_error(
            self.name,
            attempts=attempts,
            secret=self._secret,
            partial=accumulator.partial(attempts),
            unanswered=accumulator.unanswered,
        )

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool) if one was built."""
        client, self._client = self._client, None
        if client is not None:
            await self._close_client(client)


async def parsed(raw: Any) -> Any:
    """`raw.parse()` of a raw SDK response, whether the SDK's parse is sync or async."""
    result = raw.parse()
    if isinstance(result, Awaitable):
        result = await result
    return result
