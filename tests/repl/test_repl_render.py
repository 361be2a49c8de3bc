"""What the REPL prints around answers: costs, footers, summaries, routing, history."""

from __future__ import annotations

from decimal import Decimal

from salesctl.agents.chat.conversation import RunSummary, TurnResult
from salesctl.llm.router import RoutingDecision
from salesctl.llm.types import LLMResult, Message, ToolCall
from salesctl.repl import render


def result(cost: Decimal | None, **fields: object) -> LLMResult:
    base: dict[str, object] = {
        "text": "",
        "provider": "gemini",
        "model": "gemini-1.5-flash",
        "prompt_tokens": 1200,
        "completion_tokens": 40,
        "cost_usd": cost,
        "latency_ms": 700,
        "tracking_id": "t",
        "complexity": "simple",
    }
    return LLMResult(**{**base, **fields})  # type: ignore[arg-type]


def test_footer_shows_model_tier_tokens_cost_and_time() -> None:
    turn = TurnResult(
        "q",
        "a",
        "sess_1",
        [result(Decimal("0.00006")), result(Decimal("0.00002"), latency_ms=650)],
        [],
    )
    assert render.footer(turn) == (
        "gemini:gemini-1.5-flash · simple · 2,400→80 tokens · $0.00008 · 1.4 s · 2 calls"
    )
    cached = TurnResult(
        "q", "a", "s", [result(Decimal(0), cache_hit=True, saved_usd=Decimal("0.002"))], []
    )
    assert render.footer(cached).endswith("all from cache (saved $0.002)")
    unpriced = TurnResult("q", "a", "s", [result(None, latency_ms=90)], [])
    assert render.footer(unpriced).endswith("1,200→40 tokens · — · 90 ms")


def test_summary_and_routing_lines() -> None:
    summary = RunSummary("sess_9", 2, 4, Decimal("0.0034"), {"gemini:g": 2, "claude:c": 2})
    assert render.summary_lines(summary, "sr-bdr") == [
        "Session sess_9: 2 turns · $0.0034 · models: gemini:g ×2, claude:c ×2",
        "Resume with: salesctl chat sr-bdr --session sess_9",
    ]
    # after /reset: each session with its own turns; resume the one that has some
    fresh = RunSummary("sess_10", 0, 0, Decimal(0), {})
    assert render.summary_lines([summary, fresh], "sr-bdr") == [
        "Session sess_9: 2 turns · $0.0034 · models: gemini:g ×2, claude:c ×2",
        "Session sess_10: no questions yet",
        "Resume with: salesctl chat sr-bdr --session sess_9",
    ]
    decision = RoutingDecision("complex", "claude", "claude-sonnet-4-5", ["openai:gpt-4o"], ["x"])
    assert render.routing_lines(decision, "Analyze deal 1") == [
        "For 'Analyze deal 1': complex → claude:claude-sonnet-4-5",
        "Fallbacks: openai:gpt-4o",
        "  · x",
    ]


def test_history_lines_show_calls_and_shorten_results() -> None:
    messages = [
        Message("user", "Show me top 3 leads"),
        Message("assistant", "", tool_calls=(ToolCall("c", "top_leads", {"limit": 3}),)),
        Message("tool", "x" * 1500, tool_call_id="c"),
        Message("assistant", "TechCorp is first."),
    ]
    assert render.history_lines(messages) == [
        "you: Show me top 3 leads",
        "  → top_leads(limit=3)",
        "  ← tool result (1,500 characters)",
        "agent: TechCorp is first.",
    ]
    assert render.history_lines([]) == ["(no messages yet)"]
