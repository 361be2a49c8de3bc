"""Deals in the pipeline: insert, fetch, list with their company, move between stages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.base import utcnow
from salesctl.db.models import Deal, Lead
from salesctl.errors import NotFound
from salesctl.vocabulary import DEAL_STAGES

_STAGE_ORDER: dict[str, int] = {stage: position for position, stage in enumerate(DEAL_STAGES)}


async def insert_deal(*, session: AsyncSession, values: Mapping[str, Any]) -> Deal:
    """Add one deal and flush, so it has its id."""
    deal = Deal(**values)
    session.add(deal)
    await session.flush()
    return deal


async def get_deal(*, session: AsyncSession, deal_id: int) -> Deal:
    deal = await session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal with id {deal_id}: see `salesctl deals list`")
    return deal


async def list_deals(
    *, session: AsyncSession, stage: str | None = None, lead_id: int | None = None
) -> list[tuple[Deal, str]]:
    """Deals with their lead's company, in pipeline order, soonest close date first."""
    query = select(Deal, Lead.company_name).join(Lead, Lead.id == Deal.lead_id)
    if stage is not None:
        query = query.where(Deal.stage == stage)
    if lead_id is not None:
        query = query.where(Deal.lead_id == lead_id)
    rows = [(deal, company) for deal, company in await session.execute(query)]
    rows.sort(
        key=lambda row: (
            _STAGE_ORDER.get(row[0].stage, len(_STAGE_ORDER)),
            row[0].close_date is None,
            row[0].close_date,
            row[0].id,
        )
    )
    return rows


async def move_deal(*, session: AsyncSession, deal_id: int, stage: str) -> tuple[Deal, str]:
    """Put a deal in `stage`; returns it and the stage it left (unchanged if already there)."""
    deal = await get_deal(session=session, deal_id=deal_id)
    previous = deal.stage
    if stage != previous:
        deal.stage = stage
        deal.stage_changed_at = utcnow()
        await session.flush()
    return deal, previous
