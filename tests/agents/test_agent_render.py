"""Rich output for agent results and run summaries, rendered to plain fixed-width text."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, RenderableType

from salesctl.agents.bulk import RunSummary
from salesctl.agents.outcome import AgentOutcome, CallRecord, LeadFailure
from salesctl.agents.render import cost_words, outcome_panel, summary_table


def text_of(renderable: RenderableType) -> str:
    console = Console(width=90, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def call(cost: str | None) -> CallRecord:
    return CallRecord(
        "cerebras", "llama3.1-8b", Decimal(cost) if cost else None, 500, 40, 300, False, "t"
    )


def outcome(lead_id: int, **kwargs: object) -> AgentOutcome:
    return AgentOutcome(
        agent="qualification",
        lead_id=lead_id,
        status="ok" if "failure" not in kwargs else "error",
        run_id=lead_id,
        provider="cerebras",
        model="llama3.1-8b",
        latency_ms=400,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_qualified_lead_shows_gauge_tier_reasoning_and_cost() -> None:
    shown = outcome(
        7,
        company_name="Acme [beta]",
        calls=[call("0.0000621")],
        result={"score": 80, "tier": "hot", "reasoning": "Meets: industry.", "signals": ["[red]x"]},
    )

    text = text_of(outcome_panel(shown))

    assert "qualification · lead 7 · Acme [beta]" in text
    assert "████████████████░░░░ 80/100 HOT" in text
    assert "Meets: industry." in text
    assert "• [red]x" in text
    # The provider call's latency (300 ms), with the whole run's (400 ms) beside it.
    assert "cerebras:llama3.1-8b · $0.0000621 · 1 call 300 ms · run 400 ms" in text
    assert shown.as_json()["call_latency_ms"] == 300
    assert shown.as_json()["latency_ms"] == 400


def test_the_footer_fits_an_80_column_terminal() -> None:
    """Shorter forms of the footer (no provider, no model) rather than one cut off."""
    calls = [
        CallRecord(
            "anthropic", "claude-3-5-haiku-20241022", Decimal("0.0001"), 1, 1, 1234, False, "a"
        ),
        hit("0.0000665"),
    ]
    shown = outcome(8, calls=calls, result={"score": 60, "tier": "warm", "reasoning": "ok"})
    console = Console(width=80, record=True, color_system=None)
    console.print(outcome_panel(shown))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[-1].endswith(" · 2 calls 1.24 s · run 400 ms ─╯")
    assert "$0.0001" in lines[-1]


def test_the_summary_counts_costs_and_names_failures() -> None:
    summary = RunSummary(
        agent="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        selection="all leads",
        worker_id="w",
        total=3,
        outcomes=[
            outcome(1, calls=[call("0.0001")], result={}),
            outcome(2, calls=[call("0.0002"), call("0.0001")], result={}),
            outcome(3, calls=[call(None)], failure=LeadFailure("provider_error", "HTTP 500 [x]")),
        ],
        elapsed_s=2.0,
    )

    text = text_of(summary_table(summary))

    assert (summary.done, summary.failed) == (2, 1)
    assert summary.total_cost_usd == Decimal("0.0004")
    assert summary.cost_per_lead_usd == Decimal("0.0002")
    assert "$0.0004*" in text
    assert "400 ms per lead, 400 ms of it in LLM calls" in text  # 1,200 ms of calls / 3
    assert summary.as_json()["avg_call_latency_ms"] == 400.0
    assert "HTTP 500 [x]" in text
    assert summary.as_json()["failures"] == [
        {"lead_id": 3, "kind": "provider_error", "error": "HTTP 500 [x]"}
    ]
    assert "leaves out 1 lead whose calls had no known price (unpriced)" in text


def hit(saved: str) -> CallRecord:
    return CallRecord(
        "cerebras", "llama3.1-8b", Decimal(0), 500, 40, 3, True, "t", saved_usd=Decimal(saved)
    )


def test_answers_from_the_cache_are_named_with_what_they_saved() -> None:
    cached = outcome(
        4, calls=[hit("0.0000665")], result={"score": 60, "tier": "warm", "reasoning": "ok"}
    )
    mixed = outcome(5, calls=[call("0.0001"), hit("0.0002")], result={})

    assert "from cache (saved $0.0000665) · 1 call 3 ms · run 400 ms" in text_of(
        outcome_panel(cached)
    )
    assert cost_words(mixed) == "$0.0001 · 1 of 2 calls from cache (saved $0.0002)"

    summary = RunSummary(
        agent="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        selection="all leads",
        worker_id="w",
        total=2,
        outcomes=[cached, mixed],
    )
    assert "from cache       2 of 3 calls · saved $0.0002665" in text_of(summary_table(summary))
