"""Bulk runs save results in batches: each lead still gets its own outcome, and a lead that
cannot be saved leaves nothing written while the others in its batch are saved."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from sqlalchemy import delete, select, update

from salesctl.agents import claims, store
from salesctl.agents.claims import BulkScope, Claim
from salesctl.agents.context import AgentContext, ModelChoice
from salesctl.agents.outcome import CallRecord
from salesctl.agents.selection import LeadSelection
from salesctl.agents.store import FinishedRun, merged_insights
from salesctl.agents.writer import ResultWriter
from salesctl.config import get_settings
from salesctl.db.base import utcnow
from salesctl.db.models import AgentRun, Lead
from salesctl.db.session import session_factory


async def _claim_three(sessions: Any) -> list[Claim]:
    async with sessions() as session, session.begin():
        session.add_all([Lead(company_name=f"Lead {i}") for i in range(3)])
    scope = BulkScope(
        agent="qualification", selection=LeadSelection(everything=True), run_started_at=utcnow()
    )
    async with sessions() as session, session.begin():
        return await claims.claim_pending(session=session, scope=scope, worker_id="me", limit=3)


def _finished(claim: Claim, sessions: Any) -> FinishedRun:
    context = AgentContext(
        agent_type="qualification",
        lead_id=claim.lead_id,
        run_id=claim.run_id,
        worker_id="me",
        gateway=cast(Any, None),  # saving makes no LLM calls
        sessions=sessions,
        settings=get_settings(),
        choice=ModelChoice(provider="cerebras", model="llama3.1-8b"),
    )
    call = CallRecord("cerebras", "llama3.1-8b", None, 10, 5, 300, False, f"t{claim.run_id}")

    async def apply(session: Any, lead: Any) -> dict[str, Any]:
        return {
            "qualification_score": 70,
            "insights": merged_insights(lead, "qualification", {"lead": lead["id"]}),
        }

    return FinishedRun(context, [call], {"score": 70}, apply)


async def test_a_batch_saves_each_lead_it_can_and_no_part_of_the_others(
    engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(engine, immediate=True)
    saved, taken_over, deleted = await _claim_three(sessions)
    async with sessions() as session, session.begin():
        await session.execute(
            update(AgentRun)
            .where(AgentRun.id == taken_over.run_id)
            .values(worker_id="someone else")
        )
        await session.execute(delete(Lead).where(Lead.id == deleted.lead_id))

    writer = ResultWriter(sessions)
    # Queued in the same turn of the event loop, the three land in one batch.
    results = await asyncio.gather(
        *(writer.save(_finished(claim, sessions)) for claim in (saved, taken_over, deleted)),
        return_exceptions=True,
    )
    await writer.aclose()

    assert not caplog.records  # written as one batch, not one by one after a failure
    assert results[0] is None
    assert isinstance(results[1], store.ClaimLost)
    assert isinstance(results[2], store.LeadVanished)
    async with sessions() as session:
        runs = {run.id: run for run in (await session.scalars(select(AgentRun))).all()}
        leads = {lead.id: lead for lead in (await session.scalars(select(Lead))).all()}
    assert runs[saved.run_id].status == "ok"
    assert runs[saved.run_id].output == {"score": 70}
    assert runs[saved.run_id].llm_calls == 1
    assert runs[saved.run_id].lease_expires_at is None
    assert leads[saved.lead_id].qualification_score == 70
    assert leads[saved.lead_id].insights == {"qualification": {"lead": saved.lead_id}}
    assert runs[taken_over.run_id].status == "running"
    assert leads[taken_over.lead_id].qualification_score is None
    assert deleted.lead_id not in leads


async def test_a_second_result_for_a_lead_waits_for_the_next_batch(engine: Any) -> None:
    sessions = session_factory(engine, immediate=True)
    first, _, _ = await _claim_three(sessions)
    async with sessions() as session, session.begin():
        again = await claims.claim_named(
            session=session, agent="qualification", lead_ids=[first.lead_id], worker_id="me"
        )

    writer = ResultWriter(sessions)
    await asyncio.gather(
        writer.save(_finished(first, sessions)), writer.save(_finished(again[0], sessions))
    )
    await writer.aclose()

    async with sessions() as session:
        statuses = (await session.scalars(select(AgentRun.status).order_by(AgentRun.id))).all()
        lead = await session.get(Lead, first.lead_id)
    assert statuses.count("ok") == 2
    assert lead is not None
    assert lead.insights == {"qualification": {"lead": first.lead_id}}
