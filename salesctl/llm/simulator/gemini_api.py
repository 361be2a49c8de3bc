"""Gemini API: `{url}/gemini` + `/v1beta/models/{model}:generateContent` (google-genai SDK).

Streaming is `:streamGenerateContent?alt=sse`; the last chunk carries `finishReason` and
`usageMetadata` (with the `gemini_usage_on_every_chunk` quirk, every chunk carries the usage
so far, as the live API does). `promptTokenCount` includes `cachedContentTokenCount`
(implicit caching); `thoughtsTokenCount` appears when the request sets a thinking budget.
"""

from __future__ import annotations

import re
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
    "gemini-1.5-flash": "gemini-1.5-flash-002",
    "gemini-1.5-pro": "gemini-1.5-pro-002",
    "gemini-2.0-flash": "gemini-2.0-flash-001",
}
FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DYNAMIC_THINKING_BUDGET = 1024
_PATH = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):([A-Za-z]+)$")


def field(obj: Any, name: str) -> Any:
    """`obj[name]` by its camelCase name or its snake_case twin.

    The Gemini API parses protobuf JSON, which accepts both spellings, and google-genai sends
    a mix (e.g. `thinkingConfig: {thinking_budget: ...}`, `parameters_json_schema`).
    """
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())


def _part_text(part: dict[str, Any]) -> tuple[str, int]:
    """Text of one part (for token counting), and its media count."""
    if "text" in part:
        return str(part["text"]), 0
    if field(part, "inlineData") or field(part, "fileData"):
        return "", 1
    if call := field(part, "functionCall"):
        return call.get("name", "") + canonical(call.get("args", {})), 0
    if response := field(part, "functionResponse"):
        return response.get("name", "") + canonical(response.get("response", {})), 0
    return canonical(part), 0


def _result_text(response: Any) -> str:
    """A function response as text: its `output`/`result` field when it has one."""
    if isinstance(response, dict):
        for key in ("output", "result", "content"):
            if key in response and len(response) == 1:
                value = response[key]
                return value if isinstance(value, str) else canonical(value)
    return canonical(response)


class GeminiGenerateContent(WireFormat):
    """generateContent / streamGenerateContent / countTokens."""

    def __init__(self, quirks: dict[str, Any]) -> None:
        self.quirks = quirks

    def route(self, method: str, path: str) -> Route | None:
        match = _PATH.match(path)
        if method != "POST" or not match:
            return None
        model, action = match.group(2), match.group(3)
        if action == "generateContent":
            return Route("complete", model=model, stream=False)
        if action == "streamGenerateContent":
            return Route("complete", model=model, stream=True)
        if action == "countTokens":
            return Route("count_tokens", model=model)
        return None

    def api_key(self, headers: Any, query: dict[str, list[str]]) -> str:
        return (headers.get("x-goog-api-key") or "").strip() or (query.get("key") or [""])[0]

    def parse(self, provider: str, route: Route, body: dict[str, Any]) -> ChatRequest:
        if route.action == "count_tokens" and field(body, "generateContentRequest"):
            body = field(body, "generateContentRequest")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
        segments: list[Segment] = []
        tools: list[ToolSpec] = []
        for tool in body.get("tools") or []:
            for decl in field(tool, "functionDeclarations") or []:
                params = field(decl, "parametersJsonSchema") or decl.get("parameters") or {}
                tools.append(ToolSpec(decl["name"], decl.get("description") or "", params))
            segments.append(Segment(canonical(tool), count_tokens(canonical(tool))))
        system = field(body, "systemInstruction")
        if isinstance(system, dict):
            text = "\n".join(_part_text(p)[0] for p in system.get("parts") or [])
            segments.append(Segment(canonical({"system": system}), count_tokens(text)))

        user_text = ""
        for content in contents:
            parts = content.get("parts") or []
            text = "\n".join(_part_text(p)[0] for p in parts)
            media = sum(_part_text(p)[1] for p in parts)
            tokens = MESSAGE_OVERHEAD_TOKENS + count_tokens(text) + media * IMAGE_TOKENS
            segments.append(Segment(canonical(content), tokens))
            texts = [p["text"] for p in parts if "text" in p and not p.get("thought")]
            if content.get("role", "user") == "user" and texts:
                user_text = "\n".join(texts)

        last_parts = contents[-1].get("parts") or []
        responses = [r for p in last_parts if (r := field(p, "functionResponse"))]
        results = [
            ToolResult(r.get("name", "the tool"), _result_text(r.get("response")))
            for r in responses
        ]
        config = field(body, "generationConfig") or {}
        schema = field(config, "responseJsonSchema") or field(config, "responseSchema")
        if schema is not None:
            segments.append(Segment(canonical(schema), count_tokens(canonical(schema))))
        budget = field(field(config, "thinkingConfig"), "thinkingBudget") or 0
        return ChatRequest(
            provider=provider,
            model=(route.model or "").removeprefix("models/"),
            segments=segments,
            user_text=user_text,
            tool_results=results,
            tools=tools,
            tool_choice=self._tool_choice(field(body, "toolConfig")),
            schema=schema,
            json_mode=field(config, "responseMimeType") == "application/json",
            max_tokens=field(config, "maxOutputTokens"),
            stream=bool(route.stream),
            thinking_budget=DYNAMIC_THINKING_BUDGET if budget == -1 else max(int(budget), 0),
        )

    @staticmethod
    def _tool_choice(config: Any) -> str:
        calling = field(config, "functionCallingConfig") or {}
        mode = str(calling.get("mode") or "AUTO").upper()
        allowed = field(calling, "allowedFunctionNames") or []
        if mode == "ANY" and len(allowed) == 1:
            return str(allowed[0])
        return {"ANY": "required", "NONE": "none"}.get(mode, "auto")

    # --- responses --------------------------------------------------------------------------

    def usage(self, prompt: PromptUsage, ans: Answer, final: bool = True) -> dict[str, Any]:
        candidates = ans.output_tokens if final else 0
        thoughts = ans.reasoning_tokens if final else 0
        usage: dict[str, Any] = {
            "promptTokenCount": prompt.total,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt.total + candidates + thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt.total}],
        }
        if not final:
            del usage["candidatesTokenCount"]
        if prompt.cache.read:
            usage["cachedContentTokenCount"] = prompt.cache.read
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt.cache.read}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    @staticmethod
    def _reported(usage: dict[str, Any]) -> Reported:
        cached = usage.get("cachedContentTokenCount", 0)
        return Reported(
            input_tokens=usage["promptTokenCount"] - cached,
            output_tokens=usage.get("candidatesTokenCount", 0),
            cache_read_tokens=cached,
            reasoning_tokens=usage.get("thoughtsTokenCount", 0),
            raw=usage,
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
        response_id = new_id("sim-")
        usage = self.usage(prompt, ans)

        def response(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
            out: dict[str, Any] = {"candidates": [candidate]}
            if last:
                candidate["finishReason"] = FINISH[ans.finish]
                out["usageMetadata"] = usage
            elif self.quirks.get("gemini_usage_on_every_chunk"):
                out["usageMetadata"] = self.usage(prompt, ans, final=False)
            out["modelVersion"] = model
            out["responseId"] = response_id
            return out

        calls: list[dict[str, Any]] = [
            {"functionCall": {"name": c.name, "args": c.arguments}} for c in ans.tool_calls
        ]
        if not req.stream:
            parts = ([{"text": ans.text}] if ans.text or not calls else []) + calls
            return Rendered(
                model=model, body=response(parts, last=True), reported=self._reported(usage)
            )
        pieces = [[{"text": t}] for t in ans.text_chunks()] + [[c] for c in calls]
        if not pieces:
            pieces = [[{"text": ""}]]
        events = []
        for index, parts in enumerate(pieces):
            last = index == len(pieces) - 1
            chunk = response(parts, last)
            reported = self._reported(chunk["usageMetadata"]) if "usageMetadata" in chunk else None
            events.append(SseEvent(sse(chunk, newline="\r\n"), content=True, reported=reported))
        return Rendered(model=model, events=events)

    def malformed_event(self) -> bytes:
        return sse('{"candidates": [{"content": {"parts": [{"text": "Hel', newline="\r\n")

    def count_tokens_body(self, prompt_tokens: int) -> dict[str, Any]:
        return {"totalTokens": prompt_tokens}

    def error(
        self, provider: str, status: int, message: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        return {
            "error": {
                "code": status,
                "message": message or default_message(status),
                "status": STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }, {}
