"""Rich renderables for leads and deals; no I/O, so tests render them to a fixed-width console."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

from salesctl.crm.records import DealMove, DealRecord, LeadCost, LeadDetail, LeadRecord, Pipeline
from salesctl.money import usd

if TYPE_CHECKING:
    from rich.console import RenderableType

    from salesctl.crm.csv_import import ImportReport
    from salesctl.tables import FitTable

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


def _lead_cells(lead: LeadRecord) -> list[str]:
    return [
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
    ]


def leads_table(leads: Sequence[LeadRecord], *, wide: bool = False) -> FitTable:
    """The `leads list` table, one line per lead: columns that do not fit the terminal are
    left out (region first, then industry, …) rather than squeezed into unreadable slivers."""
    from salesctl.tables import Column, FitTable

    columns = [
        Column("ID", right=True, keep=20),
        Column("Company", keep=19, squeeze=16),
        Column("Contact", keep=14, squeeze=12),
        Column("Title", keep=10, squeeze=12),
        Column("Industry", keep=8, squeeze=10),
        Column("Employees", right=True, keep=9),
        Column("Region", keep=7, squeeze=10),
        Column("Status", keep=15),
        Column("Score", right=True, keep=18),
        Column("Tier", keep=17),
    ]
    return FitTable(columns, [_lead_cells(lead) for lead in leads], wide=wide, more="--wide")


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


def _deal_rows(
    deals: Sequence[DealRecord], *, with_company: bool = True, wide: bool = False
) -> FitTable:
    from salesctl.tables import Column, FitTable

    columns = [Column("ID", right=True, keep=20)]
    if with_company:
        columns.append(Column("Company", keep=15, squeeze=12))
    columns += [
        Column("Deal", keep=12, wrap=True),
        Column("Stage", keep=18),
        Column("Amount", right=True, keep=19),
        Column("Close date", keep=8),
        Column("Next step", keep=11, wrap=True),
    ]
    rows = []
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
        rows.append(cells)
    return FitTable(columns, rows, wide=wide, more="--wide" if with_company else None)


def pipeline_view(pipeline: Pipeline, *, wide: bool = False) -> RenderableType:
    """The `deals list` view: the deals, then the count and total per stage."""
    from rich.console import Group

    from salesctl.tables import Column, FitTable

    if not pipeline.deals:
        return Group("No deals yet: open one with `salesctl deals add --lead ID --name NAME`.")
    totals = FitTable(
        [Column("Stage", keep=3), Column("Deals", right=True, keep=2), Column("Total", right=True)],
        [[stage.stage, str(stage.deals), money(stage.total_amount)] for stage in pipeline.by_stage],
        footer=["all", str(len(pipeline.deals)), money(pipeline.total_amount)],
    )
    return Group(_deal_rows(pipeline.deals, wide=wide), "", totals)


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
