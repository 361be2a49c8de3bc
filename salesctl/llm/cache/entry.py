"""A cache entry: the stored answer (never the prompt), its format version, and its key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesctl.llm.types import ProviderRequest, ProviderResponse, ToolCall, Usage

CACHE_FORMAT = 1
"""Bumped when the key or value layout changes, so old entries simply miss."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A stored answer: what a cache hit returns (no prompt, by design)."""

    text: str
    model: str
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    reported_cost_usd: Decimal | None = None
    simulated: bool = False

    @classmethod
    def from_response(cls, response: ProviderResponse) -> CachedAnswer:
        return cls(
            text=response.text,
            model=response.model,
            usage=response.usage,
            tool_calls=response.tool_calls,
            finish_reason=response.finish_reason,
            reported_cost_usd=response.reported_cost_usd,
            simulated=response.simulated,
        )

    def to_json(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "v": CACHE_FORMAT,
            "text": self.text,
            "model": self.model,
            "usage": [
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.cache_write_1h_tokens,
                usage.reasoning_tokens,
            ],
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "finish_reason": self.finish_reason,
            "reported_cost_usd": (
                None if self.reported_cost_usd is None else str(self.reported_cost_usd)
            ),
            "simulated": self.simulated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CachedAnswer | None:
        """None for entries written by another format version or damaged ones."""
        if not isinstance(data, dict) or data.get("v") != CACHE_FORMAT:
            return None
        try:
            # Four counts in entries written before the finer ones were kept.
            input_tokens, output_tokens, cache_read, cache_write, *finer = data["usage"]
            cache_write_1h, reasoning = (*finer, 0, 0)[:2]
            reported = data.get("reported_cost_usd")
            return cls(
                text=data["text"],
                model=data["model"],
                usage=Usage(
                    int(input_tokens),
                    int(output_tokens),
                    int(cache_read),
                    int(cache_write),
                    int(cache_write_1h),
                    int(reasoning),
                ),
                tool_calls=tuple(
                    ToolCall(c["id"], c["name"], dict(c["arguments"]))
                    for c in data.get("tool_calls") or ()
                ),
                finish_reason=data.get("finish_reason"),
                reported_cost_usd=None if reported is None else Decimal(reported),
                simulated=bool(data.get("simulated", False)),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return None


def cache_key(provider: str, request: ProviderRequest) -> str:
    """SHA-256 of the normalised request; equal requests give equal keys on every machine."""
    normalised = {
        "v": CACHE_FORMAT,
        "provider": provider,
        "model": request.model,
        "system": request.system,
        "messages": [
            [
                m.role,
                m.content,
                [[c.id, c.name, c.arguments] for c in m.tool_calls],
                m.tool_call_id,
            ]
            for m in request.messages
        ],
        "tools": [[t.name, t.description, t.parameters] for t in request.tools],
        "schema": request.response_schema,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    encoded = json.dumps(
        normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(encoded.encode()).hexdigest()
