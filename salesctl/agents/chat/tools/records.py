"""What the chat tools share about records: the closed sets their arguments take, record
summaries, and loading a lead or deal by reference."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.chat import assessments, queries
from salesctl.agents.chat.tools.framework import Args, ToolFailure
from salesctl.db.models import Deal, Lead
from salesctl.db.queries import deals as deal_queries
from salesctl.db.queries import leads as lead_queries
from salesctl.errors import NotFound

OnboardingStepKey = Literal[
    "kickoff", "technical_setup", "training", "first_value", "check_in_30", "qbr"
]
assert get_args(OnboardingStepKey) == assessments.ONBOARDING_KEYS


def lead_summary(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.id,
        "company": lead.company_name,
        "contact": lead.contact_name,
        "title": lead.contact_title,
        "industry": lead.industry,
        "employees": lead.employees,
        "region": lead.region,
        "status": lead.status,
        "score": lead.qualification_score,
        "tier": lead.qualification_tier,
    }


def deal_summary(deal: Deal, company: str | None, now: datetime) -> dict[str, Any]:
    return {
        "deal_id": deal.id,
        "name": deal.name,
        "company": company,
        "lead_id": deal.lead_id,
        "stage": deal.stage,
        "amount": deal.amount,
        "close_date": deal.close_date,
        "next_step": deal.next_step,
        "days_in_stage": assessments.days_between(deal.stage_changed_at, now),
    }


class LeadRefArgs(Args):
    lead_id: int | None = Field(None, ge=1, description="The lead's id.")
    company: str | None = Field(
        None, min_length=1, max_length=255, description="The company name, when the id is unknown."
    )

    @model_validator(mode="after")
    def _one_reference(self) -> LeadRefArgs:
        if self.lead_id is None and not self.company:
            raise ValueError("give lead_id or company")
        return self


async def lead_by_id(session: AsyncSession, lead_id: int) -> Lead:
    try:
        return await lead_queries.get_lead(session=session, lead_id=lead_id)
    except NotFound:
        raise ToolFailure(f"no lead with id {lead_id}") from None


async def deals_of(session: AsyncSession, lead_id: int) -> list[Deal]:
    return [deal for deal, _ in await deal_queries.list_deals(session=session, lead_id=lead_id)]


async def claim_for_write(
    session: AsyncSession, model: type[Lead] | type[Deal], record_id: int, now: datetime
) -> None:
    if not await queries.claim_for_write(
        session=session, model=model, record_id=record_id, now=now
    ):
        raise ToolFailure(f"{model.__tablename__[:-1]} {record_id} was deleted meanwhile")


async def resolve_lead(args: LeadRefArgs, session: AsyncSession) -> Lead:
    if args.lead_id is not None:
        return await lead_by_id(session, args.lead_id)
    assert args.company is not None
    lead = await queries.find_lead_by_company(session=session, company=args.company)
    if lead is None:
        raise ToolFailure(f"no lead whose company matches {args.company!r}")
    return lead
