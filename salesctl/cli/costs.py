"""`salesctl costs` (the report) and `costs export|prune|savings|outcomes|reconcile`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import err, out, print_json
from salesctl.cli._state import MAX_ROW_ID
from salesctl.cli.budget import UsageExitsThree
from salesctl.cli.maintenance import flush_command

if TYPE_CHECKING:
    from salesctl.config import Settings
    from salesctl.reports.costs import CostReport
    from salesctl.reports.filters import CostFilters
    from salesctl.reports.invoice_formats import Invoice
    from salesctl.reports.outcomes import OutcomeReport
    from salesctl.reports.quality import QualityReport
    from salesctl.reports.reconcile import ReconcileRequest, Reconciliation
    from salesctl.reports.rollups import PruneResult
    from salesctl.reports.savings import SavingsReport

app = typer.Typer(
    help="AI cost reports: totals, agents, leads, providers, cache, daily chart.\n\n"
    "Example:\n    salesctl costs --since 7d\n    salesctl costs export --format csv > calls.csv",
    invoke_without_command=True,
)

GROUPINGS = ("day", "week", "month", "user")
DATES = "ISO date or time, or 7d, 24h, today, yesterday, this-month, last-month"


# typer.Option() returns Any so that it can be any parameter's default; so do these.
def _since() -> Any:
    return typer.Option(None, "--since", help=f"Start ({DATES}); default: the last 30 days.")


def _until() -> Any:
    return typer.Option(None, "--until", help="End (a date includes that whole day).")


def _agent() -> Any:
    return typer.Option(None, "--agent", help="Only this agent type (repeatable).")


def _filters(
    *,
    since: str | None,
    until: str | None,
    agent: list[str] | None,
    lead: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    session: str | None = None,
    user: str | None = None,
) -> CostFilters:
    from salesctl.config import get_settings
    from salesctl.reports.filters import build_filters

    with _runtime.user_errors():
        return build_filters(
            settings=get_settings(),
            since=since,
            until=until,
            agents=agent or (),
            lead_id=lead,
            provider=provider,
            model=model,
            session_id=session,
            user_id=user,
        )


@app.callback()
def costs(
    ctx: typer.Context,
    since: str | None = _since(),
    until: str | None = _until(),
    agent: list[str] | None = _agent(),
    lead: int | None = typer.Option(
        None, "--lead", help="Only calls for this lead id.", min=1, max=MAX_ROW_ID
    ),
    provider: str | None = typer.Option(None, "--provider", help="Only this provider."),
    model: str | None = typer.Option(None, "--model", help="Only this model."),
    session: str | None = typer.Option(None, "--session", help="Only this chat session."),
    user: str | None = typer.Option(None, "--user", help="Only this user (rep)."),
    by: str = typer.Option(
        "day", "--by", help="Chart per day, week or month; `user` adds the per-rep view."
    ),
    top: int = typer.Option(10, "--top", min=0, help="Leads (and reps) to list; 0 for all."),
    percentiles: bool = typer.Option(
        False, "--percentiles", help="Add p50/p95 latency and cost per agent (reads detail rows)."
    ),
    wide: bool = typer.Option(
        False, "--wide", help="Every column at full width, whatever the terminal's width."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the seed's analytics JSON."),
) -> None:
    """What AI calls cost: totals, by agent, lead, provider/model, cache, and a daily chart.

    Days are cut in the configured time zone (setting `timezone`, UTC by default).

    Example:
        salesctl costs --since 2025-01-15
        salesctl costs --since 7d --agent qualification --by week --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from salesctl.errors import InvalidInput
    from salesctl.reports.costs import ReportOptions, cost_report
    from salesctl.reports.render import render_cost_report

    with _runtime.user_errors():
        if by not in GROUPINGS:
            raise InvalidInput(f"--by {by!r} is not one of: {', '.join(GROUPINGS)}")
    filters = _filters(
        since=since,
        until=until,
        agent=agent,
        lead=lead,
        provider=provider,
        model=model,
        session=session,
        user=user,
    )
    options = ReportOptions(
        granularity="day" if by == "user" else by,  # type: ignore[arg-type]  # by: validated
        top=top,
        by_user=by == "user",
        percentiles=percentiles,
    )

    async def read_report(rt: _runtime.Runtime) -> CostReport:
        return await cost_report(rt.engine, filters, options)

    report = _runtime.run(read_report)
    if json_output:
        print_json(report)
        return
    from salesctl.config import get_settings
    from salesctl.llm.pricing import configured_models

    out().print(
        render_cost_report(report, models=configured_models(get_settings()), wide=wide),
        crop=not wide,
    )


@app.command("export")
def export(
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl."),
    since: str | None = _since(),
    until: str | None = _until(),
    agent: list[str] | None = _agent(),
    lead: int | None = typer.Option(None, "--lead", min=1, max=MAX_ROW_ID),
    provider: str | None = typer.Option(None, "--provider"),
    model: str | None = typer.Option(None, "--model"),
    session: str | None = typer.Option(None, "--session"),
    user: str | None = typer.Option(None, "--user"),
    with_text: bool = typer.Option(
        False, "--with-text", help="Include prompt and completion text (may be large)."
    ),
) -> None:
    """Stream the tracked calls as CSV or JSON lines to stdout (constant memory).

    Example:
        salesctl costs export --format csv --since this-month > calls.csv
        salesctl costs export --format jsonl --agent sr-bdr --since 7d | jq .cost_usd
    """
    from salesctl.errors import InvalidInput
    from salesctl.reports.export import ExportFormat, export_calls

    with _runtime.user_errors():
        if fmt not in ("csv", "jsonl"):
            raise InvalidInput(f"--format {fmt!r} is not one of: csv, jsonl")
    chosen: ExportFormat = "csv" if fmt == "csv" else "jsonl"
    filters = _filters(
        since=since,
        until=until,
        agent=agent,
        lead=lead,
        provider=provider,
        model=model,
        session=session,
        user=user,
    )

    async def write_export(rt: _runtime.Runtime) -> int:
        return await export_calls(
            rt.engine,
            filters,
            fmt=chosen,
            stream=sys.stdout,
            with_text=with_text,
        )

    written = _runtime.run(write_export)
    err().print(f"{written:,} call(s) exported", style="dim")


@app.command("prune")
def prune(
    older_than: str = typer.Option(
        ..., "--older-than", help="Delete detail rows older than this (e.g. 90d)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Delete old detail rows in batches; the hourly rollups keep their sums.

    Reports over pruned periods still add up (to the hour); exports, session/user filters
    and percentiles only see the rows kept.

    Example:
        salesctl costs prune --older-than 90d
    """
    from datetime import UTC, datetime

    from salesctl.config import get_settings
    from salesctl.errors import InvalidInput
    from salesctl.reports.filters import parse_time
    from salesctl.reports.rollups import prune as prune_rows
    from salesctl.timewindow import load_zone

    with _runtime.user_errors():
        now = datetime.now(UTC)
        before = parse_time(
            older_than, zone=load_zone(get_settings().timezone), now=now, flag="--older-than"
        )
        if before > now:
            raise InvalidInput(f"--older-than {older_than!r} is in the future")

    async def prune_detail(rt: _runtime.Runtime) -> PruneResult:
        return await prune_rows(rt.engine, before=before)

    result = _runtime.run(prune_detail)
    if json_output:
        print_json(result)
        return
    out().print(
        f"[green]✓[/] deleted {result.deleted:,} detail row(s) before "
        f"{result.cutoff.isoformat()} (rollups kept)"
    )
    if result.kept_unfolded:
        err().print(f"{result.kept_unfolded:,} older row(s) kept: not folded into the rollups yet")


@app.command("savings")
def savings(
    since: str | None = _since(),
    until: str | None = _until(),
    agent: list[str] | None = _agent(),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What the smart router and the cache saved, against what was actually spent.

    Assumes every call the router routed would otherwise have gone to the premium tier's
    model: each is re-priced there. Only calls whose tier the router chose count (not those
    whose model config pinned or a budget limit stepped down). Cache hits count at their
    original price.

    Example:
        salesctl costs savings --since this-month
    """
    from salesctl.reports.render import render_savings
    from salesctl.reports.savings import savings_report

    filters = _filters(since=since, until=until, agent=agent)

    async def read_savings(rt: _runtime.Runtime) -> SavingsReport:
        return await savings_report(rt.engine, filters, settings=rt.settings)

    report = _runtime.run(read_savings)
    if json_output:
        print_json(report)
        return
    out().print(render_savings(report, wide=wide), crop=not wide)


@app.command("outcomes")
def outcomes(
    since: str | None = _since(),
    until: str | None = _until(),
    agent: list[str] | None = _agent(),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Unit economics: AI cost per qualified lead, hot lead, meeting-stage deal and won deal.

    By agent and by month; months are cut in the configured time zone.

    Example:
        salesctl costs outcomes --since 2025-01-01
    """
    from salesctl.reports.outcomes import outcome_report
    from salesctl.reports.render import render_outcomes

    filters = _filters(since=since, until=until, agent=agent)

    async def read_outcomes(rt: _runtime.Runtime) -> OutcomeReport:
        return await outcome_report(rt.engine, filters)

    report = _runtime.run(read_outcomes)
    if json_output:
        print_json(report)
        return
    out().print(render_outcomes(report, wide=wide), crop=not wide)


@app.command("reconcile", cls=UsageExitsThree)
def reconcile(
    file: str = typer.Argument(..., help="The billed file: generic CSV or a provider export."),
    provider: str | None = typer.Option(None, "--provider", help="Compare this provider only."),
    since: str | None = typer.Option(None, "--since", help="First day (default: the file's)."),
    until: str | None = typer.Option(None, "--until", help="Last day (default: the file's)."),
    tolerance: str = typer.Option(
        "0.01", "--tolerance", help="Allowed difference per cell: USD (0.01) or 1% of billed."
    ),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print every cell as JSON."),
) -> None:
    """Compare tracked costs with a provider's bill, per day x provider x model.

    FILE is a CSV with the header date,provider,model,cost_usd (days in the configured time
    zone), or a provider's export: Anthropic's cost report, OpenAI's organization costs,
    OpenRouter's activity, Google Cloud's billing export (days in UTC). Differences are
    listed largest first. Exit 0 when every cell is within the tolerance, 1 when not, 3 when
    the file cannot be read or the comparison cannot be made.

    Example:
        salesctl costs reconcile invoice-2025-01.csv
        salesctl costs reconcile cost_report.json --tolerance 1% --json
    """
    from salesctl.config import canonical_provider, get_settings
    from salesctl.errors import ConfigError, SalesctlError
    from salesctl.reports.invoice_formats import read_invoice
    from salesctl.reports.reconcile import (
        CannotReconcile,
        ReconcileRequest,
        parse_tolerance,
        window_days,
    )

    with _runtime.user_errors():
        try:
            settings = get_settings()
            request = ReconcileRequest(
                provider=canonical_provider(provider) if provider else None,
                since=since,
                until=until,
                tolerance=parse_tolerance(tolerance),
            )
            invoice = read_invoice(file, timezone=settings.timezone)
            window_days(invoice, request)
        except ConfigError as exc:
            raise CannotReconcile(f"--provider: {exc}" if provider else str(exc)) from None
        except SalesctlError as exc:
            if exc.exit_code == 3:
                raise
            raise CannotReconcile(str(exc)) from None
    result = _runtime.run_unconnected(lambda: _reconcile(settings, invoice, request))
    if json_output:
        print_json(result)
    else:
        from salesctl.reports.render import render_reconciliation

        out().print(render_reconciliation(result, wide=wide), crop=not wide)
    raise typer.Exit(result.exit_code)


async def _reconcile(
    settings: Settings, invoice: Invoice, request: ReconcileRequest
) -> Reconciliation:
    """The comparison; any failure to make it (database, window) is exit 3."""
    from salesctl.errors import SalesctlError
    from salesctl.reports.reconcile import CannotReconcile, reconcile

    try:
        runtime = await _runtime.open_runtime(settings)
    except SalesctlError as exc:
        raise CannotReconcile(str(exc)) from None
    try:
        return await reconcile(runtime.engine, invoice, request)
    except SalesctlError as exc:
        if exc.exit_code == 3:
            raise
        raise CannotReconcile(str(exc)) from None
    finally:
        await runtime.aclose()


@app.command("quality")
def quality(
    since: str | None = _since(),
    until: str | None = _until(),
    agent: list[str] | None = _agent(),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rated answers against their cost: per agent, tier and model, and per router tier.

    Calls rated, mean score, cost per call, and cost per good answer (cost per call over the
    share of rated answers scoring 0.5 or more). Rate answers with `salesctl feedback`.

    Example:
        salesctl costs quality --since this-month
    """
    from salesctl.reports.quality import quality_report
    from salesctl.reports.render import render_quality

    filters = _filters(since=since, until=until, agent=agent)

    async def read_quality(rt: _runtime.Runtime) -> QualityReport:
        return await quality_report(rt.engine, filters)

    report = _runtime.run(read_quality)
    if json_output:
        print_json(report)
        return
    out().print(render_quality(report, wide=wide), crop=not wide)


app.command("flush")(flush_command)
