"""Lead operations behind `salesctl leads …`: each takes the caller's session and never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.crm.inputs import LeadInput, LeadStatus, LeadTier
from salesctl.crm.records import LeadCost, LeadDetail, LeadRecord, deal_record
from salesctl.db.queries import deals as deal_queries
from salesctl.db.queries import leads as lead_queries
from salesctl.db.queries.leads import LeadSort


async def add_lead(*, session: AsyncSession, lead: LeadInput) -> LeadRecord:
    """Store a validated lead and return it with its new id."""
    stored = await lead_queries.insert_lead(session=session, values=lead.model_dump())
    await session.refresh(stored)
    return LeadRecord.model_validate(stored)


async def find_leads(
    *,
    session: AsyncSession,
    status: LeadStatus | None = None,
    tier: LeadTier | None = None,
    min_score: int | None = None,
    sort: LeadSort = "score",
    limit: int | None = None,
) -> list[LeadRecord]:
    """Leads matching the filters, best score first unless `sort` says otherwise."""
    leads = await lead_queries.list_leads(
        session=session, status=status, tier=tier, min_score=min_score, sort=sort, limit=limit
    )
    return [LeadRecord.model_validate(lead) for lead in leads]


async def get_lead(*, session: AsyncSession, lead_id: int) -> LeadRecord:
    return LeadRecord.model_validate(await lead_queries.get_lead(session=session, lead_id=lead_id))


async def lead_detail(*, session: AsyncSession, lead_id: int) -> LeadDetail:
    """A lead with its qualification, enrichment, deals and AI spend so far."""
    lead = await lead_queries.get_lead(session=session, lead_id=lead_id)
    deals = await deal_queries.list_deals(session=session, lead_id=lead_id)
    cost = await lead_queries.lead_ai_cost(session=session, lead_id=lead_id)
    return LeadDetail(
        **LeadRecord.model_validate(lead).model_dump(),
        deals=[deal_record(deal, company) for deal, company in deals],
        ai_cost=LeadCost(
            total_cost_usd=cost.total_cost_usd,
            total_requests=cost.total_requests,
            unpriced_requests=cost.unpriced_requests,
            agents_used=cost.agents_used,
        ),
    )


async def delete_lead(*, session: AsyncSession, lead_id: int) -> LeadRecord:
    """Delete a lead with its deals and agent runs (its cost rows stay, detached); returns it."""
    lead = await get_lead(session=session, lead_id=lead_id)
    await lead_queries.delete_lead(session=session, lead_id=lead_id)
    return lead


async def deal_count(*, session: AsyncSession, lead_id: int) -> int:
    return await lead_queries.count_deals(session=session, lead_id=lead_id)
