"""Rich renderables for the reports; no I/O (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.money import usd

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.table import Table

    from salesctl.reports.budget import BudgetCheck
    from salesctl.reports.costs import AgentCost, CacheStats, CostReport, TimePoint
    from salesctl.reports.outcomes import OutcomeReport, OutcomeRow
    from salesctl.reports.quality import QualityReport
    from salesctl.reports.reconcile import Reconciliation
    from salesctl.reports.savings import SavingsReport

BAR_WIDTH = 40
MIN_BAR_WIDTH = 10
EIGHTHS = " ▏▎▍▌▋▊▉"
MODES = {"passthrough": "pass", "smart_router": "router"}
"""Agent modes as the tables abbreviate them."""

UNPRICED_MARK = "*"
ESTIMATED_MARK = "~"


def count(value: int) -> str:
    return f"{value:,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _share(part: float, whole: float) -> str:
    return f"{round(part / whole * 100)}%" if whole else "—"


def _ms(value: float | int | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _when(value: datetime | None, zone_name: str) -> str:
    from salesctl.timewindow import load_zone

    if value is None:
        return "now"
    return value.astimezone(load_zone(zone_name)).strftime("%Y-%m-%d %H:%M")


def _plural(n: int, word: str) -> str:
    return f"{count(n)} {word}" + ("" if n == 1 else "s")


class Legend:
    """Marks on amounts that leave out or estimate calls, explained in words once, below."""

    def __init__(self) -> None:
        self.unpriced = False
        self.estimated = False

    def cost(self, amount: Decimal | None, row: Any = None) -> str:
        """`$0.0049`, `$0.0049*` (leaves out unpriced calls), `~$0.0049` (some estimated)."""
        unpriced = getattr(row, "unpriced_requests", 0) or 0
        estimated = getattr(row, "estimated_requests", 0) or 0
        text = usd(amount)
        if estimated:
            self.estimated = True
            text = ESTIMATED_MARK + text
        if unpriced and amount is not None:
            self.unpriced = True
            text += UNPRICED_MARK
        return text

    def lines(self, unpriced_total: int, estimated_total: int) -> list[str]:
        lines = []
        if self.unpriced or unpriced_total:
            lines.append(
                f"{UNPRICED_MARK} leaves out unpriced calls: {_plural(unpriced_total, 'call')} "
                "had no known price, so their cost is in no sum (a cost shown as — had no "
                "priced call at all)."
            )
        if self.estimated or estimated_total:
            lines.append(
                f"{ESTIMATED_MARK} includes estimated costs: {_plural(estimated_total, 'call')} "
                "priced from estimated token counts (the provider reported no usage)."
            )
        return lines


class ModelNames:
    """Models by the id you configured; what the provider served instead is said once.

    `claude-sonnet-4-5` is served as `claude-sonnet-4-5-20250929`: tables show the short,
    configured id and a note names the served one (`--wide` tables show served ids).
    """

    def __init__(
        self,
        configured: Iterable[tuple[str, str]],
        served: Iterable[tuple[str, str]],
        *,
        wide: bool = False,
    ) -> None:
        configured = list(configured)
        candidates: dict[tuple[str, str], str] = {}
        for provider, model in dict.fromkeys(served):
            if wide or (provider, model) in configured:
                continue
            prefixes = [c for p, c in configured if p == provider and model.startswith(c + "-")]
            if prefixes:
                candidates[(provider, model)] = max(prefixes, key=len)
        short = list(candidates.values())
        self.aliases = {key: name for key, name in candidates.items() if short.count(name) == 1}

    def name(self, provider: str | None, model: str | None) -> str:
        if provider is None or model is None:
            return "—"
        return self.aliases.get((provider, model), model)

    def note(self) -> str | None:
        if not self.aliases:
            return None
        served = ", ".join(
            f"{name} as {model}" for (_, model), name in sorted(self.aliases.items())
        )
        return f"Models are named as configured; the providers served {served}."


def _model_mix(agent: AgentCost, names: ModelNames) -> str:
    """One line per model the agent used, with its share of the cost (of calls if free)."""
    from salesctl.reports.costs import ModelShare

    shares = agent.models or [
        ModelShare(
            agent.primary_provider or "—",
            agent.primary_model or "—",
            agent.total_requests,
            agent.total_cost_usd,
        )
    ]
    if len(shares) == 1:
        return names.name(shares[0].provider, shares[0].model)
    spent = sum((s.total_cost_usd or Decimal(0) for s in shares), Decimal(0))
    lines = []
    for share in shares:
        if spent:
            part = _share(float(share.total_cost_usd or 0), float(spent))
        else:
            part = _share(share.total_requests, agent.total_requests) + " of calls"
        lines.append(f"{names.name(share.provider, share.model)} {part}")
    return "\n".join(lines)


def bar(value: Decimal, peak: Decimal, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character."""
    if peak <= 0 or value <= 0:
        return ""
    eighths = int(value / peak * width * 8)
    return "█" * (eighths // 8) + (EIGHTHS[eighths % 8].strip())


class DailyChart:
    """Cost per day (week, month) as bars; a run of periods without calls is one line."""

    def __init__(
        self, points: Sequence[TimePoint], granularity: str, zone_name: str, legend: Legend
    ) -> None:
        self.points = list(points)
        self.granularity = granularity
        self.zone_name = zone_name
        self.legend = legend

    def rows(self) -> list[tuple[str, Decimal | None, str, str] | str]:
        """(date, cost, cost text, calls text) per period shown, or a collapsed run's line."""
        rows: list[tuple[str, Decimal | None, str, str] | str] = []
        empty: list[TimePoint] = []

        def flush() -> None:
            if len(empty) > 1:
                rows.append(f"… {len(empty)} {self.granularity}s with no spend")
            else:
                rows.extend((p.date, None, "", "0 calls") for p in empty)
            empty.clear()

        for point in self.points:
            if point.total_requests == 0:
                empty.append(point)
                continue
            flush()
            rows.append(
                (
                    point.date,
                    point.total_cost_usd,
                    self.legend.cost(point.total_cost_usd, point),
                    _plural(point.total_requests, "call"),
                )
            )
        flush()
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        rows = self.rows()
        label = {"day": "Daily", "week": "Weekly", "month": "Monthly"}.get(self.granularity)
        yield Text(
            f"{label or 'Daily'} cost ({self.granularity}s cut in {self.zone_name})", style="bold"
        )
        full = [row for row in rows if not isinstance(row, str)]
        peak = max((r[1] or Decimal(0) for r in full), default=Decimal(0))
        cost_width = max((len(r[2]) for r in full), default=0)
        calls_width = max((len(r[3]) for r in full), default=0)
        room = options.max_width - 10 - cost_width - calls_width - 3 * 2 - 1
        width = max(MIN_BAR_WIDTH, min(BAR_WIDTH, room))
        for row in rows:
            if isinstance(row, str):
                yield Text(f" {'':10}  {row}", style="dim")
                continue
            day, cost, cost_text, calls = row
            line = Text(f" {day}  ")
            line.append(bar(cost or Decimal(0), peak, width).ljust(width), style="cyan")
            line.append(f"  {cost_text.rjust(cost_width)}  {calls.rjust(calls_width)}")
            yield line


def daily_chart(points: Sequence[TimePoint], granularity: str, zone_name: str) -> DailyChart:
    return DailyChart(points, granularity, zone_name, Legend())


def _totals(report: CostReport, legend: Legend) -> Table:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Total cost", legend.cost(report.total_cost_usd, report))
    extra = []
    if report.failed_requests:
        extra.append(f"{count(report.failed_requests)} failed")
    if report.refused_requests:
        extra.append(f"{count(report.refused_requests)} refused by budget")
    if report.unpriced_requests:
        extra.append(f"{count(report.unpriced_requests)} unpriced")
    if report.estimated_requests:
        extra.append(f"{count(report.estimated_requests)} estimated")
    grid.add_row(
        "Calls", count(report.total_requests) + (f" ({', '.join(extra)})" if extra else "")
    )
    if report.estimated_requests:
        grid.add_row(
            "Estimated",
            f"{ESTIMATED_MARK}{usd(report.estimated_cost_usd)} of the total, for "
            f"{_plural(report.estimated_requests, 'call')} served without a usage report",
        )
    grid.add_row("From cache", cache_line(report.cache_stats))
    tokens = report.tokens
    grid.add_row(
        "Tokens",
        f"{count(tokens.prompt)} prompt · {count(tokens.completion)} completion"
        + (f" · {count(tokens.cache_read)} cache read" if tokens.cache_read else ""),
    )
    return grid


def cache_line(cache: CacheStats) -> str:
    """`30 of 44 calls (68%) · saved $0.0020`, or `none of 44 calls`."""
    if not cache.total_requests:
        return "no calls"
    if not cache.cache_hits:
        return f"none of {_plural(cache.total_requests, 'call')}"
    return (
        f"{count(cache.cache_hits)} of {_plural(cache.total_requests, 'call')} "
        f"({_share(cache.cache_hits, cache.total_requests)}) · "
        f"saved {usd(cache.estimated_savings_usd)}"
    )


def _agents_table(report: CostReport, names: ModelNames, legend: Legend, wide: bool) -> Any:
    from salesctl.tables import Column, FitTable

    columns = [
        Column("agent", keep=9),
        Column("mode", keep=5),
        Column("calls", right=True, keep=7),
        Column("cost", right=True, keep=8),
        Column("avg/call", right=True, keep=1),
        Column("latency", right=True, keep=2),
        Column("ok", right=True, keep=0),
        Column("cached", right=True, keep=3),
        Column("model", keep=6),
    ]
    rows = [
        [
            a.agent_type,
            MODES.get(a.agent_mode or "", a.agent_mode),
            count(a.total_requests),
            legend.cost(a.total_cost_usd, a),
            usd(a.avg_cost_per_request),
            _ms(a.avg_latency_ms),
            "—" if a.success_rate is None else f"{a.success_rate * 100:.0f}%",
            count(a.cache_hits) if a.cache_hits else "—",
            _model_mix(a, names),
        ]
        for a in report.by_agent
    ]
    return FitTable(
        columns,
        rows,
        title="By agent (mode: pass = its own model, router = smart router)",
        wide=wide,
        more="--wide",
    )


def render_cost_report(
    report: CostReport,
    *,
    models: Iterable[tuple[str, str]] = (),
    wide: bool = False,
) -> RenderableType:
    """Totals, by agent, by model, by lead, the per-rep view, the chart, then what the marks
    and names mean. `models` are the configured `(provider, model)` ids (tables name models
    by them); `wide` shows every column at full width whatever the terminal."""
    from rich.console import Group

    legend = Legend()
    served = [(m.provider, m.model) for m in report.by_provider_model]
    served += [(s.provider, s.model) for a in report.by_agent for s in a.models]
    names = ModelNames(models, served, wide=wide)
    sections = [
        _cost_heading(report),
        _totals(report, legend),
        _agents_section(report, names, legend, wide),
        _percentiles_table(report, wide),
        _models_table(report, names, legend, wide),
        _leads_table(report, legend, wide),
        _users_section(report, legend, wide),
        _chart(report, legend),
        _cost_notes(report, names, legend),
    ]
    return Group(*_spaced([section for section in sections if section is not None]))


def _cost_heading(report: CostReport) -> RenderableType:
    """The window, its zone, and the filters other than the window."""
    from rich.text import Text

    window = report.window
    heading = Text.assemble(
        ("AI costs ", "bold"),
        f"{_when(window.since, window.timezone)} → {_when(window.until, window.timezone)} "
        f"({window.timezone})",
    )
    filters = [f"{k}={v}" for k, v in report.filters.items() if v and k not in {"since", "until"}]
    if filters:
        heading.append("  filters: " + ", ".join(filters), style="dim")
    return heading


def _agents_section(
    report: CostReport, names: ModelNames, legend: Legend, wide: bool
) -> RenderableType:
    from rich.text import Text

    if not report.by_agent:
        return Text("No calls in this window.", style="dim")
    table: RenderableType = _agents_table(report, names, legend, wide)
    return table


def _percentiles_table(report: CostReport, wide: bool) -> RenderableType | None:
    from salesctl.tables import Column, FitTable

    if not report.percentiles:
        return None
    return FitTable(
        [
            Column("agent", keep=9),
            Column("mode", keep=1),
            Column("latency p50", right=True, keep=5),
            Column("latency p95", right=True, keep=6),
            Column("cost p50", right=True, keep=7),
            Column("cost p95", right=True, keep=8),
        ],
        [
            [
                p.agent_type,
                MODES.get(p.agent_mode or "", p.agent_mode),
                _ms(p.latency_p50_ms),
                _ms(p.latency_p95_ms),
                usd(p.cost_p50_usd),
                usd(p.cost_p95_usd),
            ]
            for p in report.percentiles
        ],
        title="Percentiles (nearest rank, detail rows)",
        wide=wide,
        more="--wide",
    )


def _models_table(
    report: CostReport, names: ModelNames, legend: Legend, wide: bool
) -> RenderableType | None:
    from salesctl.tables import Column, FitTable

    if not report.by_provider_model:
        return None
    return FitTable(
        [
            Column("model", keep=9),
            Column("provider", keep=4),
            Column("calls", right=True, keep=7),
            Column("cost", right=True, keep=8),
            Column("prompt tok", right=True, keep=3),
            Column("compl. tok", right=True, keep=2),
            Column("cache rd", right=True, keep=1),
        ],
        [
            [
                names.name(m.provider, m.model),
                m.provider,
                count(m.total_requests),
                legend.cost(m.total_cost_usd, m),
                count(m.prompt_tokens),
                count(m.completion_tokens),
                count(m.cache_read_tokens) if m.cache_read_tokens else "—",
            ]
            for m in report.by_provider_model
        ],
        title="By model",
        wide=wide,
        more="--wide",
    )


def _leads_table(report: CostReport, legend: Legend, wide: bool) -> RenderableType | None:
    from salesctl.tables import Column, FitTable

    if not report.by_lead:
        return None
    shown = len(report.by_lead)
    title = (
        f"Top {shown} of {report.leads_total} leads" if shown < report.leads_total else "By lead"
    )
    return FitTable(
        [
            Column("lead", right=True, keep=9),
            Column("company", keep=8, squeeze=12),
            Column("calls", right=True, keep=6),
            Column("cost", right=True, keep=7),
            Column("agents", keep=3, wrap=True),
        ],
        [
            [
                str(lead.lead_id),
                lead.company_name,
                count(lead.total_requests),
                legend.cost(lead.total_cost_usd, lead),
                ", ".join(lead.agents_used),
            ]
            for lead in report.by_lead
        ],
        title=title,
        wide=wide,
        more="--wide",
    )


def _users_section(report: CostReport, legend: Legend, wide: bool) -> RenderableType | None:
    """The per-rep view (chat agents): None when it was not asked for."""
    from rich.text import Text

    from salesctl.tables import Column, FitTable

    if report.by_user is None:
        return None
    if not report.by_user:
        return Text("No chat calls by a user.", style="dim")
    return FitTable(
        [
            Column("user", keep=9, squeeze=12),
            Column("sessions", right=True, keep=5),
            Column("calls", right=True, keep=6),
            Column("cost", right=True, keep=8),
            Column("most expensive sessions", keep=3),
        ],
        [
            [
                u.user_id,
                count(u.sessions),
                count(u.total_requests),
                legend.cost(u.total_cost_usd, u),
                "\n".join(f"{s.session_id} {usd(s.total_cost_usd)}" for s in u.top_sessions),
            ]
            for u in report.by_user
        ],
        title="By rep (chat agents)",
        wide=wide,
        more="--wide",
    )


def _chart(report: CostReport, legend: Legend) -> RenderableType | None:
    if not report.time_series:
        return None
    window = report.window
    return DailyChart(report.time_series, window.granularity, window.timezone, legend)


def _cost_notes(report: CostReport, names: ModelNames, legend: Legend) -> RenderableType | None:
    """What the marks and the model names mean, and the report's own notes."""
    from rich.console import Group
    from rich.text import Text

    notes = legend.lines(report.unpriced_requests, report.estimated_requests)
    served_note = names.note()
    if served_note:
        notes.append(served_note)
    notes.extend(f"note: {note}" for note in report.notes)
    if not notes:
        return None
    return Group(*(Text(note, style="dim") for note in notes))


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    from rich.text import Text

    spaced: list[RenderableType] = []
    for part in parts:
        if spaced:
            spaced.append(Text(""))
        spaced.append(part)
    return spaced


def render_budget_check(check: BudgetCheck) -> RenderableType:
    """The detail behind `budget check`'s one line (with --details)."""
    from rich.console import Group
    from rich.text import Text

    from salesctl.tables import Column, FitTable

    legend = Legend()
    table = FitTable(
        [
            Column("scope", keep=9, squeeze=12),
            Column("period", keep=8),
            Column("spend", right=True, keep=7),
            Column("budget", right=True, keep=6),
            Column("used", right=True, keep=5),
            Column("severity", keep=4),
        ],
        [
            [
                status.scope,
                status.period,
                legend.cost(status.spend_usd, status),
                usd(status.budget_usd),
                f"{status.percent:.1f}%",
                status.severity,
            ]
            for status in check.budgets
        ],
        title="Budgets",
    )
    parts: list[RenderableType] = [table]
    forecast = check.forecast
    crossing = (
        f"; crosses the monthly budget {_when(forecast.crosses_at, check.timezone)}"
        if forecast.crosses_at
        else ""
    )
    parts.append(
        Text(
            f"Forecast: {usd(forecast.day_end_usd)} by the end of today, "
            f"{usd(forecast.month_end_usd)} by the end of the month{crossing}"
        )
    )
    for anomaly in check.anomalies:
        what = "Last hour" if anomaly.window == "last_hour" else "Today so far"
        usual = (
            f"usually {usd(anomaly.usual_usd)}"
            if anomaly.usual_usd is not None
            else f"no baseline yet ({anomaly.history_days} of 3 days with spend)"
        )
        driver = anomaly.driver
        by = (
            f", driven by {driver.agent_type} on {driver.provider}:{driver.model}" if driver else ""
        )
        parts.append(
            Text(
                f"{what} {usd(anomaly.spend_usd)}; {usual}"
                + (f" — SPIKE{by}" if anomaly.is_spike else "")
            )
        )
    unpriced = sum(status.unpriced_requests for status in check.budgets)
    parts.extend(Text(line, style="dim") for line in legend.lines(unpriced, 0))
    return Group(*parts)


def render_savings(report: SavingsReport, *, wide: bool = False) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from salesctl.tables import Column, FitTable

    table = FitTable(
        [
            Column("agent", keep=9),
            Column("spent", right=True, keep=8),
            Column("without router", right=True, keep=4),
            Column("without cache", right=True, keep=3),
            Column("router saved", right=True, keep=7),
            Column("cache saved", right=True, keep=6),
        ],
        [
            [
                row.agent_type,
                usd(row.spent_usd),
                usd(row.without_router_usd),
                usd(row.without_cache_usd),
                usd(row.router_saved_usd),
                usd(row.cache_saved_usd),
            ]
            for row in report.by_agent
        ],
        footer=[
            report.total.agent_type,
            usd(report.total.spent_usd),
            usd(report.total.without_router_usd),
            usd(report.total.without_cache_usd),
            usd(report.total.router_saved_usd),
            usd(report.total.cache_saved_usd),
        ],
        title="What routing and caching saved",
        wide=wide,
        more="--wide",
    )
    parts: list[RenderableType] = [
        Text(report.assumption, style="dim"),
        table,
    ]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def render_outcomes(report: OutcomeReport, *, wide: bool = False) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from salesctl.tables import Column, FitTable

    def table_for(title: str, first: str, rows: Sequence[OutcomeRow], total: Any) -> FitTable:
        def cells(row: OutcomeRow) -> list[str]:
            return [
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
            ]

        return FitTable(
            [
                Column(first, keep=20),
                Column("AI spend", right=True, keep=19),
                Column("qualified", right=True, keep=9),
                Column("per qualified", right=True, keep=18),
                Column("hot", right=True, keep=8),
                Column("per hot", right=True, keep=14),
                Column("meetings", right=True, keep=7),
                Column("per meeting", right=True, keep=12),
                Column("won", right=True, keep=10),
                Column("per won", right=True, keep=16),
            ],
            [cells(row) for row in rows],
            footer=cells(total) if total is not None else None,
            title=title,
            wide=wide,
            more="--wide",
        )

    parts: list[RenderableType] = [
        table_for("Unit economics by agent", "agent", report.by_agent, report.total),
        Text(""),
        table_for(f"By month (months in {report.timezone})", "month", report.by_month, None),
        Text(""),
        *(Text(f"{name}: {meaning}", style="dim") for name, meaning in report.definitions.items()),
    ]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def render_reconciliation(result: Reconciliation, *, wide: bool = False) -> RenderableType:
    """The cells outside the tolerance, largest difference first, then the totals line."""
    from rich.console import Group
    from rich.text import Text

    from salesctl.reports.reconcile import headline, totals
    from salesctl.tables import Column, FitTable

    outside = [c for c in result.cells if not c.within_tolerance]
    parts: list[RenderableType] = []
    if outside:
        legend = Legend()
        rows = [
            [
                cell.date,
                f"{cell.provider}:{cell.model}",
                legend.cost(cell.tracked_usd, cell),
                usd(cell.billed_usd),
                usd(cell.difference_usd),
            ]
            for cell in outside
        ]
        parts.append(
            FitTable(
                [
                    Column("date", keep=20),
                    Column("provider:model", keep=19, squeeze=16),
                    Column("tracked", right=True, keep=17),
                    Column("billed", right=True, keep=16),
                    Column("difference", right=True, keep=18),
                ],
                rows,
                title=f"Tracked vs billed ({result.format}, days in {result.timezone})",
                wide=wide,
                more="--wide",
            )
        )
        unpriced = sum(c.unpriced_requests for c in outside)
        estimated = sum(c.estimated_requests for c in outside)
        parts.extend(Text(line, style="dim") for line in legend.lines(unpriced, estimated))
    parts.append(Text(headline(result), style="yellow" if outside else "green"))
    parts.append(Text(totals(result)))
    for note in result.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)


def render_quality(report: QualityReport, *, wide: bool = False) -> RenderableType:
    """Rated answers against their cost, per agent, tier and model, and per router tier."""
    from rich.console import Group
    from rich.text import Text

    from salesctl.tables import Column, FitTable

    def score(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    by_model = FitTable(
        [
            Column("agent", keep=20, squeeze=10),
            Column("tier", keep=15),
            Column("model", keep=14, squeeze=12),
            Column("calls", right=True, keep=13),
            Column("rated", right=True, keep=16),
            Column("score", right=True, keep=17),
            Column("per call", right=True, keep=12),
            Column("per good", right=True, keep=18),
        ],
        [
            [
                row.agent_type or "—",
                row.tier or "—",
                row.model or "—",
                count(row.calls),
                count(row.rated_calls),
                score(row.mean_score),
                usd(row.cost_per_call_usd),
                usd(row.cost_per_good_answer_usd),
            ]
            for row in report.rows
        ],
        title="Rated answers by agent, tier and model",
        wide=wide,
        more="--wide",
    )
    tiers = FitTable(
        [
            Column("tier", keep=20),
            Column("calls", right=True, keep=13),
            Column("rated", right=True, keep=16),
            Column("score", right=True, keep=17),
            Column("good", right=True, keep=15),
            Column("per call", right=True, keep=12),
            Column("per good", right=True, keep=18),
        ],
        [
            [
                row.tier or "—",
                count(row.calls),
                count(row.rated_calls),
                score(row.mean_score),
                pct(row.good_share),
                usd(row.cost_per_call_usd),
                usd(row.cost_per_good_answer_usd),
            ]
            for row in report.tiers
        ],
        title="Router tiers side by side",
        wide=wide,
        more="--wide",
    )
    parts: list[RenderableType] = [
        Text(
            f"{report.ratings:,} rating(s). A good answer scores 0.5 or more; per good = cost "
            "per call / the share of rated answers that were good.",
            style="dim",
        )
    ]
    if report.rows:
        parts.append(by_model)
    if report.tiers:
        parts += [Text(""), tiers]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    return Group(*parts)
