"""Anthropic Messages API: `{url}/anthropic` + `/v1/messages` (anthropic SDK).

Faithful points the SDK and salesctl rely on: the streaming event sequence (message_start
with input usage, ping, content_block_start/delta/stop for text and tool_use with
input_json_delta, message_delta with the cumulative usage, message_stop); `input_tokens`
excluding cache reads/writes, which are reported apart; explicit prompt caching at
`cache_control` breakpoints; structured output through `output_config.format` (and the older
top-level `output_format`) or a forced tool.
"""

from __future__ import annotations

from typing import Any

from .brain import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    Answer,
    ChatRequest,
    Segment,
    ToolResult,
    ToolSpec,
    count_tokens,
    new_id,
    split_chunks,
)
from .wire import (
    BadRequest,
    PromptUsage,
    Rendered,
    Reported,
    Route,
    Served,
    SseEvent,
    WireFormat,
    canonical,
    default_message,
    sse,
)

SERVED_MODELS = {
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-0": "claude-opus-4-20250514",
}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _block_text(block: Any) -> tuple[str, int]:
    """Text of one content block (for token counting), and its image count."""
    if isinstance(block, str):
        return block, 0
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", "")), 0
    if kind in ("image", "document"):
        return "", 1
    if kind == "tool_use":
        return block.get("name", "") + canonical(block.get("input", {})), 0
    if kind == "tool_result":
        return _result_text(block.get("content")), 0
    if kind == "thinking":
        return str(block.get("thinking", "")), 0
    return canonical(block), 0


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


class AnthropicMessages(WireFormat):
    """The Messages API."""

    cache_style = "explicit"

    def route(self, method: str, path: str) -> Route | None:
        if method == "POST" and path == "/v1/messages":
            return Route("complete")
        if method == "POST" and path == "/v1/messages/count_tokens":
            return Route("count_tokens")
        return None

    def api_key(self, headers: Any, query: dict[str, list[str]]) -> str:
        """`x-api-key`, or `Authorization: Bearer` (what anthropic 2.x sends for api_key)."""
        return (headers.get("x-api-key") or "").strip() or super().api_key(headers, query)

    def parse(self, provider: str, route: Route, body: dict[str, Any]) -> ChatRequest:
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            raise BadRequest("model: Field required")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("messages: Field required")
        if route.action == "complete" and not isinstance(body.get("max_tokens"), int):
            raise BadRequest("max_tokens: Field required")

        segments: list[Segment] = []
        tools: list[ToolSpec] = []
        for tool in body.get("tools") or []:
            if tool.get("name") and "input_schema" in tool:
                tools.append(
                    ToolSpec(tool["name"], tool.get("description") or "", tool["input_schema"])
                )
            segments.append(self._segment(tool, count_tokens(canonical(tool))))
        system = body.get("system")
        if isinstance(system, str) and system:
            segments.append(Segment(canonical({"system": system}), count_tokens(system)))
        elif isinstance(system, list):
            for block in system:
                segments.append(self._segment(block, count_tokens(_block_text(block)[0])))

        names_by_id: dict[str, str] = {}
        user_text = ""
        for message in messages:
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list) or message.get("role") not in ("user", "assistant"):
                raise BadRequest("messages: each message needs a role and content")
            texts = []
            for position, block in enumerate(blocks):
                text, images = _block_text(block)
                tokens = count_tokens(text) + images * IMAGE_TOKENS
                if position == 0:
                    tokens += MESSAGE_OVERHEAD_TOKENS
                segments.append(self._segment(block, tokens, role=message["role"]))
                if block.get("type") == "tool_use":
                    names_by_id[block.get("id", "")] = block.get("name", "")
                if block.get("type") == "text":
                    texts.append(text)
            if message["role"] == "user" and texts:
                user_text = "\n".join(texts)

        results = []
        last = messages[-1]
        if last.get("role") == "user" and isinstance(last.get("content"), list):
            for block in last["content"]:
                if block.get("type") == "tool_result":
                    name = names_by_id.get(block.get("tool_use_id", ""), "the tool")
                    results.append(ToolResult(name, _result_text(block.get("content"))))
        if body.get("cache_control") and segments:  # automatic caching: mark the last block
            segments[-1] = Segment(segments[-1].key, segments[-1].tokens, cache_mark=True)

        schema = self._output_schema(body)
        if schema is not None:
            segments.append(Segment(canonical(schema), count_tokens(canonical(schema))))
        return ChatRequest(
            provider=provider,
            model=model,
            segments=segments,
            user_text=user_text,
            tool_results=results,
            tools=tools,
            tool_choice=self._tool_choice(body.get("tool_choice")),
            schema=schema,
            max_tokens=body.get("max_tokens"),
            stream=bool(body.get("stream")),
        )

    @staticmethod
    def _segment(block: Any, tokens: int, role: str | None = None) -> Segment:
        """A prompt segment; `cache_control` marks a breakpoint but is not part of the key."""
        marked = isinstance(block, dict) and bool(block.get("cache_control"))
        if isinstance(block, dict):
            block = {k: v for k, v in block.items() if k != "cache_control"}
        key = canonical({"role": role, "block": block} if role else block)
        return Segment(key, tokens, marked)

    @staticmethod
    def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
        fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
        if not fmt:
            return None
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise BadRequest("output_config.format: expected {type: json_schema, schema}")
        schema: dict[str, Any] = fmt["schema"]
        return schema

    @staticmethod
    def _tool_choice(value: Any) -> str:
        if not isinstance(value, dict):
            return "auto"
        kind = value.get("type")
        if kind == "tool":
            return str(value.get("name") or "required")
        return {"any": "required", "none": "none"}.get(str(kind), "auto")

    # --- responses --------------------------------------------------------------------------

    def usage(self, prompt: PromptUsage, output_tokens: int) -> dict[str, Any]:
        """Anthropic's usage: cache writes split by lifetime in `cache_creation`; thinking is
        inside `output_tokens`."""
        return {
            "input_tokens": prompt.uncached,
            "cache_creation_input_tokens": prompt.cache.write,
            "cache_read_input_tokens": prompt.cache.read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": prompt.cache.write - prompt.cache.write_1h,
                "ephemeral_1h_input_tokens": prompt.cache.write_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    @staticmethod
    def _reported(usage: dict[str, Any], reasoning: int = 0) -> Reported:
        return Reported(
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"] - reasoning,
            cache_read_tokens=usage["cache_read_input_tokens"],
            cache_write_tokens=usage["cache_creation_input_tokens"],
            reasoning_tokens=reasoning,
            raw=usage,
            cache_write_1h_tokens=(usage.get("cache_creation") or {}).get(
                "ephemeral_1h_input_tokens", 0
            ),
        )

    def render(
        self,
        provider: str,
        req: ChatRequest,
        ans: Answer,
        prompt: PromptUsage,
        body: dict[str, Any],
        served: Served = Served(),
    ) -> Rendered:
        model = served.model or SERVED_MODELS.get(req.model, req.model)
        message_id = new_id("sim_msg_")
        usage = self.usage(prompt, ans.output_tokens + ans.reasoning_tokens)
        blocks: list[dict[str, Any]] = []
        if ans.text or not ans.tool_calls:
            blocks.append({"type": "text", "text": ans.text})
        blocks += [
            {"type": "tool_use", "id": c.id.replace("sim_call_", "sim_toolu_"), "name": c.name}
            | {"input": c.arguments}
            for c in ans.tool_calls
        ]
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": STOP_REASONS[ans.finish],
            "stop_sequence": None,
            "usage": usage,
        }
        reported = self._reported(usage, ans.reasoning_tokens)
        if not req.stream:
            return Rendered(model=model, body=message, reported=reported)
        return Rendered(model=model, events=self._stream(message, usage, reported))

    def _stream(
        self, message: dict[str, Any], usage: dict[str, Any], reported: Reported
    ) -> list[SseEvent]:
        start_usage = {**usage, "output_tokens": 1}
        start = {**message, "content": [], "stop_reason": None, "usage": start_usage}
        events = [
            SseEvent(
                sse({"type": "message_start", "message": start}, "message_start"),
                reported=self._reported(start_usage),
            ),
            SseEvent(sse({"type": "ping"}, "ping")),
        ]
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in split_chunks(block["text"])]
            else:
                opening = {**block, "input": {}}
                deltas = [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in ["", *split_chunks(canonical(block["input"]))]
                ]
            events.append(self._event("content_block_start", index, content_block=opening))
            for delta in deltas:
                event = self._event("content_block_delta", index, delta=delta)
                events.append(SseEvent(event.data, content=True))
            events.append(self._event("content_block_stop", index))
        delta_usage = {
            k: v for k, v in usage.items() if k not in ("cache_creation", "service_tier")
        }
        events.append(
            SseEvent(
                sse(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                        "usage": delta_usage,
                    },
                    "message_delta",
                ),
                reported=reported,
            )
        )
        events.append(SseEvent(sse({"type": "message_stop"}, "message_stop")))
        return events

    @staticmethod
    def _event(kind: str, index: int, **fields: Any) -> SseEvent:
        return SseEvent(sse({"type": kind, "index": index, **fields}, kind))

    def malformed_event(self) -> bytes:
        truncated = '{"type": "content_block_delta", "index": 0, "delta": {"type": "te'
        return sse(truncated, "content_block_delta")

    def count_tokens_body(self, prompt_tokens: int) -> dict[str, Any]:
        return {"input_tokens": prompt_tokens}

    def error(
        self, provider: str, status: int, message: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        request_id = new_id("sim_req_")
        body: dict[str, Any] = {
            "type": "error",
            "error": {
                "type": _ERROR_TYPES.get(status, "api_error"),
                "message": message or default_message(status),
            },
            "request_id": request_id,
        }
        return body, {"request-id": request_id}
