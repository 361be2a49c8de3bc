"""Rich renderables for leads and deals; no I/O, so tests render them to a fixed-width console."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

from salesctl.crm.records import DealMove, DealRecord, LeadCost, LeadDetail, LeadRecord, Pipeline
from salesctl.money import usd

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.table import Table

    from salesctl.crm.csv_import import ImportReport

DASH = "—"
_MAX_PRINTED_PROBLEMS = 20
_MAX_LISTED_LINES = 10


def money(amount: Decimal | None) -> str:
    """A deal amount, by the one rule for money (`salesctl.money`)."""
    return usd(amount)


def when(moment: datetime | None, tz: tzinfo = UTC) -> str:
    return DASH if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def display_zone(name: str) -> tzinfo:
    """The `timezone` setting as a tzinfo for showing times."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from salesctl.errors import ConfigError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown timezone {name!r} in the settings (e.g. UTC, Europe/Berlin)"
        ) from None


def _text(value: object) -> str:
    return DASH if value is None or value == "" else str(value)


@dataclass(frozen=True)
class _Column:
    header: str
    cap: int  # widest it gets; longer values end in "…"
    right: bool = False


# Display order; _DROP_ORDER says which go first when the terminal is too narrow for all.
_LEAD_COLUMNS = (
    _Column("ID", 8, right=True),
    _Column("Company", 30),
    _Column("Contact", 22),
    _Column("Title", 22),
    _Column("Industry", 18),
    _Column("Employees", 9, right=True),
    _Column("Region", 16),
    _Column("Status", 12),
    _Column("Score", 5, right=True),
    _Column("Tier", 4),
)
_DROP_ORDER = ("Region", "Industry", "Employees", "Title", "Contact", "Status")
_GUTTER = 3  # padding either side of a cell plus the separator


def _lead_cells(lead: LeadRecord) -> tuple[str, ...]:
    return (
        str(lead.id),
        lead.company_name,
        _text(lead.contact_name),
        _text(lead.contact_title),
        _text(lead.industry),
        DASH if lead.employees is None else f"{lead.employees:,}",
        _text(lead.region),
        lead.status,
        _text(lead.qualification_score),
        _text(lead.qualification_tier),
    )


class LeadsTable:
    """The `leads list` table, one line per lead: columns that do not fit the terminal are
    left out (region first, then industry, …) rather than squeezed into unreadable slivers."""

    def __init__(self, leads: Sequence[LeadRecord]):
        self.rows = [_lead_cells(lead) for lead in leads]

    def widths(self, max_width: int) -> dict[str, int]:
        """Width per shown column, for a terminal `max_width` wide."""
        natural = {
            column.header: min(
                column.cap, max(len(column.header), *(len(row[i]) for row in self.rows))
            )
            for i, column in enumerate(_LEAD_COLUMNS)
        }
        dropped = list(_DROP_ORDER)
        while dropped and sum(natural.values()) + _GUTTER * len(natural) > max_width:
            del natural[dropped.pop(0)]
        return natural

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich import box
        from rich.table import Table

        widths = self.widths(options.max_width)
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        shown = [i for i, column in enumerate(_LEAD_COLUMNS) if column.header in widths]
        for i in shown:
            column = _LEAD_COLUMNS[i]
            table.add_column(
                column.header,
                justify="right" if column.right else "left",
                no_wrap=True,
                overflow="ellipsis",
                max_width=widths[column.header],
            )
        for row in self.rows:
            table.add_row(*(row[i] for i in shown))
        yield table


def leads_table(leads: Sequence[LeadRecord]) -> LeadsTable:
    """The `leads list` table: who, where, how big, and how qualified."""
    return LeadsTable(leads)


def cost_line(cost: LeadCost) -> str:
    """`$0.000234 over 5 calls (enrichment, qualification)`, saying what the total leaves out."""
    if cost.total_requests == 0:
        return "no AI calls yet"
    calls = "call" if cost.total_requests == 1 else "calls"
    line = f"{usd(cost.total_cost_usd)} over {cost.total_requests} {calls}"
    if cost.unpriced_requests:
        line += f", {cost.unpriced_requests} of them unpriced (not in the total)"
    if cost.agents_used:
        line += f" ({', '.join(cost.agents_used)})"
    return line


def lead_panel(lead: LeadDetail, tz: tzinfo = UTC) -> RenderableType:
    """The `leads show` view: contact card, qualification, enrichment, deals, AI spend."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    card = Table.grid(padding=(0, 2))
    card.add_column(style="bold")
    card.add_column(overflow="fold")
    contact = " · ".join(part for part in (lead.contact_name, lead.contact_title) if part) or DASH
    for label, value in (
        ("Contact", contact),
        ("Email", _text(lead.contact_email)),
        ("Phone", _text(lead.phone)),
        ("Industry", _text(lead.industry)),
        ("Employees", DASH if lead.employees is None else f"{lead.employees:,}"),
        ("Website", _text(lead.website)),
        ("Region", _text(lead.region)),
        ("Status", lead.status),
        ("Added", when(lead.created_at, tz)),
        ("Notes", _text(lead.notes)),
        ("AI cost", cost_line(lead.ai_cost)),
    ):
        card.add_row(label, value)

    qualification = Table.grid(padding=(0, 2))
    qualification.add_column(style="bold")
    qualification.add_column(overflow="fold")
    if lead.qualification_score is None:
        qualification.add_row(
            "Score", f"not qualified yet: run `salesctl qualify --lead {lead.id}`"
        )
    else:
        qualification.add_row(
            "Score", f"{lead.qualification_score} ({_text(lead.qualification_tier)})"
        )
        qualification.add_row("Reasoning", _text(lead.qualification_reasoning))
        qualification.add_row("Qualified", when(lead.qualified_at, tz))

    enrichment = Table.grid(padding=(0, 2))
    enrichment.add_column(style="bold")
    enrichment.add_column(overflow="fold")
    if not lead.enrichment:
        enrichment.add_row("", f"not enriched yet: run `salesctl enrich --lead {lead.id}`")
    else:
        for key, value in lead.enrichment.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            enrichment.add_row(str(key), shown)

    parts: list[RenderableType] = [
        Panel(card, title=f"Lead {lead.id}: {lead.company_name}", title_align="left"),
        Panel(qualification, title="Qualification", title_align="left"),
        Panel(enrichment, title="Enrichment", title_align="left"),
    ]
    if lead.deals:
        parts.append(
            Panel(_deal_rows(lead.deals, with_company=False), title="Deals", title_align="left")
        )
    else:
        parts.append(
            Panel(
                f"no deals: open one with `salesctl deals add --lead {lead.id} --name NAME`",
                title="Deals",
                title_align="left",
            )
        )
    return Group(*parts)


def _deal_rows(deals: Sequence[DealRecord], *, with_company: bool = True) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("ID", justify="right")
    if with_company:
        table.add_column("Company", overflow="fold")
    table.add_column("Deal", overflow="fold")
    table.add_column("Stage")
    table.add_column("Amount", justify="right")
    table.add_column("Close date")
    table.add_column("Next step", overflow="fold")
    for deal in deals:
        cells = [str(deal.id)]
        if with_company:
            cells.append(deal.company_name)
        cells += [
            deal.name,
            deal.stage,
            money(deal.amount),
            _text(deal.close_date),
            _text(deal.next_step),
        ]
        table.add_row(*cells)
    return table


def pipeline_view(pipeline: Pipeline) -> RenderableType:
    """The `deals list` view: the deals, then the count and total per stage."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    totals = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    totals.add_column("Stage")
    totals.add_column("Deals", justify="right")
    totals.add_column("Total", justify="right")
    for stage in pipeline.by_stage:
        totals.add_row(stage.stage, str(stage.deals), money(stage.total_amount))
    totals.add_section()
    totals.add_row("all", str(len(pipeline.deals)), money(pipeline.total_amount), style="bold")
    if not pipeline.deals:
        return Group("No deals yet: open one with `salesctl deals add --lead ID --name NAME`.")
    return Group(_deal_rows(pipeline.deals), "", totals)


def deal_line(deal: DealRecord) -> str:
    return (
        f"deal {deal.id} {deal.name!r} for lead {deal.lead_id} ({deal.company_name}): "
        f"{deal.stage}, {money(deal.amount)}"
    )


def move_line(move: DealMove) -> str:
    deal = move.deal
    if not move.moved:
        return f"deal {deal.id} {deal.name!r} is already in {deal.stage}"
    return f"deal {deal.id} {deal.name!r}: {move.previous_stage} → {deal.stage}"


def import_lines(report: ImportReport) -> list[str]:
    """What an import did, for the terminal (problems are printed by `problem_lines`)."""
    lines: list[str] = []
    if report.committed:
        noun = "lead" if report.imported == 1 else "leads"
        ids = ""
        if report.lead_ids:
            first, last = report.lead_ids[0], report.lead_ids[-1]
            ids = f" (id {first})" if first == last else f" (ids {first}–{last})"
        lines.append(f"imported {report.imported} {noun} from {report.file}{ids}")
    if report.ignored_columns:
        # Only worth reading when the file did not fit cleanly: what was used, what was not.
        used = ", ".join(f"{column} → {field}" for column, field in report.columns.items())
        lines.append(f"columns used: {used}")
        lines.append(f"columns ignored: {', '.join(report.ignored_columns)} (see --map)")
    if report.already_present:
        count = len(report.already_present)
        where = ""
        if count <= _MAX_LISTED_LINES:
            where = f" (lines {', '.join(str(row.line) for row in report.already_present)})"
        lines.append(f"skipped {count} already in the database{where}")
    if report.committed and report.invalid:
        lines.append(f"skipped {len(report.invalid)} invalid rows")
    return lines


def problem_lines(report: ImportReport) -> list[str]:
    """`line 4: employees 'fifty' is not a whole number`, for the first rows that failed."""
    lines = [
        f"line {problem.line}: {'; '.join(problem.reasons)}"
        for problem in report.invalid[:_MAX_PRINTED_PROBLEMS]
    ]
    more = len(report.invalid) - _MAX_PRINTED_PROBLEMS
    if more > 0:
        lines.append(f"… and {more} more (all of them with --json)")
    return lines


def import_failure(report: ImportReport) -> str:
    """The one-line reason an all-or-nothing import stored nothing."""
    bad = len(report.invalid)
    good = report.rows_read - bad - len(report.already_present)
    rows = "rows is" if bad == 1 else "rows are"  # "1 of 4 rows is invalid"
    them = "it" if bad == 1 else "them"
    valid = "valid one" if good == 1 else "valid ones"
    return (
        f"{bad} of {report.rows_read} {rows} invalid in {report.file}; nothing imported "
        f"(fix {them}, or pass --skip-invalid to import the {good} {valid})"
    )
