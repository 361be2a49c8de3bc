"""`salesctl leads add|import|list|show|delete`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime, _state
from salesctl.cli._console import err, out, print_json
from salesctl.cli._state import MAX_ROW_ID
from salesctl.vocabulary import LEAD_STATUSES as STATUSES
from salesctl.vocabulary import LEAD_TIERS as TIERS

if TYPE_CHECKING:
    from collections.abc import Callable

    from salesctl.crm.records import LeadRecord

app = typer.Typer(
    help="Leads: add one, import a CSV, list, show, delete.\n\n"
    "Example:\n    salesctl leads import leads.csv\n    salesctl leads list --tier hot",
    no_args_is_help=True,
)

SORTS = ("score", "company", "created")
FLAG_LABELS = {
    "company_name": "--company",
    "contact_name": "--contact-name",
    "contact_email": "--email",
    "contact_title": "--title",
    "phone": "--phone",
    "industry": "--industry",
    "employees": "--employees",
    "website": "--website",
    "region": "--region",
    "notes": "--notes",
    "status": "--status",
}


def _complete(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return [c for c in choices if c.startswith(incomplete)]

    return complete


@app.command("add")
def add(
    company: str = typer.Option(..., "--company", help="Company name (required)."),
    contact_name: str | None = typer.Option(None, "--contact-name", "--contact"),
    contact_email: str | None = typer.Option(None, "--email", "--contact-email"),
    contact_title: str | None = typer.Option(None, "--title", "--contact-title"),
    phone: str | None = typer.Option(None, "--phone"),
    industry: str | None = typer.Option(None, "--industry"),
    employees: str | None = typer.Option(None, "--employees", help="Head count."),
    website: str | None = typer.Option(None, "--website"),
    region: str | None = typer.Option(None, "--region", help="Country or region."),
    notes: str | None = typer.Option(None, "--notes"),
    status: str = typer.Option(
        "new",
        "--status",
        help=f"One of: {', '.join(STATUSES)}.",
        autocompletion=_complete(STATUSES),
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the new lead as JSON."),
) -> None:
    """Add one lead.

    Example:
        salesctl leads add --company "Acme Corp" --contact "Dana Ruiz" --title "VP Sales" \\
            --email dana@acme.example --employees 250 --industry SaaS --region "North America"
    """
    from salesctl.crm import leads as crm_leads
    from salesctl.crm.inputs import lead_input

    with _runtime.user_errors():
        lead = lead_input(
            {
                "company_name": company,
                "contact_name": contact_name,
                "contact_email": contact_email,
                "contact_title": contact_title,
                "phone": phone,
                "industry": industry,
                "employees": employees,
                "website": website,
                "region": region,
                "notes": notes,
                "status": status,
            },
            FLAG_LABELS,
        )

    async def insert_lead(rt: _runtime.Runtime) -> LeadRecord:
        async with rt.sessions.begin() as session:
            return await crm_leads.add_lead(session=session, lead=lead)

    record = _runtime.run(insert_lead)
    if json_output:
        print_json(record)
        return
    _say(f"added lead {record.id}: {record.company_name}", done=True)


@app.command("import")
def import_csv(
    path: Path = typer.Argument(..., help="CSV file: our columns or a HubSpot/Salesforce export."),
    mappings: list[str] = typer.Option(
        [],
        "--map",
        "-m",
        help="Map a column to a field: --map 'Org=company_name' (repeatable; 'Col=' ignores).",
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the good rows and report the bad ones."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Import leads from a CSV file, all or nothing (unless --skip-invalid).

    Headers match case-insensitively, including CRM export names such as "Company Name",
    "Email Address", "Job Title", "Number of Employees", "First Name" + "Last Name". Each bad
    row is reported with its line number; rows already in the database are skipped.

    Example:
        salesctl leads import hubspot-export.csv --map "Account Tier=notes" --skip-invalid
    """
    from salesctl.crm import csv_import, render

    with _runtime.user_errors():
        parsed = csv_import.parse_leads_csv(path, mappings)

    async def store_rows(rt: _runtime.Runtime) -> csv_import.ImportReport:
        async with rt.sessions.begin() as session:
            return await csv_import.store_leads(
                session=session, parsed=parsed, source=str(path), skip_invalid=skip_invalid
            )

    report = _runtime.run(store_rows)
    if json_output:
        print_json(report)
    else:
        for line in render.problem_lines(report):
            _say(line, stderr=True)
        for index, line in enumerate(render.import_lines(report)):
            first = report.committed and index == 0
            _say(line if first else "  " + line, done=first, stderr=not report.committed)
    if not report.committed:
        _state.fail(render.import_failure(report))


@app.command("list")
def list_leads(
    status: str | None = typer.Option(
        None,
        "--status",
        help=f"Only this status: {', '.join(STATUSES)}.",
        autocompletion=_complete(STATUSES),
    ),
    tier: str | None = typer.Option(
        None, "--tier", help=f"Only this tier: {', '.join(TIERS)}.", autocompletion=_complete(TIERS)
    ),
    min_score: int | None = typer.Option(
        None, "--min-score", min=0, max=100, help="Only leads scored at least this."
    ),
    sort: str = typer.Option(
        "score",
        "--sort",
        help="score (best first), company (A–Z) or created (newest first).",
        autocompletion=_complete(SORTS),
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many leads."),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List leads, best qualification score first.

    Example:
        salesctl leads list --tier hot --min-score 80 --limit 10
    """
    from salesctl.crm import leads as crm_leads
    from salesctl.crm import render
    from salesctl.crm.inputs import lead_status, normalise_tier
    from salesctl.errors import InvalidInput

    with _runtime.user_errors():
        status_filter = lead_status(status) if status is not None else None
        tier_filter = normalise_tier(tier) if tier is not None else None
        if sort not in SORTS:
            raise InvalidInput(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")

    async def find(rt: _runtime.Runtime) -> list[LeadRecord]:
        async with rt.sessions() as session:
            return await crm_leads.find_leads(
                session=session,
                status=status_filter,
                tier=tier_filter,
                min_score=min_score,
                sort=sort,  # type: ignore[arg-type]  # one of the sort keys, checked above
                limit=limit,
            )

    leads = _runtime.run(find)
    if json_output:
        print_json({"leads": leads, "count": len(leads)})
    elif not leads:
        filtered = any(v is not None for v in (status, tier, min_score))
        _say(
            "No leads match those filters."
            if filtered
            else "No leads yet: add one with `salesctl leads add --company NAME` "
            "or import a CSV with `salesctl leads import FILE.csv`."
        )
    else:
        out().print(render.leads_table(leads, wide=wide), crop=not wide)


@app.command("show")
def show(
    lead_id: int = typer.Argument(..., metavar="ID", help="Lead id.", min=1, max=MAX_ROW_ID),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a lead: contact, qualification, enrichment, deals and the AI spend on it so far.

    Example:
        salesctl leads show 12 --json
    """
    from salesctl.crm import leads as crm_leads
    from salesctl.crm import render
    from salesctl.crm.records import LeadDetail

    async def read_detail(rt: _runtime.Runtime) -> LeadDetail:
        async with rt.sessions() as session:
            return await crm_leads.lead_detail(session=session, lead_id=lead_id)

    detail = _runtime.run(read_detail)
    if json_output:
        print_json(detail)
        return
    from salesctl.config import get_settings

    with _runtime.user_errors():
        zone = render.display_zone(get_settings().timezone)
    out().print(render.lead_panel(detail, zone))


@app.command("delete")
def delete(
    lead_id: int = typer.Argument(..., metavar="ID", help="Lead id.", min=1, max=MAX_ROW_ID),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a lead with its deals and agent runs; its AI cost records stay, unlinked.

    Example:
        salesctl leads delete 12 --yes
    """
    from salesctl.crm import leads as crm_leads

    if not yes:

        async def look(rt: _runtime.Runtime) -> tuple[LeadRecord, int]:
            async with rt.sessions() as session:
                lead = await crm_leads.get_lead(session=session, lead_id=lead_id)
                return lead, await crm_leads.deal_count(session=session, lead_id=lead_id)

        lead, deals = _runtime.run(look)
        _confirm_delete(lead, deals)

    async def delete_one(rt: _runtime.Runtime) -> LeadRecord:
        async with rt.sessions.begin() as session:
            return await crm_leads.delete_lead(session=session, lead_id=lead_id)

    deleted = _runtime.run(delete_one)
    _say(f"deleted lead {deleted.id}: {deleted.company_name}", done=True)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _confirm_delete(lead: LeadRecord, deals: int) -> None:
    from salesctl.errors import InvalidInput

    with _runtime.user_errors():
        if not stdin_is_terminal():
            raise InvalidInput(
                f"not deleting lead {lead.id} ({lead.company_name}) without confirmation: "
                "pass --yes"
            )
    with_deals = f" and its {deals} deal{'s' if deals != 1 else ''}" if deals else ""
    if not typer.confirm(f"Delete lead {lead.id} ({lead.company_name}){with_deals}?"):
        _say("not deleted", stderr=True)
        raise typer.Exit(1)


def _say(text: str, *, done: bool = False, stderr: bool = False) -> None:
    """One plain line (never wrapped, so scripts can grep it); `done` marks a success."""
    from rich.markup import escape

    console = err() if stderr else out()
    console.print(("[green]✓[/] " if done else "") + escape(text), highlight=False, soft_wrap=True)
