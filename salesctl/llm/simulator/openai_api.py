"""OpenAI Chat Completions, and the two OpenAI-compatible flavours salesctl uses.

* openai:     `{url}/openai/v1` + `/chat/completions` (openai SDK)
* openrouter: `{url}/openrouter/api/v1` + `/chat/completions` (openai SDK); `usage.include`
              adds `usage.cost` in USD, as OpenRouter does.
* cerebras:   `{url}/cerebras` + `/v1/chat/completions` (cerebras-cloud-sdk); usage and
              `time_info` ride on the stream's finishing chunk, as Cerebras sends them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "deepseek/deepseek-chat": "deepseek/deepseek-chat-v3-0324",
}
"""Requested alias → the dated model the provider says it served; others are echoed."""

OPENROUTER_PRICES: dict[str, tuple[float, float, float]] = {
    "deepseek/deepseek-chat": (0.27, 1.10, 0.07),
    "openai/gpt-4o-mini": (0.15, 0.60, 0.075),
    "anthropic/claude-3.5-haiku": (0.80, 4.00, 0.08),
}
"""USD per million tokens: (input, output, cached input)."""
OPENROUTER_DEFAULT_PRICE = (0.50, 1.50, 0.25)

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_CEREBRAS_ERRORS = {
    400: ("invalid_request_error", "bad_request"),
    401: ("invalid_request_error", "wrong_api_key"),
    404: ("not_found_error", "model_not_found"),
    429: ("too_many_requests_error", "request_quota_exceeded"),
}


def openrouter_cost(model: str, prompt: int, cached: int, completion: int) -> float:
    """OpenRouter-style cost in USD from the built-in price table."""
    price_in, price_out, price_cached = OPENROUTER_PRICES.get(model, OPENROUTER_DEFAULT_PRICE)
    cost = (prompt - cached) * price_in + cached * price_cached + completion * price_out
    return round(cost / 1_000_000, 10)


def content_text(content: Any) -> tuple[str, int]:
    """The text of a message's content (string or parts), and the number of image parts."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("text", "input_text"):
            texts.append(str(part.get("text", "")))
        elif part.get("type") in ("image_url", "input_image", "input_audio", "file"):
            images += 1
    return "\n".join(texts), images


class OpenAIChat(WireFormat):
    """OpenAI-compatible chat completions; `flavour` is the provider it imitates."""

    def __init__(self, flavour: str, quirks: dict[str, Any]) -> None:
        self.flavour = flavour
        self.quirks = quirks

    def route(self, method: str, path: str) -> Route | None:
        prefix = "/v1" if self.flavour == "cerebras" else ""
        if method == "POST" and path == f"{prefix}/chat/completions":
            return Route("complete")
        if self.flavour == "cerebras" and method == "GET" and path == "/v1/tcp_warming":
            return Route("noop")
        return None

    # --- requests ---------------------------------------------------------------------------

    def parse(self, provider: str, route: Route, body: dict[str, Any]) -> ChatRequest:
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            raise BadRequest("you must provide a model parameter")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' must be a non-empty array")
        segments: list[Segment] = []
        tools: list[ToolSpec] = []
        for tool in body.get("tools") or []:
            function = tool.get("function") or {}
            if not function.get("name"):
                raise BadRequest("tools[].function.name is required")
            tools.append(
                ToolSpec(
                    function["name"],
                    function.get("description") or "",
                    function.get("parameters") or {},
                )
            )
            segments.append(Segment(canonical(tool), count_tokens(canonical(tool))))
        schema, json_mode = self._response_format(body.get("response_format"))
        if schema is not None:
            segments.append(Segment(canonical(schema), count_tokens(canonical(schema))))

        names_by_id: dict[str, str] = {}
        user_text = ""
        for message in messages:
            if not isinstance(message, dict) or "role" not in message:
                raise BadRequest("each message needs a role")
            text, images = content_text(message.get("content"))
            tokens = MESSAGE_OVERHEAD_TOKENS + count_tokens(text) + images * IMAGE_TOKENS
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                names_by_id[call.get("id", "")] = function.get("name", "")
                tokens += count_tokens(function.get("name", "") + function.get("arguments", ""))
            if message["role"] == "user":
                user_text = text
            segments.append(Segment(canonical(message), tokens))

        results: list[ToolResult] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            name = names_by_id.get(message.get("tool_call_id", ""), "the tool")
            results.insert(0, ToolResult(name, content_text(message.get("content"))[0]))

        return ChatRequest(
            provider=provider,
            model=model,
            segments=segments,
            user_text=user_text,
            tool_results=results,
            tools=tools,
            tool_choice=self._tool_choice(body.get("tool_choice")),
            schema=schema,
            json_mode=json_mode,
            max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
            stream=bool(body.get("stream")),
        )

    @staticmethod
    def _response_format(value: Any) -> tuple[dict[str, Any] | None, bool]:
        if not isinstance(value, dict):
            return None, False
        if value.get("type") == "json_schema":
            schema = (value.get("json_schema") or {}).get("schema")
            if not isinstance(schema, dict):
                raise BadRequest("response_format.json_schema.schema is required")
            return schema, False
        return None, value.get("type") == "json_object"

    @staticmethod
    def _tool_choice(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return str((value.get("function") or {}).get("name") or "required")
        return "auto"

    # --- responses --------------------------------------------------------------------------

    def served_model(self, requested: str) -> str:
        return SERVED_MODELS.get(requested, requested)

    def usage(
        self,
        req: ChatRequest,
        ans: Answer,
        prompt: PromptUsage,
        body: dict[str, Any],
        served: Served = Served(),
    ) -> tuple[dict[str, Any], Reported]:
        """The usage object in this flavour's shape, and what it reports for the ledger.

        `completion_tokens` includes the reasoning tokens, detailed apart; OpenRouter also
        details the prompt's cache writes and, when asked (`usage.include`), the cost.
        """
        cached = prompt.cache.read
        written = prompt.cache.write if self.flavour == "openrouter" else 0
        completion = ans.output_tokens + ans.reasoning_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": prompt.total,
            "completion_tokens": completion,
            "total_tokens": prompt.total + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        cost = None
        if self.flavour == "openai":
            usage["prompt_tokens_details"]["audio_tokens"] = 0
            usage["completion_tokens_details"] = {
                "reasoning_tokens": ans.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
        elif self.flavour == "openrouter":
            usage["completion_tokens_details"] = {"reasoning_tokens": ans.reasoning_tokens}
            if written:
                usage["prompt_tokens_details"]["cache_write_tokens"] = written
            asked = bool((body.get("usage") or {}).get("include"))
            if served.report_cost if served.report_cost is not None else asked:
                cost = openrouter_cost(req.model, prompt.total, cached, completion)
                usage["cost"] = cost
                usage["is_byok"] = False
                usage["cost_details"] = {"upstream_inference_cost": None}
        elif ans.reasoning_tokens:  # Cerebras details reasoning only for reasoning models
            usage["completion_tokens_details"] = {"reasoning_tokens": ans.reasoning_tokens}
        reported = Reported(
            input_tokens=prompt.total - cached - written,
            output_tokens=ans.output_tokens,
            cache_read_tokens=cached,
            cache_write_tokens=written,
            reasoning_tokens=ans.reasoning_tokens,
            cost_usd=cost,
            raw=usage,
        )
        return usage, reported

    def _envelope(self, served: str, obj_id: str, created: int, obj: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": obj_id,
            "object": obj,
            "created": created,
            "model": served,
            "system_fingerprint": "fp_sim0001",
        }
        if self.flavour == "openai":
            out["service_tier"] = "default"
        elif self.flavour == "openrouter":
            out["provider"] = "Simulated"
        return out

    @staticmethod
    def _time_info(ans: Answer, created: int) -> dict[str, float]:
        completion = round(ans.output_tokens / 2000, 6)
        return {
            "queue_time": 0.0001,
            "prompt_time": 0.001,
            "completion_time": completion,
            "total_time": round(completion + 0.0011, 6),
            "created": float(created),
        }

    def render(
        self,
        provider: str,
        req: ChatRequest,
        ans: Answer,
        prompt: PromptUsage,
        body: dict[str, Any],
        served: Served = Served(),
    ) -> Rendered:
        created = int(time.time())
        obj_id = new_id("sim-chatcmpl-")
        usage, reported = self.usage(req, ans, prompt, body, served)
        model = served.model or self.served_model(req.model)
        if req.stream:
            events = self._stream(model, req, ans, usage, reported, body, obj_id, created)
            return Rendered(model=model, events=events)
        message: dict[str, Any] = {"role": "assistant", "content": ans.text or None}
        if self.flavour == "openai":
            message["refusal"] = None
            message["annotations"] = []
        if ans.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": canonical(call.arguments)},
                }
                for call in ans.tool_calls
            ]
        response = self._envelope(model, obj_id, created, "chat.completion")
        response["choices"] = [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH[ans.finish],
                "logprobs": None,
            }
        ]
        response["usage"] = usage
        if self.flavour == "cerebras":
            response["time_info"] = self._time_info(ans, created)
        return Rendered(model=model, body=response, reported=reported)

    def _stream(
        self,
        model: str,
        req: ChatRequest,
        ans: Answer,
        usage: dict[str, Any],
        reported: Reported,
        body: dict[str, Any],
        obj_id: str,
        created: int,
    ) -> list[SseEvent]:
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if self.flavour == "openrouter" and (body.get("usage") or {}).get("include"):
            wants_usage = True

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out = self._envelope(model, obj_id, created, "chat.completion.chunk")
            out["choices"] = [
                {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            ]
            if wants_usage and self.flavour == "openai":
                out["usage"] = None
            return out

        events = [SseEvent(sse(chunk({"role": "assistant", "content": ""})))]
        for piece in ans.text_chunks():
            events.append(SseEvent(sse(chunk({"content": piece})), content=True))
        for index, call in enumerate(ans.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(SseEvent(sse(chunk({"tool_calls": [head]})), content=True))
            for piece in split_chunks(canonical(call.arguments)):
                args = {"index": index, "function": {"arguments": piece}}
                events.append(SseEvent(sse(chunk({"tool_calls": [args]})), content=True))

        final = chunk({}, FINISH[ans.finish])
        if self.flavour == "cerebras":  # Cerebras always reports usage on the last chunk
            final["usage"] = usage
            final["time_info"] = self._time_info(ans, created)
            events.append(SseEvent(sse(final), reported=reported))
        else:
            events.append(SseEvent(sse(final)))
            if wants_usage:
                events.append(SseEvent(sse(self._usage_chunk(chunk, usage)), reported=reported))
        return events

    def _usage_chunk(
        self, chunk: Callable[..., dict[str, Any]], usage: dict[str, Any]
    ) -> dict[str, Any]:
        out = chunk({"role": "assistant", "content": ""})
        if not self.quirks.get("usage_chunk_has_choices"):
            out["choices"] = []
        out["usage"] = usage
        return out

    def stream_done(self) -> bytes | None:
        return sse("[DONE]")

    def error(
        self, provider: str, status: int, message: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        message = message or default_message(status)
        if self.flavour == "openrouter":
            return {"error": {"code": status, "message": message, "metadata": {}}}, {}
        if self.flavour == "cerebras":
            kind, code = _CEREBRAS_ERRORS.get(status, ("internal_server_error", None))
            return {"message": message, "type": kind, "param": None, "code": code}, {}
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}, {}
