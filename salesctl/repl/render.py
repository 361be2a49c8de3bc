"""Text for the chat REPL: turn footers, session summaries, costs, routing, history (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from salesctl.money import usd

if TYPE_CHECKING:
    from salesctl.agents.chat.conversation import RunSummary, TurnResult
    from salesctl.agents.chat.sessions import SessionUsage
    from salesctl.llm.router import RoutingDecision
    from salesctl.llm.types import Message, ToolCall


def format_cost(cost: Decimal | None) -> str:
    """Money by the one rule (`salesctl.money`); unknown is "—", never $0."""
    return usd(cost)


def format_latency(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def format_models(models: dict[str, int]) -> str:
    if not models:
        return "none"
    return ", ".join(f"{name} ×{count}" if count > 1 else name for name, count in models.items())


def footer(turn: TurnResult) -> str:
    """`gemini:gemini-1.5-flash · simple · 812→64 tokens · $0.000081 · 1.2 s`."""
    if turn.final is None:
        return "no model call"
    parts = [
        f"{turn.provider}:{turn.model}",
        turn.complexity or "—",
        f"{turn.prompt_tokens:,}→{turn.completion_tokens:,} tokens",
        format_cost(turn.cost_usd),
        format_latency(turn.latency_ms),
    ]
    if len(turn.calls) > 1:
        parts.append(f"{len(turn.calls)} calls")
    hits = [c for c in turn.calls if c.cache_hit]
    if hits:
        saved = sum((c.saved_usd or Decimal(0) for c in hits), Decimal(0))
        share = "all" if len(hits) == len(turn.calls) else f"{len(hits)} of {len(turn.calls)}"
        parts.append(f"{share} from cache (saved {format_cost(saved)})")
    if any(c.simulated for c in turn.calls):
        parts.append("simulated")
    return " · ".join(parts)


def summary_lines(summaries: Sequence[RunSummary] | RunSummary, agent: str) -> list[str]:
    """The goodbye: each session this run used, with its own turns, cost and models, and how
    to resume the last one that has turns (after a `/reset` with no question, the one before)."""
    if not isinstance(summaries, Sequence):
        summaries = [summaries]
    lines = []
    for summary in summaries:
        if not summary.turns and len(summaries) > 1:
            if summary is summaries[-1]:
                lines.append(f"Session {summary.session_id}: no questions yet")
            continue
        turns = f"{summary.turns} turn{'s' * (summary.turns != 1)}"
        lines.append(
            f"Session {summary.session_id}: {turns} · {format_cost(summary.cost_usd)} · "
            f"models: {format_models(summary.models)}"
        )
    resumable = [s for s in summaries if s.turns] or list(summaries[-1:])
    lines.append(f"Resume with: salesctl chat {agent} --session {resumable[-1].session_id}")
    return lines


def not_stored_line(turns: int) -> str:
    """Said on resuming a session some of whose turns were stored without their text."""
    earlier = f"{turns} earlier turn{'s' * (turns != 1)}"
    return (
        f"{earlier} of this session kept no text (store_prompts = none): "
        "the agent continues without them"
    )


def usage_lines(usage: SessionUsage, session_id: str) -> list[str]:
    """`/cost`: the session's tracked calls so far, across every run that used it."""
    calls = f"{usage.calls} LLM call{'s' * (usage.calls != 1)}"
    if usage.failed_calls:
        calls += f" ({usage.failed_calls} failed)"
    lines = [
        f"Session {session_id}: {calls} · {usage.prompt_tokens:,} prompt + "
        f"{usage.completion_tokens:,} completion tokens · {format_cost(usage.cost_usd)}",
        f"Models: {format_models(usage.models)}",
    ]
    if usage.unpriced_calls:
        lines.append(f"{usage.unpriced_calls} call(s) have no known price and are not in the sum")
    return lines


def routing_lines(decision: RoutingDecision, question: str) -> list[str]:
    """`/model`: where the router would send the next question, and why."""
    about = f"{question[:60]!r}" if question else "a new question"
    lines = [f"For {about}: {decision.complexity} → {decision.provider}:{decision.model}"]
    if decision.fallbacks:
        lines.append("Fallbacks: " + ", ".join(decision.fallbacks))
    lines.extend(f"  · {reason}" for reason in decision.reasons)
    return lines


def describe_call(call: ToolCall) -> str:
    """`top_leads(limit=3)`."""
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in call.arguments.items())
    return f"{call.name}({args})"


def history_lines(messages: Sequence[Message], width: int = 300) -> list[str]:
    """`/history`: the conversation as the model sees it, tool results shortened."""
    lines: list[str] = []
    for message in messages:
        if message.role == "user":
            lines.append(f"you: {message.content}")
        elif message.role == "assistant":
            lines.extend(f"  → {describe_call(c)}" for c in message.tool_calls)
            if message.content:
                text = message.content.strip()
                lines.append(f"agent: {text[:width]}{'…' if len(text) > width else ''}")
        else:
            lines.append(f"  ← tool result ({len(message.content):,} characters)")
    return lines or ["(no messages yet)"]
