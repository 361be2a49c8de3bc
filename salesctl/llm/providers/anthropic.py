"""Claude through the anthropic SDK (Messages API).

Anthropic reports `input_tokens` without the cached ones and the cache reads and writes
separately, so usage maps one to one. Structured output is a forced `respond` tool whose
input is the answer: the portable way across Claude models and gateways.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from salesctl.config import ProviderId
from salesctl.llm.types import ProviderRequest, ProviderResponse, ToolCall, Usage

from ._base import (
    OpenStream,
    SDKProvider,
    StreamAccumulator,
    as_json,
    is_simulated,
    normalise_finish_reason,
    parse_arguments,
    parsed,
)
from ._errors import Failure, MalformedResponse, stainless_failure

if TYPE_CHECKING:  # the SDK itself is imported on the first call
    from anthropic import AsyncAnthropic
    from anthropic.types import Message

RESPOND_TOOL = "respond"
"""The tool Claude is made to call when the request wants structured output."""
_WRAPPED_KEY = "value"
"""Where a non-object schema is nested: tool inputs must be JSON objects."""


def anthropic_usage(usage: Any) -> Usage:
    """Anthropic's buckets are already disjoint: uncached input, cache reads, cache writes.

    `cache_creation` splits the writes by lifetime: one-hour writes
    (`ephemeral_1h_input_tokens`) are billed above five-minute ones, so they are kept apart.
    """
    written = int(_field(usage, "cache_creation_input_tokens") or 0)
    lifetimes = _field(usage, "cache_creation")
    one_hour = int(_field(lifetimes, "ephemeral_1h_input_tokens") or 0) if lifetimes else 0
    details = _field(usage, "output_tokens_details")
    return Usage(
        input_tokens=int(_field(usage, "input_tokens") or 0),
        output_tokens=int(_field(usage, "output_tokens") or 0),
        cache_read_tokens=int(_field(usage, "cache_read_input_tokens") or 0),
        cache_write_tokens=written,
        cache_write_1h_tokens=min(one_hour, written),
        reasoning_tokens=int(_field(details, "thinking_tokens") or 0) if details else 0,
    )


def _field(usage: Any, name: str) -> Any:
    return usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)


def anthropic_messages(request: ProviderRequest) -> list[dict[str, Any]]:
    """Turns as content blocks; tool results become `tool_result` blocks in a user turn.

    Consecutive turns of the same role are merged, as the API wants user and assistant
    to alternate (several tool results answer one assistant turn in one user turn).
    """
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for message in request.messages:
        text = [{"type": "text", "text": message.content}] if message.content else []
        if message.role == "tool":
            if not message.tool_call_id:
                raise ValueError("a tool message needs the tool_call_id of the call it answers")
            result = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            add("user", [result])
        elif message.role == "assistant":
            uses = [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls
            ]
            add("assistant", text + uses)
        else:
            add("user", text)
    return turns


def _schema_tool(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The `respond` tool for a response schema, and whether the schema had to be wrapped."""
    wrapped = schema.get("type") != "object"
    input_schema = (
        {"type": "object", "properties": {_WRAPPED_KEY: schema}, "required": [_WRAPPED_KEY]}
        if wrapped
        else schema
    )
    tool = {
        "name": RESPOND_TOOL,
        "description": "Give the final answer as structured data matching this schema.",
        "input_schema": input_schema,
    }
    return tool, wrapped


def _mark_cache_breakpoint(kwargs: dict[str, Any], tools: list[dict[str, Any]]) -> None:
    """Put one `cache_control` breakpoint at the end of the stable prefix.

    The prefix is tools, then system, then messages: the breakpoint goes on the system prompt,
    else on the last tool, else on the last block of the conversation.
    """
    ephemeral = {"type": "ephemeral"}
    if kwargs.get("system"):
        kwargs["system"] = [{"type": "text", "text": kwargs["system"], "cache_control": ephemeral}]
    elif tools:
        tools[-1] = {**tools[-1], "cache_control": ephemeral}
    elif kwargs["messages"]:
        blocks = kwargs["messages"][-1]["content"]
        blocks[-1] = {**blocks[-1], "cache_control": ephemeral}


class AnthropicProvider(SDKProvider["AsyncAnthropic"]):
    """Claude through the official anthropic SDK."""

    provider_id: ClassVar[ProviderId] = "claude"

    def _sdk(self) -> Any:
        import anthropic

        return anthropic

    def _build_client(self, api_key: str) -> AsyncAnthropic:
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.options.timeout_s,
            max_retries=0,
        )

    async def _close_client(self, client: AsyncAnthropic) -> None:
        await client.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        return stainless_failure(exc, self._sdk())

    def _arguments(self, request: ProviderRequest, *, stream: bool) -> tuple[dict[str, Any], bool]:
        """The SDK arguments, and whether the `respond` answer is a wrapped non-object."""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": anthropic_messages(request),
        }
        if request.system:
            kwargs["system"] = request.system
        if request.temperature is not None:
            # The installed SDK's create() no longer takes `temperature`; the Messages API
            # still does for the models that support it, so send it in the body as given.
            kwargs["extra_body"] = {"temperature": request.temperature}
        tools = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        if request.cache_prompt:
            _mark_cache_breakpoint(kwargs, tools)
        wrapped = False
        if request.response_schema is not None:
            respond, wrapped = _schema_tool(request.response_schema)
            tools.append(respond)
            # With other tools on offer the model may still call them; otherwise it must answer.
            kwargs["tool_choice"] = (
                {"type": "any"} if request.tools else {"type": "tool", "name": RESPOND_TOOL}
            )
        if tools:
            kwargs["tools"] = tools
        if stream:
            kwargs["stream"] = True
        return kwargs, wrapped

    async def _complete_once(
        self, client: AsyncAnthropic, request: ProviderRequest
    ) -> ProviderResponse:
        kwargs, wrapped = self._arguments(request, stream=False)
        raw = await client.messages.with_raw_response.create(**kwargs)
        message: Message = await parsed(raw)
        try:
            return self._response(message, raw.headers, request, wrapped)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            raise MalformedResponse("the message is missing expected fields") from exc

    def _response(
        self, message: Message, headers: Mapping[str, str], request: ProviderRequest, wrapped: bool
    ) -> ProviderResponse:
        if isinstance(message, (str, bytes)) or getattr(message, "content", None) is None:
            raise MalformedResponse("the body is not a message")
        texts: list[str] = []
        calls: list[ToolCall] = []
        structured: str | None = None
        for block in message.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = parse_arguments(block.input, block.name)
                if request.response_schema is not None and block.name == RESPOND_TOOL:
                    structured = _structured_text(arguments, wrapped)
                else:
                    calls.append(ToolCall(id=block.id, name=block.name, arguments=arguments))
        if message.usage is None or not isinstance(message.usage.input_tokens, int):
            raise MalformedResponse("the usage report has no input_tokens")
        finish = normalise_finish_reason(message.stop_reason)
        if structured is not None and not calls:
            finish = "stop"
        return ProviderResponse(
            text=structured if structured is not None else "".join(texts),
            usage=anthropic_usage(message.usage),
            model=message.model or request.model,
            tool_calls=tuple(calls),
            finish_reason=finish,
            simulated=is_simulated(headers, message.id),
            raw_usage=as_json(message.usage),
        )

    async def _open_stream(
        self, client: AsyncAnthropic, request: ProviderRequest
    ) -> OpenStream[Any]:
        kwargs, wrapped = self._arguments(request, stream=True)
        raw = await client.messages.with_raw_response.create(**kwargs)
        stream = await parsed(raw)
        accumulator = _MessageStream(
            request, simulated=is_simulated(raw.headers, None), wrapped=wrapped
        )
        return OpenStream(chunks=stream, accumulator=accumulator, close=stream.close)


def _structured_text(arguments: dict[str, Any], wrapped: bool) -> str:
    return json.dumps(arguments.get(_WRAPPED_KEY) if wrapped else arguments)


class _MessageStream(StreamAccumulator[Any]):
    """Messages-API events: usage from message_start, updated by message_delta; text and
    tool input from content-block deltas; message_stop ends the answer.

    For structured output the `respond` tool's JSON is streamed as the answer text (and any
    prose around it is dropped, as in `complete`).
    """

    def __init__(self, request: ProviderRequest, *, simulated: bool, wrapped: bool) -> None:
        super().__init__(request, simulated=simulated)
        self._structured = request.response_schema is not None
        self._wrapped = wrapped
        self._blocks: dict[int, dict[str, Any]] = {}
        self._usage_fields: dict[str, Any] = {}
        self._prose: list[str] = []

    def feed(self, chunk: Any) -> str:
        # Any, not the SDK's RawMessageStreamEvent: an event type the SDK does not know
        # arrives as a plain dict, and is skipped.
        kind = getattr(chunk, "type", None)
        if kind == "message_start":
            message = chunk.message
            self.model = message.model or self.model
            if is_simulated(None, message.id):
                self.simulated = True
            self._merge_usage(message.usage)
        elif kind == "content_block_start":
            block = chunk.content_block
            self._blocks[chunk.index] = {
                "type": block.type,
                "id": getattr(block, "id", ""),
                "name": getattr(block, "name", ""),
                "json": "",
            }
        elif kind == "content_block_delta":
            return self._delta(chunk.index, chunk.delta)
        elif kind == "message_delta":
            self.finish_reason = normalise_finish_reason(chunk.delta.stop_reason)
            self._merge_usage(chunk.usage)
            self.usage_complete = chunk.usage is not None
        elif kind == "message_stop":
            self.complete = True
        return ""

    def _delta(self, index: int, delta: Any) -> str:
        block = self._blocks.setdefault(index, {"type": "text", "id": "", "name": "", "json": ""})
        if delta.type == "text_delta":
            if self._structured:
                self._prose.append(delta.text)
                return ""
            self.text_parts.append(delta.text)
            return str(delta.text)
        if delta.type == "input_json_delta":
            block["json"] += delta.partial_json
            if self._is_respond(block) and not self._wrapped:
                self.text_parts.append(delta.partial_json)
                return str(delta.partial_json)
        return ""

    def _is_respond(self, block: dict[str, Any]) -> bool:
        return self._structured and block["type"] == "tool_use" and block["name"] == RESPOND_TOOL

    def _merge_usage(self, usage: Any) -> None:
        """message_delta's counts are cumulative: later non-null values replace earlier ones."""
        if usage is None:
            return
        fields = as_json(usage) or {}
        self._usage_fields.update({k: v for k, v in fields.items() if v is not None})
        self.usage = anthropic_usage(self._usage_fields)
        self.raw_usage = dict(self._usage_fields)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=b["id"], name=b["name"], arguments=parse_arguments(b["json"], b["name"]))
            for _, b in sorted(self._blocks.items())
            if b["type"] == "tool_use" and not self._is_respond(b)
        )

    def response(self, attempts: int) -> ProviderResponse:
        result = super().response(attempts)
        if not self._structured:
            return result
        respond = next((b for b in self._blocks.values() if self._is_respond(b)), None)
        if respond is None:
            return replace(result, text="".join(self._prose))
        arguments = parse_arguments(respond["json"], RESPOND_TOOL)
        text = _structured_text(arguments, True) if self._wrapped else result.text
        finish = "stop" if not result.tool_calls else result.finish_reason
        return replace(result, text=text, finish_reason=finish)
