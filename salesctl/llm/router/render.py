"""Rich renderables for `router explain|eval|tune`; no I/O (the CLI prints them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesctl.llm.router.model import TIERS

if TYPE_CHECKING:
    from rich.console import RenderableType

    from salesctl.llm.router import RoutingDecision
    from salesctl.llm.router.evaluate import EvalReport
    from salesctl.llm.router.tune import ResetReport, TuneReport


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _probabilities(probabilities: dict[str, float]) -> str:
    return ", ".join(f"{tier} {probabilities.get(tier, 0):.2f}" for tier in reversed(TIERS))


def explain_lines(decision: RoutingDecision, no_key: list[str]) -> list[str]:
    lines = [
        f"complexity  {decision.complexity}",
        f"provider    {decision.provider}",
        f"model       {decision.model}",
        f"fallbacks   {', '.join(decision.fallbacks) or 'none'}",
        f"router      {decision.version} (margin {decision.margin:g})",
        f"chances     {_probabilities(decision.probabilities)}",
    ]
    if decision.top_features:
        lines.append(f"decided by  (towards {decision.complexity})")
        lines += [f"  {f.description}  +{f.weight:.2f}" for f in decision.top_features]
    extra = [r for r in decision.reasons if not r.startswith(("learned router", "decided by"))]
    if extra:
        lines.append("why")
        lines += [f"  - {reason}" for reason in extra]
    if no_key:
        lines.append(f"no API key for: {', '.join(no_key)} (calls skip these choices)")
    return lines


def render_eval(report: EvalReport) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from salesctl.money import usd

    head = Text(
        f"Router {report.router_version} (margin {report.margin:g}) on {report.source}: "
        f"{report.examples:,} labelled prompts"
    )
    scores = Table.grid(padding=(0, 2))
    scores.add_column()
    scores.add_column(justify="right")
    scores.add_column(style="dim")
    scores.add_row("exact tier", _pct(report.accuracy), "")
    scores.add_row("complex recall", _pct(report.complex_recall), "complex asks sent to complex")
    scores.add_row("under-routed", _pct(report.under_routed), "to a cheaper tier than labelled")
    scores.add_row("over-routed", _pct(report.over_routed), "sent to a stronger tier")
    confusion = Table(
        title="label (rows) x tier routed to (columns)",
        title_justify="left",
        header_style="bold",
        show_edge=False,
    )
    confusion.add_column("label")
    for tier in TIERS:
        confusion.add_column(tier, justify="right")
    confusion.add_column("recall", justify="right")
    for label in TIERS:
        confusion.add_row(
            label,
            *(f"{report.confusion[label][tier]:,}" for tier in TIERS),
            _pct(report.by_tier[label]["recall"]),
        )
    cost = Table(title="Estimated cost", title_justify="left", header_style="bold", show_edge=False)
    cost.add_column("tiers")
    cost.add_column("cost", justify="right")
    cost.add_row("as routed", usd(report.cost_routed_usd))
    cost.add_row(f"all premium ({report.premium_choice})", usd(report.cost_all_premium_usd))
    cost.add_row("as labelled", usd(report.cost_as_labelled_usd))
    parts: list[RenderableType] = [head, scores, Text(""), confusion, Text(""), cost]
    if report.saving_vs_premium is not None:
        parts.append(Text(f"routing saves {_pct(report.saving_vs_premium)} vs all premium"))
    parts.append(Text(f"assumption: {report.assumption}", style="dim"))
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def render_tune(report: TuneReport) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from salesctl.money import usd

    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column()
    grid.add_row(
        "evidence",
        f"{report.examples} examples ({report.from_ratings} from ratings, "
        f"{report.from_labels} labelled); {report.holdout} held out",
    )
    grid.add_row(
        "held-out evidence",
        f"{_pct(report.accuracy_before)} before -> {_pct(report.accuracy_after)} after",
    )
    grid.add_row(
        "shipped held-out",
        f"{_pct(report.shipped_accuracy_before)} before -> "
        f"{_pct(report.shipped_accuracy_after)} after",
    )
    change = report.expected_cost_change_usd
    sign = "+" if change is not None and change > 0 else ""
    grid.add_row(
        "cost change",
        f"{sign}{usd(change)} on the last 30 days ({report.routed_calls_compared:,} routed "
        f"calls, {report.calls_changing_tier:,} change tier)",
    )
    parts: list[RenderableType] = [
        Text(f"Router {report.version} now in use (was {report.version_before})"),
        Text(f"  {report.model_path}", style="dim"),
        grid,
    ]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def reset_lines(report: ResetReport) -> list[str]:
    if report.removed is None:
        return [f"The shipped router {report.version} was already in use."]
    return [
        f"The shipped router {report.version} is in use again "
        f"(the tuned {report.removed} stays on disk)."
    ]
