"""`salesctl deals add|list|move`: the sales pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import err, out, print_json
from salesctl.cli._state import MAX_ROW_ID
from salesctl.vocabulary import DEAL_STAGES as STAGES

if TYPE_CHECKING:
    from salesctl.crm.records import DealMove, DealRecord, Pipeline

app = typer.Typer(
    help="Deals: open one on a lead, list the pipeline, move a deal between stages.\n\n"
    "Example:\n    salesctl deals add --lead 1 --name 'Annual plan' --amount 48000\n"
    "    salesctl deals list",
    no_args_is_help=True,
)

FLAG_LABELS = {
    "lead_id": "--lead",
    "name": "--name",
    "stage": "--stage",
    "amount": "--amount",
    "close_date": "--close-date",
    "next_step": "--next-step",
}


def _complete_stage(incomplete: str) -> list[str]:
    return [stage for stage in STAGES if stage.startswith(incomplete)]


@app.command("add")
def add(
    lead_id: int = typer.Option(
        ..., "--lead", help="The lead the deal is with.", min=1, max=MAX_ROW_ID
    ),
    name: str = typer.Option(..., "--name", help="What the deal is called."),
    stage: str = typer.Option(
        "prospecting",
        "--stage",
        help=f"One of: {', '.join(STAGES)}.",
        autocompletion=_complete_stage,
    ),
    amount: str | None = typer.Option(None, "--amount", help="Value in USD, e.g. 48000."),
    close_date: str | None = typer.Option(None, "--close-date", help="Expected, YYYY-MM-DD."),
    next_step: str | None = typer.Option(None, "--next-step", help="What happens next."),
    json_output: bool = typer.Option(False, "--json", help="Print the new deal as JSON."),
) -> None:
    """Open a deal on a lead.

    Example:
        salesctl deals add --lead 12 --name "Acme annual plan" --amount 48000 \\
            --close-date 2025-03-31 --next-step "Security review"
    """
    from salesctl.crm import deals as crm_deals
    from salesctl.crm import render
    from salesctl.crm.inputs import deal_input

    with _runtime.user_errors():
        deal = deal_input(
            {
                "lead_id": lead_id,
                "name": name,
                "stage": stage,
                "amount": amount,
                "close_date": close_date,
                "next_step": next_step,
            },
            FLAG_LABELS,
        )

    async def insert_deal(rt: _runtime.Runtime) -> DealRecord:
        async with rt.sessions.begin() as session:
            return await crm_deals.add_deal(session=session, deal=deal)

    record = _runtime.run(insert_deal)
    if json_output:
        print_json(record)
        return
    _say(f"opened {render.deal_line(record)}", done=True)


@app.command("list")
def list_deals(
    stage: str | None = typer.Option(
        None, "--stage", help="Only deals in this stage.", autocompletion=_complete_stage
    ),
    lead_id: int | None = typer.Option(
        None, "--lead", help="Only this lead's deals.", min=1, max=MAX_ROW_ID
    ),
    wide: bool = typer.Option(False, "--wide", help="Every column, whatever the width."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List deals in pipeline order, with the count and total amount per stage.

    Example:
        salesctl deals list --stage negotiation --json
    """
    from salesctl.crm import deals as crm_deals
    from salesctl.crm import render
    from salesctl.crm.inputs import normalise_stage

    with _runtime.user_errors():
        stage_filter = normalise_stage(stage) if stage is not None else None

    async def read_pipeline(rt: _runtime.Runtime) -> Pipeline:
        async with rt.sessions() as session:
            return await crm_deals.pipeline(session=session, stage=stage_filter, lead_id=lead_id)

    pipeline = _runtime.run(read_pipeline)
    if json_output:
        print_json(pipeline)
        return
    out().print(render.pipeline_view(pipeline, wide=wide), crop=not wide)


@app.command("move")
def move(
    deal_id: int = typer.Argument(..., metavar="ID", help="Deal id.", min=1, max=MAX_ROW_ID),
    stage: str = typer.Argument(
        ..., metavar="STAGE", help=f"One of: {', '.join(STAGES)}.", autocompletion=_complete_stage
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the deal as JSON."),
) -> None:
    """Move a deal to another pipeline stage.

    Example:
        salesctl deals move 7 negotiation
    """
    from salesctl.crm import deals as crm_deals
    from salesctl.crm import render
    from salesctl.crm.inputs import normalise_stage

    with _runtime.user_errors():
        target = normalise_stage(stage)

    async def move_one(rt: _runtime.Runtime) -> DealMove:
        async with rt.sessions.begin() as session:
            return await crm_deals.move_deal(session=session, deal_id=deal_id, stage=target)

    moved = _runtime.run(move_one)
    if json_output:
        print_json(moved)
        return
    _say(render.move_line(moved), done=moved.moved)


def _say(text: str, *, done: bool = False, stderr: bool = False) -> None:
    """One plain line (never wrapped, so scripts can grep it); `done` marks a success."""
    from rich.markup import escape

    console = err() if stderr else out()
    console.print(("[green]✓[/] " if done else "") + escape(text), highlight=False, soft_wrap=True)
