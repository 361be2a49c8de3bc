"""What a provider billed one attempt for: its usage report, or an estimate where it sent none.

A provider bills what it served even when the answer never arrived whole: a stream cut
midway, a request that timed out after it was sent, a call cancelled in flight, an answer
without a usage report. Such an attempt is priced on the usage the provider did report (an
Anthropic stream reports its prompt first), completed by a local estimate: prompt tokens
counted from the request, output tokens from the text received. The record says the cost is
estimated, so reports can show how much of a total is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from salesctl.llm.types import ProviderRequest, ProviderResponse, ToolCall, Usage

CHARS_PER_TOKEN = 4
"""Characters per token assumed: the usual figure for English text with the providers'
tokenizers (a central estimate, not a bound; see `llm.hard_limits` for the high one)."""
MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens of role markers per message, as the chat formats add them."""
REQUEST_OVERHEAD_TOKENS = 3
"""Tokens added once per request (the reply header)."""


@dataclass(frozen=True, slots=True)
class Billed:
    """The usage an attempt is priced on, and whether any of it is an estimate."""

    usage: Usage
    estimated: bool


def estimate_tokens(text: str) -> int:
    """Tokens of `text`, estimated from its length."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def estimate_prompt_tokens(request: ProviderRequest) -> int:
    """The prompt's tokens counted locally: every part the provider is sent (system prompt,
    turns, tool calls, tool and answer schemas)."""
    tokens = REQUEST_OVERHEAD_TOKENS
    if request.system:
        tokens += MESSAGE_OVERHEAD_TOKENS + estimate_tokens(request.system)
    for message in request.messages:
        tokens += MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message.content)
        tokens += estimate_output_tokens("", message.tool_calls)
    for tool in request.tools:
        spec = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        tokens += estimate_tokens(json.dumps(spec))
    if request.response_schema is not None:
        tokens += estimate_tokens(json.dumps(request.response_schema))
    return tokens


def estimate_output_tokens(text: str, tool_calls: Iterable[ToolCall] = ()) -> int:
    """Output tokens of the text and tool calls received."""
    tokens = estimate_tokens(text)
    for call in tool_calls:
        tokens += estimate_tokens(call.name) + estimate_tokens(json.dumps(call.arguments))
    return tokens


def answered_usage(request: ProviderRequest, response: ProviderResponse) -> Billed:
    """An answer that arrived whole: its report, or an estimate when it came without one."""
    if response.usage_reported:
        return Billed(response.usage, estimated=False)
    output = estimate_output_tokens(response.text, response.tool_calls)
    return Billed(Usage(estimate_prompt_tokens(request), output), estimated=True)


def unanswered_usage(
    request: ProviderRequest, partial: ProviderResponse | None, text: str
) -> Billed:
    """An attempt the provider served but never finished answering: what it reported before
    it stopped, completed by estimates.

    A prompt reported is taken as is (providers report it whole or not at all); output
    reported before the end is only a count so far, so the text received counts when it is
    more. Once the final usage report has arrived (`usage_complete`) nothing is estimated.
    """
    if partial is not None and partial.usage_reported and partial.usage_complete:
        return Billed(partial.usage, estimated=False)
    reported = partial.usage if partial is not None and partial.usage_reported else Usage()
    usage = reported
    if not reported.prompt_tokens:
        usage = replace(usage, input_tokens=estimate_prompt_tokens(request))
    received = estimate_output_tokens(text)
    if received > reported.output_tokens:
        usage = replace(usage, output_tokens=received)
    return Billed(usage, estimated=True)


def unanswered_prompts(request: ProviderRequest, unanswered: int) -> Usage | None:
    """What `unanswered` attempts the provider received and never answered are billed at
    least: each its prompt, counted locally (nothing came back to count output from)."""
    if not unanswered:
        return None
    return Usage(input_tokens=estimate_prompt_tokens(request) * unanswered)
