"""Rich renderables for agent results, run summaries, estimates and the ICP (no I/O here)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from salesctl.money import usd

if TYPE_CHECKING:
    from salesctl.agents.bulk import RunSummary
    from salesctl.agents.estimate import RunEstimate
    from salesctl.agents.outcome import AgentOutcome
    from salesctl.config import ICPSettings

DASH = "—"
TIER_STYLES = {"hot": "bold red", "warm": "bold yellow", "cold": "bold blue"}
GAUGE_WIDTH = 20


def latency(ms: float | None) -> str:
    if ms is None:
        return DASH
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def score_gauge(score: int, tier: str) -> Text:
    """`█████████████████░░░ 85/100 HOT`, coloured by tier."""
    filled = round(score / 100 * GAUGE_WIDTH)
    style = TIER_STYLES.get(tier, "bold")
    gauge = Text("█" * filled, style=style)
    gauge.append("░" * (GAUGE_WIDTH - filled), style="dim")
    gauge.append(f" {score}/100 ")
    gauge.append(tier.upper(), style=style)
    return gauge


def cost_words(outcome: AgentOutcome) -> str:
    """`$0.0003`, or what the cache did: `from cache (saved $0.0003)`,
    `$0.0002 · 1 of 2 calls from cache (saved $0.0001)`."""
    hits = outcome.cache_hits
    if not hits:
        return usd(outcome.cost_usd)
    saved = f"saved {usd(outcome.saved_usd)}"
    if hits == outcome.llm_calls:
        return f"from cache ({saved})"
    return f"{usd(outcome.cost_usd)} · {hits} of {outcome.llm_calls} calls from cache ({saved})"


def call_times(outcome: AgentOutcome) -> str:
    """`1 call 37 ms · run 139 ms`: the LLM calls' latency, then the whole run's."""
    calls = f"{outcome.llm_calls} call" + ("s" if outcome.llm_calls != 1 else "")
    if outcome.calls:
        calls += f" {latency(outcome.call_latency_ms)}"
    return f"{calls} · run {latency(outcome.latency_ms)}"


def _footer(outcome: AgentOutcome, width: int = 74) -> str:
    """`cerebras:llama3.1-8b · $0.0000621 · 1 call 37 ms · run 139 ms`: the model, the cost,
    how long the LLM calls took and the whole run beside it. Shorter forms (no provider, then
    no model, then the cost without what the cache saved) when it would be wider than `width`."""
    provider = outcome.calls[-1].provider if outcome.calls else outcome.provider
    model = outcome.calls[-1].model if outcome.calls else outcome.model
    times = call_times(outcome)
    cost = cost_words(outcome)
    for footer in (
        f"{provider}:{model} · {cost} · {times}",
        f"{model} · {cost} · {times}",
        f"{cost} · {times}",
        f"{usd(outcome.cost_usd)} · {times}",
    ):
        if len(footer) <= width:
            return footer
    return times


def _title(outcome: AgentOutcome) -> str:
    name = f" · {outcome.company_name}" if outcome.company_name else ""
    return f"{outcome.agent} · lead {outcome.lead_id}{name}"


def _bullets(items: list[Any], render: Any = str) -> Text:
    text = Text()
    for index, item in enumerate(items):
        if index:
            text.append("\n")
        text.append("• " + render(item))
    return text if items else Text(DASH, style="dim")


def _section(heading: str, body: RenderableType | str) -> Group:
    return Group(Text(heading, style="bold"), body, Text(""))


def outcome_panel(outcome: AgentOutcome) -> RenderableType:
    """One lead's result (or failure) as a panel, its footer fitted to the width."""
    return _OutcomePanel(outcome)


class _OutcomePanel:
    def __init__(self, outcome: AgentOutcome) -> None:
        self.outcome = outcome

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        outcome = self.outcome
        # The border takes 2 columns each side of the footer, its padding 1 each side.
        footer = Text(_footer(outcome, width=options.max_width - 6))
        if not outcome.ok or outcome.result is None:
            reason = outcome.failure.message if outcome.failure else "no result"
            body = Text(f"failed: {reason}", style="red")
            yield Panel(body, title=Text(_title(outcome)), subtitle=footer, border_style="red")
            return
        renderer = _RESULT_RENDERERS.get(outcome.agent, _generic)
        yield Panel(
            Group(*renderer(outcome.result)),
            title=Text(_title(outcome)),
            subtitle=footer,
            title_align="left",
            subtitle_align="right",
        )


def _qualification(result: dict[str, Any]) -> list[RenderableType]:
    parts: list[RenderableType] = [score_gauge(result["score"], result["tier"]), Text("")]
    parts.append(_section("Reasoning", Text(result["reasoning"])))
    if result.get("signals"):
        parts.append(_section("Signals", _bullets(result["signals"])))
    return parts


def _enrichment(result: dict[str, Any]) -> list[RenderableType]:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for label, key in (
        ("industry", "industry"),
        ("employees", "employee_count"),
        ("headquarters", "headquarters"),
        ("region", "region"),
        ("founded", "founded_year"),
        ("funding", "funding"),
        ("revenue", "revenue_range"),
        ("confidence", "confidence"),
    ):
        value = result.get(key)
        facts.add_row(label, Text(DASH if value in (None, "") else str(value)))
    facts.add_row("technologies", Text(", ".join(result.get("technologies") or []) or DASH))
    people = [f"{d['name']} ({d['title']})" for d in result.get("decision_makers") or []]
    facts.add_row("decision makers", Text("; ".join(people) or DASH))
    facts.add_row("sources", Text(", ".join(result.get("sources") or []) or DASH))
    if result.get("filled_fields"):
        facts.add_row("filled on lead", Text(", ".join(result["filled_fields"])))
    return [Text(result.get("description") or "", style="italic"), Text(""), facts]


def _growth(result: dict[str, Any]) -> list[RenderableType]:
    return [
        _section("Summary", Text(result["summary"])),
        _section(
            "Expansion opportunities",
            _bullets(
                result["expansion_opportunities"], lambda o: f"{o['title']}: {o['rationale']}"
            ),
        ),
        _section(
            "Competitors", _bullets(result["competitors"], lambda c: f"{c['name']}: {c['note']}")
        ),
        _section("Risks", _bullets(result["risks"])),
        _section("Recommended plays", _bullets(result["recommended_plays"])),
    ]


def _marketing(result: dict[str, Any]) -> list[RenderableType]:
    messaging = result["messaging"]
    sequence = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    sequence.add_column("#", justify="right")
    sequence.add_column("day", justify="right")
    sequence.add_column("subject")
    for touch in result["email_sequence"]:
        sequence.add_row(str(touch.get("step", "")), str(touch["day"]), Text(touch["subject"]))
    return [
        _section("Audience", Text(result["audience"])),
        _section("Value proposition", Text(messaging["value_proposition"])),
        _section("Pain points", _bullets(messaging["pain_points"])),
        _section("Email sequence", sequence),
        Text(f"Call to action: {result['call_to_action']}", style="bold"),
    ]


def _bdr(result: dict[str, Any]) -> list[RenderableType]:
    outreach = result["outreach"]
    return [
        _section("Outreach", Text(f"Subject: {outreach['subject']}\n\n{outreach['body']}")),
        _section("Proposed slots", _bullets(result["proposed_slots"], _slot)),
        _section(
            "Follow-up plan",
            _bullets(result["follow_up_plan"], _follow_up),
        ),
        Text(
            f"Next step on the deal: {result['deal_next_step']}"
            + (f" (saved on deal {result['deal_id']})" if result.get("deal_id") else ""),
            style="bold",
        ),
    ]


def _slot(iso: str) -> str:
    """`Tue 24 Nov 2026, 10:00 +00:00` from an ISO timestamp (as given if it is not one)."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    offset = moment.strftime("%z")
    zone = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{moment.strftime('%a %d %b %Y, %H:%M')} {zone}".strip()


def _follow_up(step: dict[str, Any]) -> str:
    return f"day {step['day']} · {step['channel']}: {step['action']}"


def _commitment(item: dict[str, Any]) -> str:
    due = f" (by {item['due']})" if item.get("due") else ""
    return f"{item['owner']}: {item['commitment']}{due}"


def _conversation(result: dict[str, Any]) -> list[RenderableType]:
    sentiment_style = {"positive": "green", "negative": "red", "mixed": "yellow"}
    return [
        _section("Summary", Text(result["summary"])),
        Text.assemble(
            ("Sentiment: ", "bold"),
            (result["sentiment"], sentiment_style.get(result["sentiment"], "")),
        ),
        Text(""),
        _section(
            "Objections",
            _bullets(
                result["objections"], lambda o: f"{o['objection']} → {o['suggested_response']}"
            ),
        ),
        _section(
            "Commitments",
            _bullets(result["commitments"], _commitment),
        ),
        _section("Next steps", _bullets(result["next_steps"])),
    ]


def _generic(result: dict[str, Any]) -> list[RenderableType]:
    return [Text(str(result))]


_RESULT_RENDERERS = {
    "qualification": _qualification,
    "enrichment": _enrichment,
    "growth": _growth,
    "marketing": _marketing,
    "bdr": _bdr,
    "conversation": _conversation,
}


def _average_latency(summary: RunSummary) -> str:
    """`420 ms per lead, 310 ms of it in LLM calls`."""
    run, calls = summary.avg_latency_ms, summary.avg_call_latency_ms
    if run is None or calls is None:
        return DASH
    return f"{latency(run)} per lead, {latency(calls)} of it in LLM calls"


def summary_table(summary: RunSummary) -> Group:
    """The end-of-run table: done, failed (with reasons), cost, cost per lead, latency."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    unpriced = "*" if summary.unpriced_leads and summary.total_cost_usd is not None else ""
    rows = [
        ("model", f"{summary.provider}:{summary.model}"),
        ("done", str(summary.done)),
        ("failed", str(summary.failed)),
        ("LLM calls", str(summary.llm_calls)),
    ]
    hits = sum(o.cache_hits for o in summary.outcomes)
    if hits:
        saved = sum((o.saved_usd for o in summary.outcomes), Decimal(0))
        rows.append(("from cache", f"{hits} of {summary.llm_calls} calls · saved {usd(saved)}"))
    rows += [
        ("total cost", usd(summary.total_cost_usd) + unpriced),
        ("cost per lead", usd(summary.cost_per_lead_usd)),
        ("average latency", _average_latency(summary)),
        ("elapsed", f"{summary.elapsed_s:.1f} s"),
    ]
    if summary.stopped_by:
        stopped = summary.stopped_by + (f": {summary.stop_message}" if summary.stop_message else "")
        rows.append(("stopped by", stopped + (" (aborted)" if summary.aborted else "")))
    for label, value in rows:
        table.add_row(label, Text(value))
    title = Text(f"{summary.agent} · {summary.selection}", style="bold")
    parts: list[RenderableType] = [title, table]
    if unpriced:
        leads = f"{summary.unpriced_leads} lead" + ("s" if summary.unpriced_leads != 1 else "")
        parts.append(
            Text(
                f"* leaves out {leads} whose calls had no known price (unpriced): "
                "their cost is unknown, not zero.",
                style="dim",
            )
        )
    if summary.failures:
        from salesctl.tables import Column, FitTable

        failed = [
            [str(o.lead_id), o.failure.message if o.failure else "unknown"]
            for o in summary.failures[:50]
        ]
        if len(summary.failures) > 50:
            failed.append(["…", f"and {len(summary.failures) - 50} more (see --json)"])
        parts.append(
            FitTable(
                [Column("lead", right=True, keep=2), Column("reason", keep=1, wrap=True)],
                failed,
                title="failed leads",
            )
        )
    return Group(*parts)


def estimate_table(estimate: RunEstimate) -> Group:
    """Expected tokens and cost for the chosen model and the alternatives."""
    from salesctl.tables import Column, FitTable

    table = FitTable(
        [
            Column("model", keep=9),
            Column("input tokens", right=True, keep=4),
            Column("output tokens", right=True, keep=3),
            Column("expected cost", right=True, keep=8),
            Column("price source", keep=1),
        ],
        [
            [
                f"{model.provider}:{model.model}" + (" (chosen)" if model.chosen else ""),
                f"{model.input_tokens:,}",
                f"{model.output_tokens:,}",
                usd(model.cost_usd),
                model.price_source,
            ]
            for model in estimate.models
        ],
        title=f"estimate · {estimate.agent} · {estimate.selection} · {estimate.leads} leads",
    )
    notes = [
        f"Per lead: ~{estimate.avg_input_tokens:,} input tokens (prompt size of "
        f"{estimate.sampled} sampled leads), ~{estimate.avg_output_tokens:,} output tokens "
        f"({estimate.output_basis}). Repairs and cache hits not included; nothing was spent.",
    ]
    for recent in estimate.recent:
        notes.append(
            f"Recent runs on {recent.provider}:{recent.model}: {recent.runs} leads, "
            f"{usd(recent.avg_cost_usd)} per lead on average."
        )
    return Group(table, Text("\n".join(notes), style="dim"))


def icp_table(icp: ICPSettings, source: str) -> Table:
    """The ideal customer profile the qualification agent scores against."""
    table = Table(
        title=Text(f"ideal customer profile ({source})"),
        show_header=False,
        title_justify="left",
        padding=(0, 2),
    )
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("target industries", Text(", ".join(icp.target_industries) or DASH))
    table.add_row("employees", f"{icp.employee_min:,}–{icp.employee_max:,}")
    table.add_row("regions", Text(", ".join(icp.regions) or DASH))
    table.add_row("buyer titles", Text(", ".join(icp.buyer_titles) or DASH))
    table.add_row("disqualifiers", Text(", ".join(icp.disqualifiers) or DASH))
    table.add_row("hot", f"score ≥ {icp.hot_threshold}")
    table.add_row("warm", f"score ≥ {icp.warm_threshold}")
    table.add_row("cold", f"score < {icp.warm_threshold}")
    return table
