"""Deal operations behind `salesctl deals …`: each takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.crm.inputs import DealInput
from salesctl.crm.records import DealMove, DealRecord, Pipeline, StageTotal, deal_record
from salesctl.db.queries import deals as deal_queries
from salesctl.db.queries import leads as lead_queries
from salesctl.vocabulary import DEAL_STAGES, DealStage


async def add_deal(*, session: AsyncSession, deal: DealInput) -> DealRecord:
    """Open a deal on an existing lead."""
    lead = await lead_queries.get_lead(session=session, lead_id=deal.lead_id)
    stored = await deal_queries.insert_deal(session=session, values=deal.model_dump())
    await session.refresh(stored)
    return deal_record(stored, lead.company_name)


async def pipeline(
    *, session: AsyncSession, stage: DealStage | None = None, lead_id: int | None = None
) -> Pipeline:
    """Deals in pipeline order with a count and amount total per stage."""
    if lead_id is not None:
        await lead_queries.get_lead(session=session, lead_id=lead_id)
    rows = await deal_queries.list_deals(session=session, stage=stage, lead_id=lead_id)
    deals = [deal_record(deal, company) for deal, company in rows]
    stages = DEAL_STAGES if stage is None else (stage,)
    by_stage = []
    for name in stages:
        in_stage = [d.amount for d in deals if d.stage == name]
        by_stage.append(StageTotal(stage=name, deals=len(in_stage), total_amount=_sum(in_stage)))
    return Pipeline(deals=deals, by_stage=by_stage, total_amount=_sum(d.amount for d in deals))


async def move_deal(*, session: AsyncSession, deal_id: int, stage: DealStage) -> DealMove:
    """Move a deal to another stage, stamping when its stage changed."""
    deal, previous = await deal_queries.move_deal(session=session, deal_id=deal_id, stage=stage)
    lead = await lead_queries.get_lead(session=session, lead_id=deal.lead_id)
    return DealMove(
        deal=deal_record(deal, lead.company_name), previous_stage=previous, moved=previous != stage
    )


def _sum(amounts: Iterable[Decimal | None]) -> Decimal | None:
    """Exact total of the known amounts; None when no deal has an amount."""
    known = [a for a in amounts if a is not None]
    return sum(known, Decimal(0)) if known else None
