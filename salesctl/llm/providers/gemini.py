"""Gemini through google-genai.

Gemini's `prompt_token_count` includes `cached_content_token_count`, so the cached part is
subtracted once; thinking tokens (`thoughts_token_count`) are billed as output and counted
there, and tool-use prompt tokens are billed as input. The SDK does not retry by default;
the shared policy does.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from salesctl.config import ProviderId, Settings
from salesctl.llm.types import ProviderRequest, ProviderResponse, ToolCall, Usage

from ._base import (
    OpenStream,
    SDKProvider,
    StreamAccumulator,
    as_json,
    is_simulated,
    normalise_finish_reason,
    parse_arguments,
)
from ._errors import Failure, MalformedResponse, gemini_failure

if TYPE_CHECKING:  # the SDK itself is imported on the first call
    from google.genai import Client
    from google.genai.types import (
        Content,
        FunctionCall,
        GenerateContentConfig,
        GenerateContentResponse,
        Part,
    )

LOCAL_CALL_ID_PREFIX = "salesctl-call-"
"""Ids we make up for function calls Gemini sent without one; never sent back to Gemini."""
_SIGNATURES_KEPT = 512


def gemini_usage(metadata: Any) -> Usage:
    """Normalise `usage_metadata`: cached tokens sit inside the prompt count, subtract once."""
    prompt = int(getattr(metadata, "prompt_token_count", 0) or 0)
    cached = int(getattr(metadata, "cached_content_token_count", 0) or 0)
    tool_prompt = int(getattr(metadata, "tool_use_prompt_token_count", 0) or 0)
    candidates = int(getattr(metadata, "candidates_token_count", 0) or 0)
    thoughts = int(getattr(metadata, "thoughts_token_count", 0) or 0)
    return Usage(
        input_tokens=max(prompt - cached, 0) + tool_prompt,
        output_tokens=candidates + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def _function_response(content: str) -> dict[str, Any]:
    """Gemini wants a JSON object back from a function: the tool's object, or its text."""
    try:
        value = json.loads(content)
    except ValueError:
        return {"output": content}
    return value if isinstance(value, dict) else {"output": value}


class GeminiProvider(SDKProvider["Client"]):
    """Gemini through the official google-genai SDK (its async client, `client.aio`)."""

    provider_id: ClassVar[ProviderId] = "gemini"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._signatures: OrderedDict[str, bytes] = OrderedDict()
        """Thought signatures of function calls, by call id, to hand back with the call."""

    def _build_client(self, api_key: str) -> Client:
        from google import genai
        from google.genai import types

        from ._transport import Httpx2PoolTransport

        http_options = types.HttpOptions(
            base_url=self.base_url or None,
            timeout=int(self.options.timeout_s * 1000),
            # google-genai switches its async client to aiohttp whenever aiohttp can be
            # imported, which changes the exceptions a dropped connection raises. Giving it an
            # httpx transport keeps it on httpx (its documented switch), wherever it runs; this
            # one sends through httpcore2's pool, which keeps up with a bulk run's concurrency
            # where httpcore's does not (see `_transport`).
            async_client_args={"transport": Httpx2PoolTransport()},
        )
        return genai.Client(api_key=api_key, http_options=http_options)

    async def _close_client(self, client: Client) -> None:
        await client.aio.aclose()
        client.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        return gemini_failure(exc)

    # --- request -------------------------------------------------------------------------

    def _contents(self, request: ProviderRequest) -> list[Content]:
        """Turns as Contents; tool results become functionResponse parts in a user turn.

        A functionResponse must name its function, which a tool message does not carry: the
        name comes from the assistant turn whose call it answers.
        """
        from google.genai import types

        names: dict[str, str] = {}
        contents: list[types.Content] = []

        def add(role: str, parts: list[types.Part]) -> None:
            if not parts:
                return
            if contents and contents[-1].role == role:
                contents[-1].parts = [*(contents[-1].parts or []), *parts]
            else:
                contents.append(types.Content(role=role, parts=parts))

        for message in request.messages:
            text = [types.Part(text=message.content)] if message.content else []
            if message.role == "assistant":
                calls = []
                for call in message.tool_calls:
                    names[call.id] = call.name
                    calls.append(
                        types.Part(
                            function_call=types.FunctionCall(
                                id=self._wire_id(call.id), name=call.name, args=call.arguments
                            ),
                            thought_signature=self._signatures.get(call.id),
                        )
                    )
                add("model", text + calls)
            elif message.role == "tool":
                call_id = message.tool_call_id or ""
                if call_id not in names:
                    raise ValueError(
                        f"tool result {call_id!r} answers no tool call of an earlier "
                        "assistant message (Gemini needs the function's name)"
                    )
                response = types.FunctionResponse(
                    id=self._wire_id(call_id),
                    name=names[call_id],
                    response=_function_response(message.content),
                )
                add("user", [types.Part(function_response=response)])
            else:
                add("user", text)
        return contents

    @staticmethod
    def _wire_id(call_id: str) -> str | None:
        return None if call_id.startswith(LOCAL_CALL_ID_PREFIX) else call_id

    def _config(self, request: ProviderRequest) -> GenerateContentConfig:
        from google.genai import types

        tools: list[Any] | None = None
        if request.tools:
            declarations = [
                types.FunctionDeclaration(
                    name=tool.name,
                    description=tool.description,
                    parameters_json_schema=tool.parameters,
                )
                for tool in request.tools
            ]
            tools = [types.Tool(function_declarations=declarations)]
        structured = request.response_schema is not None
        return types.GenerateContentConfig(
            system_instruction=request.system or None,
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            tools=tools,
            response_mime_type="application/json" if structured else None,
            response_json_schema=request.response_schema,
        )

    # --- response ------------------------------------------------------------------------

    def _tool_call(self, function_call: FunctionCall, part: Part) -> ToolCall:
        call_id = function_call.id or f"{LOCAL_CALL_ID_PREFIX}{uuid.uuid4().hex[:16]}"
        signature = getattr(part, "thought_signature", None)
        if signature:
            self._signatures[call_id] = signature
            while len(self._signatures) > _SIGNATURES_KEPT:
                self._signatures.popitem(last=False)
        name = function_call.name or ""
        return ToolCall(id=call_id, name=name, arguments=parse_arguments(function_call.args, name))

    async def _complete_once(self, client: Client, request: ProviderRequest) -> ProviderResponse:
        response = await client.aio.models.generate_content(
            model=request.model, contents=self._contents(request), config=self._config(request)
        )
        try:
            return self._response(response, request)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise MalformedResponse("the response is missing expected fields") from exc

    def _response(
        self, response: GenerateContentResponse, request: ProviderRequest
    ) -> ProviderResponse:
        texts: list[str] = []
        calls: list[ToolCall] = []
        candidate = response.candidates[0] if response.candidates else None
        for part in _parts(candidate):
            if part.function_call is not None:
                calls.append(self._tool_call(part.function_call, part))
            elif part.text and not part.thought:
                texts.append(part.text)
        metadata = response.usage_metadata
        if metadata is None:
            raise MalformedResponse("the response has no usage_metadata")
        finish = normalise_finish_reason(candidate.finish_reason if candidate else None)
        if finish is None and getattr(response.prompt_feedback, "block_reason", None):
            finish = "content_filter"
        if calls and finish == "stop":
            finish = "tool_calls"
        headers = getattr(response.sdk_http_response, "headers", None)
        return ProviderResponse(
            text="".join(texts),
            usage=gemini_usage(metadata),
            model=response.model_version or request.model,
            tool_calls=tuple(calls),
            finish_reason=finish,
            simulated=is_simulated(headers, response.response_id),
            raw_usage=as_json(metadata),
        )

    async def _open_stream(
        self, client: Client, request: ProviderRequest
    ) -> OpenStream[GenerateContentResponse]:
        chunks = await client.aio.models.generate_content_stream(
            model=request.model, contents=self._contents(request), config=self._config(request)
        )
        # The request is only sent when the first chunk is asked for: fetch it here, so a
        # refused request is retried like a completion.
        first = await anext(aiter(chunks), None)
        headers = getattr(getattr(first, "sdk_http_response", None), "headers", None)
        accumulator = _ContentStream(request, self, simulated=is_simulated(headers, None))

        async def replay() -> AsyncIterator[GenerateContentResponse]:
            if first is None:
                return
            yield first
            async for chunk in chunks:
                yield chunk

        async def close() -> None:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

        return OpenStream(chunks=replay(), accumulator=accumulator, close=close)


def _parts(candidate: Any) -> list[Any]:
    content = getattr(candidate, "content", None)
    return list(getattr(content, "parts", None) or [])


class _ContentStream(StreamAccumulator["GenerateContentResponse"]):
    """GenerateContent chunks: text and function-call parts; the last chunk carries the
    usage and the finish reason."""

    def __init__(self, request: ProviderRequest, provider: GeminiProvider, *, simulated: bool):
        super().__init__(request, simulated=simulated)
        self._provider = provider
        self._calls: list[ToolCall] = []

    def feed(self, chunk: GenerateContentResponse) -> str:
        if chunk.model_version:
            self.model = chunk.model_version
        if is_simulated(None, chunk.response_id):
            self.simulated = True
        if chunk.usage_metadata is not None:
            self.usage = gemini_usage(chunk.usage_metadata)
            self.raw_usage = as_json(chunk.usage_metadata)
        candidate = chunk.candidates[0] if chunk.candidates else None
        text = ""
        for part in _parts(candidate):
            if part.function_call is not None:
                self._calls.append(self._provider._tool_call(part.function_call, part))
            elif part.text and not part.thought:
                text += part.text
        if candidate is not None and candidate.finish_reason is not None:
            self.finish_reason = normalise_finish_reason(candidate.finish_reason)
            self.complete = True
            # The last chunk's usage is the whole answer's; earlier chunks' (when sent) are
            # counts so far.
            self.usage_complete = chunk.usage_metadata is not None
        if text:
            self.text_parts.append(text)
        return text

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(self._calls)
