"""Leads: insert, fetch, filter, delete, and what the agents have spent on one."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.models import AICostTracking, Deal, Lead
from salesctl.errors import NotFound

LeadSort = Literal["score", "company", "created"]
LEAD_SORTS: tuple[LeadSort, ...] = ("score", "company", "created")

LeadIdentity = tuple[str, str]
"""(company, email or contact name), case-folded: two rows with the same identity are one lead."""

_IN_CHUNK = 500


def lead_identity(
    company_name: str, contact_email: str | None, contact_name: str | None
) -> LeadIdentity:
    # lower(), not casefold(): `existing_identities` finds candidates with SQL lower().
    person = contact_email or contact_name or ""
    return (" ".join(company_name.lower().split()), " ".join(person.lower().split()))


async def insert_lead(*, session: AsyncSession, values: Mapping[str, Any]) -> Lead:
    """Add one lead and flush, so it has its id."""
    lead = Lead(**values)
    session.add(lead)
    await session.flush()
    return lead


async def insert_leads(*, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Add many leads in one executemany; returns their ids in the order given."""
    if not rows:
        return []
    result = await session.scalars(
        insert(Lead).returning(Lead.id, sort_by_parameter_order=True), [dict(r) for r in rows]
    )
    return list(result)


async def get_lead(*, session: AsyncSession, lead_id: int) -> Lead:
    """The lead with this id, or NotFound naming the way to find one."""
    lead = await session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead with id {lead_id}: see `salesctl leads list`")
    return lead


async def list_leads(
    *,
    session: AsyncSession,
    status: str | None = None,
    tier: str | None = None,
    min_score: int | None = None,
    ids: Collection[int] | None = None,
    sort: LeadSort = "score",
    limit: int | None = None,
) -> list[Lead]:
    """Leads matching every filter given; `score` sorts best first with unscored leads last."""
    query = select(Lead)
    if status is not None:
        query = query.where(Lead.status == status)
    if tier is not None:
        query = query.where(Lead.qualification_tier == tier)
    if min_score is not None:
        query = query.where(Lead.qualification_score >= min_score)
    if ids is not None:
        query = query.where(Lead.id.in_(list(ids)))
    if sort == "score":
        query = query.order_by(Lead.qualification_score.desc().nulls_last(), Lead.id)
    elif sort == "company":
        query = query.order_by(func.lower(Lead.company_name), Lead.id)
    else:
        query = query.order_by(Lead.created_at.desc(), Lead.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def delete_lead(*, session: AsyncSession, lead_id: int) -> None:
    """Delete a lead; its deals and agent runs go with it, its cost rows stay (lead_id NULL)."""
    result = await session.execute(delete(Lead).where(Lead.id == lead_id))
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a DML CursorResult
        raise NotFound(f"no lead with id {lead_id}: see `salesctl leads list`")


async def count_deals(*, session: AsyncSession, lead_id: int) -> int:
    query = select(func.count()).select_from(Deal).where(Deal.lead_id == lead_id)
    return int((await session.execute(query)).scalar_one())


async def existing_identities(
    *, session: AsyncSession, company_names: Iterable[str]
) -> dict[LeadIdentity, int]:
    """Identities of stored leads at these companies, with their ids."""
    wanted = sorted({" ".join(name.lower().split()) for name in company_names})
    found: dict[LeadIdentity, int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        query = select(Lead.id, Lead.company_name, Lead.contact_email, Lead.contact_name).where(
            func.lower(Lead.company_name).in_(chunk)
        )
        for lead_id, company, email, name in await session.execute(query):
            found.setdefault(lead_identity(company, email, name), lead_id)
    return found


@dataclass(frozen=True)
class LeadAICost:
    """What the LLM calls tagged with a lead have cost so far.

    `total_cost_usd` sums the priced calls; it is None when every call was unpriced, since
    unknown is not zero. `unpriced_requests` says how many calls the total leaves out.
    """

    total_requests: int
    unpriced_requests: int
    total_cost_usd: Decimal | None
    agents_used: list[str] = field(default_factory=list)


async def lead_ai_cost(*, session: AsyncSession, lead_id: int) -> LeadAICost:
    totals = select(
        func.count(), func.count(AICostTracking.cost_usd), func.sum(AICostTracking.cost_usd)
    ).where(AICostTracking.lead_id == lead_id)
    requests, priced, total = (await session.execute(totals)).one()
    agents = select(AICostTracking.agent_type).where(AICostTracking.lead_id == lead_id).distinct()
    if priced:
        cost: Decimal | None = total
    else:
        cost = None if requests else Decimal(0)
    return LeadAICost(
        total_requests=requests,
        unpriced_requests=requests - priced,
        total_cost_usd=cost,
        agents_used=sorted(await session.scalars(agents)),
    )
