"""OpenAI-style chat completions: OpenAI and OpenRouter (openai SDK), Cerebras (cerebras SDK).

All three speak the same wire format, including the usage quirk this module normalises:
`prompt_tokens` already contains the cached tokens (`prompt_tokens_details.cached_tokens`),
so they are subtracted once to get the uncached input.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from salesctl.config import ProviderId
from salesctl.llm.types import Message, ProviderRequest, ProviderResponse, ToolCall, Usage

from ._base import (
    OpenStream,
    SDKProvider,
    StreamAccumulator,
    as_json,
    decimal_or_none,
    is_simulated,
    normalise_finish_reason,
    parse_arguments,
    parsed,
)
from ._errors import Failure, MalformedResponse, stainless_failure

if TYPE_CHECKING:  # the SDKs themselves are imported on the first call
    from cerebras.cloud.sdk import AsyncCerebras
    from openai import AsyncOpenAI

    ChatClient: TypeAlias = AsyncOpenAI | AsyncCerebras
    """The two SDKs share the Chat Completions surface (cerebras-cloud-sdk copies openai's)."""

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


def chat_messages(request: ProviderRequest) -> list[dict[str, Any]]:
    """The request's system prompt and turns in the chat-completions message format."""
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    out.extend(_chat_message(m) for m in request.messages)
    return out


def _chat_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        if not message.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id of the call it answers")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def schema_name(schema: dict[str, Any]) -> str:
    """A json_schema name the APIs accept (letters, digits, `_`, `-`; at most 64)."""
    title = str(schema.get("title") or "response")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", title).strip("_")[:64]
    return name or "response"


def _get(obj: Any, name: str) -> Any:
    """A field of a parsed chunk, or of a raw dict where the SDK left one.

    cerebras-cloud-sdk types a tool-call fragment without `"type"` as the wrong member of its
    response union and leaves `delta` a plain dict, so stream chunks are read both ways.
    """
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def openai_usage(usage: Any) -> Usage:
    """Normalise OpenAI-style usage: cached tokens are inside `prompt_tokens`, subtract once.

    OpenRouter also reports `cache_write_tokens` (for providers that charge cache writes),
    which likewise sit inside `prompt_tokens`. Reasoning tokens
    (`completion_tokens_details.reasoning_tokens`) are part of `completion_tokens`.
    """
    prompt = int(_get(usage, "prompt_tokens") or 0)
    details = _get(usage, "prompt_tokens_details")
    cache_read = int(_get(details, "cached_tokens") or 0) if details else 0
    cache_write = int(_get(details, "cache_write_tokens") or 0) if details else 0
    output = _get(usage, "completion_tokens_details")
    reasoning = int(_get(output, "reasoning_tokens") or 0) if output else 0
    return Usage(
        input_tokens=max(prompt - cache_read - cache_write, 0),
        output_tokens=int(_get(usage, "completion_tokens") or 0),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


class OpenAICompatibleProvider(SDKProvider["ChatClient"]):
    """Chat completions through an OpenAI-style SDK."""

    default_base_url: ClassVar[str | None] = None
    max_tokens_param: ClassVar[str] = "max_completion_tokens"
    extra_body: ClassVar[dict[str, Any] | None] = None

    def _sdk(self) -> Any:
        import openai

        return openai

    def _build_client(self, api_key: str) -> ChatClient:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url or self.default_base_url,
            timeout=self.options.timeout_s,
            max_retries=0,
        )

    async def _close_client(self, client: ChatClient) -> None:
        await client.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        return stainless_failure(exc, self._sdk())

    def _arguments(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request),
            self.max_tokens_param: request.max_tokens,
        }
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
        if request.response_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(request.response_schema),
                    "schema": request.response_schema,
                    "strict": False,
                },
            }
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return kwargs

    async def _complete_once(
        self, client: ChatClient, request: ProviderRequest
    ) -> ProviderResponse:
        raw = await client.chat.completions.with_raw_response.create(
            **self._arguments(request, stream=False)
        )
        completion = await parsed(raw)
        try:
            return self._response(completion, raw.headers, request)
        except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
            raise MalformedResponse("the completion is missing expected fields") from exc

    def _response(
        self, completion: Any, headers: Any, request: ProviderRequest
    ) -> ProviderResponse:
        if isinstance(completion, (str, bytes)) or not getattr(completion, "choices", None):
            raise MalformedResponse("the body is not a chat completion")
        message = completion.choices[0].message
        calls = tuple(
            ToolCall(
                id=call.id,
                name=call.function.name,
                arguments=parse_arguments(call.function.arguments, call.function.name),
            )
            for call in (message.tool_calls or ())
        )
        usage = completion.usage
        if usage is not None and not isinstance(getattr(usage, "prompt_tokens", None), int):
            raise MalformedResponse("the usage report has no prompt_tokens")
        return ProviderResponse(
            text=message.content or "",
            usage=openai_usage(usage) if usage is not None else Usage(),
            model=completion.model or request.model,
            tool_calls=calls,
            finish_reason=normalise_finish_reason(completion.choices[0].finish_reason),
            reported_cost_usd=decimal_or_none(getattr(usage, "cost", None)),
            simulated=is_simulated(headers, completion.id),
            usage_reported=usage is not None,
            raw_usage=as_json(usage),
        )

    async def _open_stream(self, client: ChatClient, request: ProviderRequest) -> OpenStream[Any]:
        raw = await client.chat.completions.with_raw_response.create(
            **self._arguments(request, stream=True)
        )
        stream = await parsed(raw)
        accumulator = _ChatStream(request, simulated=is_simulated(raw.headers, None))
        return OpenStream(chunks=stream, accumulator=accumulator, close=stream.close)


class _ChatStream(StreamAccumulator[Any]):
    """Chat-completion chunks: content deltas, tool-call fragments by index, usage at the end.

    The usage chunk normally has no choices, but some servers put it on the last chunk that
    still carries a choice (and its finish_reason), so both are read from every chunk.
    """

    def __init__(self, request: ProviderRequest, *, simulated: bool) -> None:
        super().__init__(request, simulated=simulated)
        self._calls: dict[int, dict[str, Any]] = {}

    def feed(self, chunk: Any) -> str:
        if _get(chunk, "model"):
            self.model = _get(chunk, "model")
        if not self.simulated and is_simulated(None, _get(chunk, "id")):
            self.simulated = True
        text = ""
        for choice in _get(chunk, "choices") or ():
            if _get(choice, "index") not in (0, None):
                continue
            delta = _get(choice, "delta")
            if delta is not None:
                text += _get(delta, "content") or ""
                for fragment in _get(delta, "tool_calls") or ():
                    self._add_fragment(fragment)
            if _get(choice, "finish_reason"):
                self.finish_reason = normalise_finish_reason(_get(choice, "finish_reason"))
                self.complete = True
        usage = _get(chunk, "usage")
        if usage is not None:
            # Chat completions report usage once, for the whole answer, at its end.
            self.usage_complete = True
            self.usage = openai_usage(usage)
            self.raw_usage = as_json(usage)
            self.reported_cost_usd = decimal_or_none(_get(usage, "cost"))
        if text:
            self.text_parts.append(text)
        return text

    def _add_fragment(self, fragment: Any) -> None:
        index = _get(fragment, "index")
        call = self._calls.setdefault(
            index if index is not None else len(self._calls),
            {"id": "", "name": "", "arguments": ""},
        )
        if _get(fragment, "id"):
            call["id"] = _get(fragment, "id")
        function = _get(fragment, "function")
        if function is not None:
            call["name"] += _get(function, "name") or ""
            call["arguments"] += _get(function, "arguments") or ""

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(
                id=call["id"],
                name=call["name"],
                arguments=parse_arguments(call["arguments"], call["name"]),
            )
            for _, call in sorted(self._calls.items())
        )


class OpenAIProvider(OpenAICompatibleProvider):
    """OpenAI, through the openai SDK."""

    provider_id: ClassVar[ProviderId] = "openai"


class OpenRouterProvider(OpenAICompatibleProvider):
    """OpenRouter (DeepSeek and others), through the openai SDK; asks for the call's cost."""

    provider_id: ClassVar[ProviderId] = "openrouter"
    default_base_url = OPENROUTER_BASE_URL
    max_tokens_param = "max_tokens"
    extra_body: ClassVar[dict[str, Any] | None] = {"usage": {"include": True}}


class CerebrasProvider(OpenAICompatibleProvider):
    """Cerebras, through cerebras-cloud-sdk (no warm-up request at construction)."""

    provider_id: ClassVar[ProviderId] = "cerebras"

    def _sdk(self) -> Any:
        from cerebras.cloud import sdk

        return sdk

    def _build_client(self, api_key: str) -> AsyncCerebras:
        from cerebras.cloud import sdk

        from ._transport import Httpx2PoolTransport

        return sdk.AsyncCerebras(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.options.timeout_s,
            max_retries=0,
            warm_tcp_connection=False,
            # The SDK's httpx client over httpcore2's connection pool: httpcore's re-scans and
            # re-polls every pooled connection per request, and closes each idle connection
            # once more calls are in flight than it keeps alive (20 by default), which made
            # a bulk run's throughput collapse above `--concurrency 32` (issue #17).
            http_client=sdk.DefaultAsyncHttpxClient(transport=Httpx2PoolTransport()),
        )
