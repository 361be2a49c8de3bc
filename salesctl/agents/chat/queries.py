"""The chat tools' reads and writes over leads and deals (keyword-only session, no commit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.models import Deal, Lead


async def claim_for_write(
    *, session: AsyncSession, model: type[Lead] | type[Deal], record_id: int, now: datetime
) -> bool:
    """Start a write transaction by touching the row's `updated_at`; False if it is gone.

    Writing first takes SQLite's write lock before anything is read (a deferred transaction
    that reads, then writes, fails at once with "database is locked" when another connection
    committed in between), and on PostgreSQL it row-locks the record like SELECT … FOR UPDATE.
    """
    result = await session.execute(
        update(model).where(model.id == record_id).values(updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML CursorResult


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_leads(
    *, session: AsyncSession, query: str, status: str | None = None, limit: int = 10
) -> Sequence[Lead]:
    """Leads whose company, contact, email, industry or region contains `query` (any case)."""
    pattern = _like(query.strip())
    columns = (
        Lead.company_name,
        Lead.contact_name,
        Lead.contact_email,
        Lead.industry,
        Lead.region,
    )
    stmt = select(Lead).where(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    if status:
        stmt = stmt.where(Lead.status == status)
    stmt = stmt.order_by(Lead.qualification_score.desc().nulls_last(), Lead.id).limit(limit)
    return (await session.scalars(stmt)).all()


async def find_lead_by_company(*, session: AsyncSession, company: str) -> Lead | None:
    """The lead whose company name is `company` (any case), else the best partial match."""
    exact = select(Lead).where(func.lower(Lead.company_name) == company.strip().lower()).limit(1)
    lead = (await session.scalars(exact)).first()
    if lead is not None:
        return lead
    partial = (
        select(Lead)
        .where(Lead.company_name.ilike(_like(company.strip()), escape="\\"))
        .order_by(Lead.qualification_score.desc().nulls_last(), Lead.id)
        .limit(1)
    )
    return (await session.scalars(partial)).first()


@dataclass(frozen=True, slots=True)
class DealRow:
    deal: Deal
    company_name: str


def _deals_with_company() -> Select[Deal, str]:
    return select(Deal, Lead.company_name).join(Lead, Lead.id == Deal.lead_id)


async def list_deals(
    *, session: AsyncSession, stages: Sequence[str] | None = None, limit: int = 20
) -> list[DealRow]:
    """Deals (optionally in `stages`), largest amount first."""
    stmt = _deals_with_company()
    if stages:
        stmt = stmt.where(Deal.stage.in_(stages))
    stmt = stmt.order_by(Deal.amount.desc().nulls_last(), Deal.id).limit(limit)
    return [DealRow(deal, company) for deal, company in (await session.execute(stmt)).all()]


async def get_deal(*, session: AsyncSession, deal_id: int) -> DealRow | None:
    row = (await session.execute(_deals_with_company().where(Deal.id == deal_id))).first()
    return DealRow(row[0], row[1]) if row else None


@dataclass(frozen=True, slots=True)
class StageTotal:
    stage: str
    deals: int
    amount: Decimal


async def stage_totals(*, session: AsyncSession) -> list[StageTotal]:
    """Deal count and summed amount per stage (amounts without a value count as zero)."""
    stmt = select(Deal.stage, func.count(), func.sum(Deal.amount)).group_by(Deal.stage)
    rows = (await session.execute(stmt)).all()
    return [StageTotal(stage, count, total or Decimal(0)) for stage, count, total in rows]


async def won_accounts(*, session: AsyncSession, limit: int = 20) -> list[tuple[Lead, list[Deal]]]:
    """Leads with at least one closed-won deal, with those deals, most recently won first."""
    stmt = (
        select(Deal, Lead)
        .join(Lead, Lead.id == Deal.lead_id)
        .where(Deal.stage == "closed_won")
        .order_by(Deal.stage_changed_at.desc(), Deal.id)
    )
    accounts: dict[int, tuple[Lead, list[Deal]]] = {}
    for deal, lead in (await session.execute(stmt)).all():
        accounts.setdefault(lead.id, (lead, []))[1].append(deal)
    return list(accounts.values())[:limit]


async def append_lead_note(
    *, session: AsyncSession, lead: Lead, note: str, author: str, now: datetime
) -> str:
    """Append a dated, attributed line to the lead's notes; returns the line written."""
    line = f"[{now:%Y-%m-%d %H:%M} UTC, {author}] {note.strip()}"
    lead.notes = f"{lead.notes.rstrip()}\n{line}" if lead.notes else line
    lead.updated_at = now
    await session.flush()
    return line


async def set_lead_insight(
    *, session: AsyncSession, lead: Lead, key: str, value: object, now: datetime
) -> None:
    """Store `value` under `key` in the lead's insights (a new dict, so the ORM sees it)."""
    lead.insights = {**(lead.insights or {}), key: value}
    lead.updated_at = now
    await session.flush()
