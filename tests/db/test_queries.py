"""Lead and deal query functions against real SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.models import AgentRun, AICostTracking, Deal, Lead
from salesctl.db.queries import deals as deal_queries
from salesctl.db.queries import leads as lead_queries
from salesctl.errors import NotFound


def cost_row(lead_id: int | None, cost: Decimal | None, agent: str = "qualification") -> dict:
    return {
        "request_id": uuid.uuid4().hex,
        "agent_type": agent,
        "lead_id": lead_id,
        "provider": "cerebras",
        "model": "llama3.1-8b",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cost_usd": cost,
        "unpriced": cost is None,
    }


async def add_leads(session: AsyncSession, *rows: dict) -> list[int]:
    async with session.begin():
        return await lead_queries.insert_leads(session=session, rows=list(rows))


async def test_bulk_insert_returns_ids_in_order(session: AsyncSession) -> None:
    ids = await add_leads(session, *({"company_name": f"Company {n}"} for n in range(30)))
    assert len(ids) == 30
    stored = dict((await session.execute(select(Lead.id, Lead.company_name))).all())
    assert [stored[i] for i in ids] == [f"Company {n}" for n in range(30)]
    lead = await lead_queries.get_lead(session=session, lead_id=ids[0])
    assert lead.status == "new"
    assert lead.created_at.tzinfo is not None


async def test_list_filters_and_sorts(session: AsyncSession) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    ids = await add_leads(
        session,
        {
            "company_name": "beta",
            "qualification_score": 80,
            "qualification_tier": "hot",
            "status": "qualified",
            "created_at": base,
        },
        {"company_name": "Alpha", "qualification_score": None, "created_at": base + timedelta(1)},
        {
            "company_name": "gamma",
            "qualification_score": 50,
            "qualification_tier": "warm",
            "status": "qualified",
            "created_at": base + timedelta(2),
        },
        {
            "company_name": "Delta",
            "qualification_score": 92,
            "qualification_tier": "hot",
            "created_at": base + timedelta(3),
        },
    )
    beta, alpha, gamma, delta = ids

    async def ids_of(**filters: object) -> list[int]:
        leads = await lead_queries.list_leads(session=session, **filters)  # type: ignore[arg-type]
        return [lead.id for lead in leads]

    assert await ids_of() == [delta, beta, gamma, alpha]  # best score first, unscored last
    assert await ids_of(sort="company") == [alpha, beta, delta, gamma]  # case-insensitive
    assert await ids_of(sort="created") == [delta, gamma, alpha, beta]  # newest first
    assert await ids_of(tier="hot") == [delta, beta]
    assert await ids_of(status="qualified") == [beta, gamma]
    assert await ids_of(min_score=80) == [delta, beta]
    assert await ids_of(min_score=50, status="qualified", limit=1) == [beta]


async def test_unknown_lead_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound, match="no lead with id 404"):
        await lead_queries.get_lead(session=session, lead_id=404)
    await session.rollback()
    with pytest.raises(NotFound):
        async with session.begin():
            await lead_queries.delete_lead(session=session, lead_id=404)


async def test_delete_takes_deals_and_runs_but_keeps_cost_rows(session: AsyncSession) -> None:
    keep, gone = await add_leads(session, {"company_name": "Keep"}, {"company_name": "Gone"})
    async with session.begin():
        await deal_queries.insert_deal(session=session, values={"lead_id": gone, "name": "d1"})
        await deal_queries.insert_deal(session=session, values={"lead_id": keep, "name": "d2"})
        session.add(AgentRun(agent="qualification", lead_id=gone, status="ok"))
        session.add_all(
            [
                AICostTracking(**cost_row(gone, Decimal("0.25"))),
                AICostTracking(**cost_row(keep, None)),
            ]
        )
    async with session.begin():
        await lead_queries.delete_lead(session=session, lead_id=gone)
    session.expunge_all()

    assert await session.get(Lead, gone) is None
    assert (await session.scalars(select(Deal.name))).all() == ["d2"]
    assert (await session.execute(select(func.count()).select_from(AgentRun))).scalar() == 0
    costs = (await session.execute(select(AICostTracking.lead_id, AICostTracking.cost_usd))).all()
    assert sorted(costs, key=str) == sorted([(None, Decimal("0.25")), (keep, None)], key=str)


async def test_lead_ai_cost_is_exact_and_honest_about_unpriced_calls(
    session: AsyncSession,
) -> None:
    lead, other, idle, unpriced = await add_leads(
        session, *({"company_name": name} for name in ("Lead", "Other", "Idle", "Unpriced"))
    )
    async with session.begin():
        session.add_all(
            AICostTracking(**row)
            for row in (
                cost_row(lead, Decimal("0.000000075")),
                cost_row(lead, Decimal("123.4567890123"), agent="enrichment"),  # > DECIMAL(10,8)
                cost_row(lead, Decimal("0.1"), agent="enrichment"),
                cost_row(lead, None, agent="growth"),
                cost_row(other, Decimal("9")),
                cost_row(unpriced, None),
            )
        )

    cost = await lead_queries.lead_ai_cost(session=session, lead_id=lead)
    assert cost.total_cost_usd == Decimal("123.5567890873")
    assert isinstance(cost.total_cost_usd, Decimal)
    assert (cost.total_requests, cost.unpriced_requests) == (4, 1)
    assert cost.agents_used == ["enrichment", "growth", "qualification"]

    nothing = await lead_queries.lead_ai_cost(session=session, lead_id=idle)
    assert (nothing.total_cost_usd, nothing.total_requests) == (Decimal(0), 0)
    unknown = await lead_queries.lead_ai_cost(session=session, lead_id=unpriced)
    assert (unknown.total_cost_usd, unknown.unpriced_requests) == (None, 1)


async def test_existing_identities_ignore_case(session: AsyncSession) -> None:
    first, second = await add_leads(
        session,
        {"company_name": "Acme Corp", "contact_email": "Dana@Acme.example"},
        {"company_name": "acme corp", "contact_name": "Lee Park"},
    )
    found = await lead_queries.existing_identities(
        session=session, company_names=["ACME CORP", "Nobody Inc"]
    )
    assert found[lead_queries.lead_identity("Acme Corp", "dana@acme.example", None)] == first
    assert found[lead_queries.lead_identity("ACME corp", None, "lee  park")] == second
    assert len(found) == 2


async def test_deals_list_in_pipeline_order_and_move_stamps_the_change(
    session: AsyncSession,
) -> None:
    (lead,) = await add_leads(session, {"company_name": "Acme"})
    async with session.begin():
        made = [
            await deal_queries.insert_deal(session=session, values=values)
            for values in (
                {
                    "lead_id": lead,
                    "name": "late",
                    "stage": "proposal",
                    "close_date": date(2025, 9, 1),
                },
                {"lead_id": lead, "name": "new", "amount": Decimal("1200.50")},
                {
                    "lead_id": lead,
                    "name": "soon",
                    "stage": "proposal",
                    "close_date": date(2025, 2, 1),
                },
            )
        ]
    rows = await deal_queries.list_deals(session=session)
    assert [(deal.name, company) for deal, company in rows] == [
        ("new", "Acme"),
        ("soon", "Acme"),
        ("late", "Acme"),
    ]
    assert rows[0][0].amount == Decimal("1200.50")
    in_proposal = await deal_queries.list_deals(session=session, stage="proposal")
    assert [deal.name for deal, _ in in_proposal] == ["soon", "late"]

    deal_id, before = made[1].id, made[1].stage_changed_at
    await session.rollback()  # end the read transaction; the move is its own
    async with session.begin():
        deal, previous = await deal_queries.move_deal(
            session=session, deal_id=deal_id, stage="negotiation"
        )
    assert previous == "prospecting"
    assert deal.stage_changed_at > before
    session.expunge_all()
    stored = await deal_queries.get_deal(session=session, deal_id=deal_id)
    assert stored.stage == "negotiation"
    assert stored.stage_changed_at == deal.stage_changed_at

    with pytest.raises(NotFound, match="no deal with id 999"):
        await deal_queries.get_deal(session=session, deal_id=999)
