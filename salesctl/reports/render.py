"""Rich renderables for the reports; no I/O (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from salesctl.money import usd

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from salesctl.reports.budget import BudgetCheck
    from salesctl.reports.costs import CostReport, TimePoint
    from salesctl.reports.outcomes import OutcomeReport, OutcomeRow
    from salesctl.reports.savings import SavingsReport

BAR_WIDTH = 40
EIGHTHS = " ▏▎▍▌▋▊▉"


def count(value: int) -> str:
    return f"{value:,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | int | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _when(value: datetime | None, zone_name: str) -> str:
    from salesctl.reports.filters import load_zone

    if value is None:
        return "now"
    return value.astimezone(load_zone(zone_name)).strftime("%Y-%m-%d %H:%M")


def _table(
    title: str, *columns: str, right: Sequence[str] = (), nowrap: Sequence[str] = ()
) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
    for column in columns:
        table.add_column(
            column,
            justify="right" if column in right else "left",
            no_wrap=column in nowrap,
            overflow="ellipsis" if column in nowrap else "fold",
        )
    return table


def bar(value: Decimal, peak: Decimal, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character."""
    if peak <= 0 or value <= 0:
        return ""
    eighths = int(value / peak * width * 8)
    return "█" * (eighths // 8) + (EIGHTHS[eighths % 8].strip())


def daily_chart(points: Sequence[TimePoint], granularity: str, zone_name: str) -> Table:
    from rich.table import Table

    peak = max((p.total_cost_usd or Decimal(0) for p in points), default=Decimal(0))
    label = {"day": "Daily", "week": "Weekly", "month": "Monthly"}.get(granularity, "Daily")
    table = Table(
        title=f"{label} cost ({granularity}s cut in {zone_name})",
        title_justify="left",
        show_header=False,
        show_edge=False,
        box=None,
        padding=(0, 1),
    )
    table.add_column("date")
    table.add_column("bar", min_width=BAR_WIDTH, no_wrap=True, style="cyan")
    table.add_column("cost", justify="right")
    table.add_column("calls", justify="right")
    for point in points:
        extra = f" +{point.unpriced_requests} unpriced" if point.unpriced_requests else ""
        table.add_row(
            point.date,
            bar(point.total_cost_usd or Decimal(0), peak),
            usd(point.total_cost_usd),
            f"{count(point.total_requests)} calls{extra}",
        )
    return table


def render_cost_report(report: CostReport) -> RenderableType:
    """Totals, by agent, by provider/model, by lead, cache, the chart, per-rep view, notes."""
    from rich.console import Group
    from rich.text import Text

    window = report.window
    parts: list[RenderableType] = []
    heading = Text.assemble(
        ("AI costs ", "bold"),
        f"{_when(window.since, window.timezone)} → {_when(window.until, window.timezone)} "
        f"({window.timezone})",
    )
    filters = [f"{k}={v}" for k, v in report.filters.items() if v and k not in {"since", "until"}]
    if filters:
        heading.append("  filters: " + ", ".join(filters), style="dim")
    parts.append(heading)

    totals = _table("Totals", "", "", right=())
    totals.show_header = False
    totals.add_row("Total cost", usd(report.total_cost_usd))
    totals.add_row("Calls", count(report.total_requests))
    unpriced = report.unpriced_requests
    totals.add_row(
        "Unpriced calls",
        f"{count(unpriced)} (cost unknown, not included above)" if unpriced else "0",
    )
    totals.add_row("Failed calls", count(report.failed_requests))
    if report.refused_requests:
        totals.add_row("Refused by budget", count(report.refused_requests))
    tokens = report.tokens
    totals.add_row(
        "Tokens",
        f"{count(tokens.prompt)} prompt · {count(tokens.completion)} completion"
        + (f" · {count(tokens.cache_read)} cache read" if tokens.cache_read else ""),
    )
    parts.append(totals)

    agents = _table(
        "By agent",
        "agent",
        "mode",
        "calls",
        "cost",
        "avg/call",
        "avg latency",
        "success",
        "provider / model",
        right=("calls", "cost", "avg/call", "avg latency", "success"),
        nowrap=("provider / model",),
    )
    for a in report.by_agent:
        agents.add_row(
            a.agent_type,
            a.agent_mode or "—",
            count(a.total_requests),
            usd(a.total_cost_usd) + (f" +{a.unpriced_requests}?" if a.unpriced_requests else ""),
            usd(a.avg_cost_per_request),
            _ms(a.avg_latency_ms),
            pct(a.success_rate),
            f"{a.primary_provider} / {a.primary_model}",
        )
    parts.append(agents if report.by_agent else Text("No calls in this window.", style="dim"))

    if report.percentiles:
        table = _table(
            "Percentiles (nearest rank, detail rows)",
            "agent",
            "mode",
            "latency p50",
            "latency p95",
            "cost p50",
            "cost p95",
            right=("latency p50", "latency p95", "cost p50", "cost p95"),
        )
        for p in report.percentiles:
            table.add_row(
                p.agent_type,
                p.agent_mode or "—",
                _ms(p.latency_p50_ms),
                _ms(p.latency_p95_ms),
                usd(p.cost_p50_usd),
                usd(p.cost_p95_usd),
            )
        parts.append(table)

    if report.by_provider_model:
        models = _table(
            "By provider / model",
            "provider",
            "model",
            "calls",
            "cost",
            "prompt tok",
            "completion tok",
            right=("calls", "cost", "prompt tok", "completion tok"),
        )
        for m in report.by_provider_model:
            models.add_row(
                m.provider,
                m.model,
                count(m.total_requests),
                usd(m.total_cost_usd)
                + (f" +{m.unpriced_requests}?" if m.unpriced_requests else ""),
                count(m.prompt_tokens),
                count(m.completion_tokens),
            )
        parts.append(models)

    if report.by_lead:
        shown = len(report.by_lead)
        title = (
            f"Top {shown} of {report.leads_total} leads"
            if shown < report.leads_total
            else "By lead"
        )
        leads = _table(
            title, "lead", "company", "calls", "cost", "agents", right=("lead", "calls", "cost")
        )
        for lead in report.by_lead:
            leads.add_row(
                str(lead.lead_id),
                lead.company_name or "—",
                count(lead.total_requests),
                usd(lead.total_cost_usd),
                ", ".join(lead.agents_used),
            )
        parts.append(leads)

    if report.by_user is not None:
        users = _table(
            "By rep (chat agents)",
            "user",
            "sessions",
            "calls",
            "cost",
            "most expensive sessions",
            right=("sessions", "calls", "cost"),
        )
        for u in report.by_user:
            top = ", ".join(f"{s.session_id} {usd(s.total_cost_usd)}" for s in u.top_sessions)
            users.add_row(
                u.user_id, count(u.sessions), count(u.total_requests), usd(u.total_cost_usd), top
            )
        parts.append(users if report.by_user else Text("No chat calls by a user.", style="dim"))

    cache = report.cache_stats
    parts.append(
        Text(
            f"Cache: {count(cache.cache_hits)} of {count(cache.total_requests)} calls were hits "
            f"({pct(cache.cache_hit_rate)}), saving an estimated {usd(cache.estimated_savings_usd)}"
        )
    )
    if report.time_series:
        parts.append(daily_chart(report.time_series, window.granularity, window.timezone))
    if unpriced or report.failed_requests:
        parts.append(
            Text(
                f"{count(unpriced)} unpriced call(s) (cost unknown, shown as — or +N?) and "
                f"{count(report.failed_requests)} failed call(s) in this window.",
                style="yellow" if unpriced else "dim",
            )
        )
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*_spaced(parts))


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    from rich.text import Text

    spaced: list[RenderableType] = []
    for part in parts:
        if spaced:
            spaced.append(Text(""))
        spaced.append(part)
    return spaced


def render_budget_check(check: BudgetCheck) -> RenderableType:
    """The detail behind `budget check`'s one line (shown when stdout is a terminal)."""
    from rich.console import Group
    from rich.text import Text

    table = _table(
        "Budgets",
        "scope",
        "period",
        "spend",
        "budget",
        "used",
        "severity",
        right=("spend", "budget", "used"),
    )
    for status in check.budgets:
        table.add_row(
            status.scope,
            status.period,
            usd(status.spend_usd)
            + (f" +{status.unpriced_requests}?" if status.unpriced_requests else ""),
            usd(status.budget_usd),
            f"{status.percent:.1f}%",
            status.severity,
        )
    parts: list[RenderableType] = [table]
    if check.spike is not None:
        s = check.spike
        baseline = (
            f"trailing average {usd(s.baseline_avg_usd)} over {s.baseline_days} day(s)"
            if s.baseline_avg_usd is not None
            else f"no baseline yet ({s.baseline_days} of 3 days with spend)"
        )
        parts.append(
            Text(f"Today {usd(s.today_usd)}; {baseline}" + (" — SPIKE" if s.is_spike else ""))
        )
    return Group(*parts)


def render_savings(report: SavingsReport) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    table = _table(
        "What routing and caching saved",
        "agent",
        "spent",
        "without router",
        "without cache",
        "router saved",
        "cache saved",
        right=("spent", "without router", "without cache", "router saved", "cache saved"),
    )
    for row in [*report.by_agent, report.total]:
        table.add_row(
            row.agent_type,
            usd(row.spent_usd),
            usd(row.without_router_usd),
            usd(row.without_cache_usd),
            usd(row.router_saved_usd),
            usd(row.cache_saved_usd),
        )
    parts: list[RenderableType] = [
        Text(
            f"Routed calls re-priced at {report.premium_provider}:{report.premium_model}; "
            "cache hits at their original price.",
            style="dim",
        ),
        table,
    ]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def render_outcomes(report: OutcomeReport) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    money_columns = ("AI spend", "per qualified", "per hot", "per meeting", "per won")
    count_columns = ("qualified", "hot", "meetings", "won")

    def table_for(title: str, first: str, rows: Sequence[OutcomeRow]) -> Table:
        table = _table(
            title,
            first,
            "AI spend",
            "qualified",
            "per qualified",
            "hot",
            "per hot",
            "meetings",
            "per meeting",
            "won",
            "per won",
            right=(*money_columns, *count_columns),
        )
        for row in rows:
            table.add_row(
                row.label,
                usd(row.spend_usd),
                count(row.qualified),
                usd(row.per_qualified_usd),
                count(row.hot),
                usd(row.per_hot_usd),
                count(row.meetings),
                usd(row.per_meeting_usd),
                count(row.won),
                usd(row.per_won_usd),
            )
        return table

    parts: list[RenderableType] = [
        table_for("Unit economics by agent", "agent", [*report.by_agent, report.total]),
        Text(""),
        table_for(f"By month (months in {report.timezone})", "month", report.by_month),
        Text(""),
        *(Text(f"{name}: {meaning}", style="dim") for name, meaning in report.definitions.items()),
    ]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)
