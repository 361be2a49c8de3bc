"""The customer-success tools: won accounts, account health, and onboarding (a write)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.chat import assessments, queries
from salesctl.agents.chat.context import ChatContext, PlannedChange
from salesctl.agents.chat.tools.framework import Args, Tool, ToolFailure, WriteRefused
from salesctl.agents.chat.tools.records import (
    LeadRefArgs,
    OnboardingStepKey,
    claim_for_write,
    deals_of,
    lead_by_id,
    lead_summary,
    resolve_lead,
)
from salesctl.db.base import utcnow
from salesctl.db.models import Deal, Lead


class WonAccountsArgs(Args):
    limit: int = Field(20, ge=1, le=100, description="How many accounts at most.")


async def _won_accounts(args: WonAccountsArgs, session: AsyncSession, now: datetime) -> Any:
    accounts = await queries.won_accounts(session=session, limit=args.limit)
    return {
        "accounts": [
            {
                **lead_summary(lead),
                "won_on": assessments.won_on(deals),
                "won_value": sum((d.amount or Decimal(0) for d in deals), Decimal(0)),
            }
            for lead, deals in accounts
        ]
    }


WON_ACCOUNTS = Tool(
    "won_accounts",
    "List customer accounts (leads with a closed-won deal), most recently won first.",
    WonAccountsArgs,
    read=_won_accounts,
)


async def _won_lead(args: LeadRefArgs, session: AsyncSession) -> tuple[Lead, list[Deal]]:
    lead = await resolve_lead(args, session)
    deals = await deals_of(session, lead.id)
    if not any(d.stage == "closed_won" for d in deals):
        raise ToolFailure(f"{lead.company_name!r} (lead {lead.id}) has no closed-won deal yet")
    return lead, deals


async def _account_health(args: LeadRefArgs, session: AsyncSession, now: datetime) -> Any:
    lead, deals = await _won_lead(args, session)
    return {
        "health": assessments.account_health(lead, deals, now),
        **lead_summary(lead),
        "notes": lead.notes,
    }


ACCOUNT_HEALTH = Tool(
    "account_health",
    "Health score, warning signs and renewal risk of a won customer account.",
    LeadRefArgs,
    read=_account_health,
)


async def _onboarding_checklist(args: LeadRefArgs, session: AsyncSession, now: datetime) -> Any:
    lead, deals = await _won_lead(args, session)
    return {**lead_summary(lead), "onboarding": assessments.onboarding_progress(lead, deals, now)}


ONBOARDING_CHECKLIST = Tool(
    "onboarding_checklist",
    "The onboarding checklist of a won customer account and its progress (done, overdue, due).",
    LeadRefArgs,
    read=_onboarding_checklist,
)


STEP_WORDS: dict[str, tuple[str, ...]] = {
    "kickoff": ("kickoff", "kick off"),
    "technical_setup": ("setup", "set up", "technical", "integration", "integrations"),
    "training": ("training", "trained"),
    "first_value": ("first value", "value milestone"),
    "check_in_30": ("check in", "checkin", "30 day"),
    "qbr": ("qbr", "business review"),
}


class CompleteStepArgs(Args):
    lead_id: int = Field(ge=1, description="The customer account's lead id.")
    step: OnboardingStepKey = Field(description="The onboarding step that is done.")


async def _plan_step(
    args: CompleteStepArgs, session: AsyncSession, ctx: ChatContext
) -> PlannedChange:
    lead, _ = await _won_lead(LeadRefArgs(lead_id=args.lead_id), session)
    if args.step in assessments.completed_steps(lead):
        raise ToolFailure(f"{args.step} is already done for lead {lead.id}")
    if not ctx.user_words.latest_has_word(STEP_WORDS[args.step]):
        raise WriteRefused(f"the user did not name the step {args.step!r}")
    if not ctx.user_words.names_record("lead", lead.id, (lead.company_name, lead.contact_name)):
        raise WriteRefused(f"the user never named lead {lead.id} ({lead.company_name})")
    return PlannedChange(
        "complete_onboarding_step",
        f"lead {lead.id} {lead.company_name!r} onboarding",
        ((args.step, "open", "done"),),
    )


async def _apply_step(
    args: CompleteStepArgs, session: AsyncSession, ctx: ChatContext, change: PlannedChange
) -> dict[str, Any]:
    now = utcnow()
    await claim_for_write(session, Lead, args.lead_id, now)
    lead = await lead_by_id(session, args.lead_id)
    completed = {**assessments.completed_steps(lead), args.step: now.date().isoformat()}
    record = (lead.insights or {}).get("onboarding")
    onboarding = {**(record if isinstance(record, dict) else {}), "completed": completed}
    await queries.set_lead_insight(
        session=session, lead=lead, key="onboarding", value=onboarding, now=now
    )
    return {"lead_id": lead.id, "step_done": args.step}


COMPLETE_ONBOARDING_STEP = Tool(
    "complete_onboarding_step",
    "Mark an onboarding step of a customer account as done (a write: the user confirms it).",
    CompleteStepArgs,
    plan=_plan_step,
    apply=_apply_step,
    intent_words=("done", "complete", "completed", "finished", "mark", "held", "tick"),
)
