"""The deal tools: lists, pipeline summary, stalled and at-risk deals, one deal's details,
and moving a deal to another stage (a write)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.chat import assessments, queries
from salesctl.agents.chat.context import ChatContext, PlannedChange
from salesctl.agents.chat.tools.framework import Args, Tool, ToolFailure, WriteRefused
from salesctl.agents.chat.tools.records import claim_for_write, deal_summary, lead_summary
from salesctl.db.base import utcnow
from salesctl.db.models import Deal, Lead
from salesctl.db.queries import deals as deal_queries
from salesctl.vocabulary import DEAL_STAGES, OPEN_DEAL_STAGES, DealStage


class ListDealsArgs(Args):
    stage: DealStage | None = Field(None, description="Only deals in this stage.")
    open_only: bool = Field(False, description="Only deals not yet closed.")
    limit: int = Field(20, ge=1, le=100, description="How many deals at most.")


async def _list_deals(args: ListDealsArgs, session: AsyncSession, now: datetime) -> Any:
    stages: Sequence[str] | None = (
        [args.stage] if args.stage else OPEN_DEAL_STAGES if args.open_only else None
    )
    rows = await queries.list_deals(session=session, stages=stages, limit=args.limit)
    return {"deals": [deal_summary(r.deal, r.company_name, now) for r in rows]}


LIST_DEALS = Tool(
    "list_deals",
    "List deals in the pipeline, largest first, optionally for one stage.",
    ListDealsArgs,
    read=_list_deals,
)


class NoArgs(Args):
    pass


async def _pipeline_summary(args: NoArgs, session: AsyncSession, now: datetime) -> Any:
    totals = {t.stage: t for t in await queries.stage_totals(session=session)}
    stages = [
        {
            "stage": stage,
            "deals": totals[stage].deals if stage in totals else 0,
            "amount": totals[stage].amount if stage in totals else Decimal(0),
        }
        for stage in DEAL_STAGES
    ]
    open_rows = [s for s in stages if s["stage"] in OPEN_DEAL_STAGES]
    return {
        "stages": stages,
        "open_deals": sum(s["deals"] for s in open_rows),
        "open_pipeline_value": sum((s["amount"] for s in open_rows), Decimal(0)),
        "won_value": totals["closed_won"].amount if "closed_won" in totals else Decimal(0),
    }


PIPELINE_SUMMARY = Tool(
    "pipeline_summary",
    "Summarise the pipeline: number of deals and total value per stage, open pipeline value.",
    NoArgs,
    read=_pipeline_summary,
)


class StalledDealsArgs(Args):
    days: int = Field(
        assessments.STALL_DAYS, ge=1, le=365, description="Days in one stage that count as stalled."
    )


async def _stalled_deals(args: StalledDealsArgs, session: AsyncSession, now: datetime) -> Any:
    rows = await queries.list_deals(session=session, stages=OPEN_DEAL_STAGES, limit=500)
    stalled = [
        deal_summary(r.deal, r.company_name, now)
        for r in rows
        if assessments.days_between(r.deal.stage_changed_at, now) > args.days
    ]
    stalled.sort(key=lambda d: -d["days_in_stage"])
    return {"stalled_after_days": args.days, "deals": stalled}


STALLED_DEALS = Tool(
    "stalled_deals",
    "Find stalled deals: open deals stuck in one stage for more than N days.",
    StalledDealsArgs,
    read=_stalled_deals,
)


async def _at_risk_deals(args: NoArgs, session: AsyncSession, now: datetime) -> Any:
    rows = await queries.list_deals(session=session, stages=OPEN_DEAL_STAGES, limit=500)
    at_risk = []
    for row in rows:
        lead = await session.get(Lead, row.deal.lead_id)
        risks = assessments.deal_risks(row.deal, lead, now)
        if risks:
            summary = deal_summary(row.deal, row.company_name, now)
            at_risk.append({**summary, "risks": [r.detail for r in risks]})
    at_risk.sort(key=lambda d: -len(d["risks"]))
    return {"deals": at_risk}


AT_RISK_DEALS = Tool(
    "at_risk_deals",
    "Find at-risk deals: stalled, overdue, closing soon in an early stage, or missing a next step.",
    NoArgs,
    read=_at_risk_deals,
)


class DealRefArgs(Args):
    deal_id: int = Field(ge=1, description="The deal's id.")


async def _deal_details(args: DealRefArgs, session: AsyncSession, now: datetime) -> Any:
    row = await queries.get_deal(session=session, deal_id=args.deal_id)
    if row is None:
        raise ToolFailure(f"no deal with id {args.deal_id}")
    lead = await session.get(Lead, row.deal.lead_id)
    return {
        **deal_summary(row.deal, row.company_name, now),
        "blockers": [r.detail for r in assessments.deal_risks(row.deal, lead, now)],
        "lead": lead_summary(lead) if lead else None,
        "lead_notes": lead.notes if lead else None,
    }


DEAL_DETAILS = Tool(
    "deal_details",
    "One deal in detail: stage, amount, close date, next step, days in stage, blockers and risks, "
    "and its lead.",
    DealRefArgs,
    read=_deal_details,
)


STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "prospecting": ("prospecting",),
    "qualification": ("qualification", "qualifying"),
    "proposal": ("proposal",),
    "negotiation": ("negotiation", "negotiating"),
    "closed_won": ("closed won", "won"),
    "closed_lost": ("closed lost", "lost"),
}
MOVE_WORDS = (
    "move",
    "moved",
    "advance",
    "push",
    "mark",
    "set",
    "change",
    "update",
    "close",
    "progress",
    "put",
    "drop",
    "demote",
    "reopen",
    "promote",
)


class MoveDealArgs(Args):
    deal_id: int = Field(ge=1, description="The deal to move.")
    stage: DealStage = Field(description="The stage to move it to.")
    next_step: str | None = Field(
        None, max_length=500, description="A new next step, if the user gave one."
    )


async def _plan_move(args: MoveDealArgs, session: AsyncSession, ctx: ChatContext) -> PlannedChange:
    row = await queries.get_deal(session=session, deal_id=args.deal_id)
    if row is None:
        raise ToolFailure(f"no deal with id {args.deal_id}")
    deal = row.deal
    if deal.stage == args.stage:
        raise ToolFailure(f"deal {deal.id} is already in {args.stage}")
    if not ctx.user_words.latest_has_word(STAGE_WORDS[args.stage]):
        raise WriteRefused(f"the user did not ask for the stage {args.stage!r}")
    if not ctx.user_words.names_record("deal", deal.id, (deal.name, row.company_name)):
        raise WriteRefused(f"the user never named deal {deal.id} ({deal.name})")
    changes: list[tuple[str, str | None, str | None]] = [("stage", deal.stage, args.stage)]
    if args.next_step is not None:
        changes.append(("next_step", deal.next_step, args.next_step))
    return PlannedChange("move_deal", f"deal {deal.id} {deal.name!r}", tuple(changes))


async def _apply_move(
    args: MoveDealArgs, session: AsyncSession, ctx: ChatContext, change: PlannedChange
) -> dict[str, Any]:
    await claim_for_write(session, Deal, args.deal_id, utcnow())
    deal = await session.get(Deal, args.deal_id)
    before = change.changes[0][1]
    if deal is None or deal.stage != before:
        raise ToolFailure(f"deal {args.deal_id} changed meanwhile; nothing was written")
    deal, _ = await deal_queries.move_deal(session=session, deal_id=deal.id, stage=args.stage)
    if args.next_step is not None:
        deal.next_step = args.next_step
        await session.flush()
    return {"deal_id": deal.id, "stage_before": before, "stage_after": deal.stage}


MOVE_DEAL = Tool(
    "move_deal",
    "Move a deal to another pipeline stage (a write: the user confirms it). Only when the user "
    "asks to move that deal.",
    MoveDealArgs,
    plan=_plan_move,
    apply=_apply_move,
    intent_words=MOVE_WORDS,
)
