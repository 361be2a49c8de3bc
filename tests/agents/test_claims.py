"""Claims on leads, straight against the database: racing claimers never share a lead."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from salesctl.agents import claims
from salesctl.agents.claims import BulkScope
from salesctl.agents.selection import LeadSelection, parse_condition
from salesctl.db.base import utcnow
from salesctl.db.models import AgentRun, Lead
from salesctl.db.session import create_engine, session_factory


async def _add_leads(engine: Any, count: int, **values: Any) -> list[int]:
    async with session_factory(engine)() as session, session.begin():
        leads = [Lead(company_name=f"Lead {i}", **values) for i in range(count)]
        session.add_all(leads)
        await session.flush()
        return [lead.id for lead in leads]


def _scope(**kwargs: Any) -> BulkScope:
    selection = kwargs.pop("selection", LeadSelection(everything=True))
    return BulkScope(agent="qualification", selection=selection, run_started_at=utcnow(), **kwargs)


async def test_racing_workers_claim_every_lead_exactly_once(engine: Any, db_env: str) -> None:
    # Ten workers claiming one lead at a time race often enough that PostgreSQL claims a
    # lead twice without the re-check under the row locks (tried: it fails every time).
    ids = await _add_leads(engine, 240)
    scope = _scope()

    async def worker(name: str) -> list[int]:
        own_engine = create_engine(db_env)
        sessions = session_factory(own_engine)
        taken: list[int] = []
        try:
            while True:
                async with sessions() as session, session.begin():
                    found = await claims.claim_pending(
                        session=session, scope=scope, worker_id=name, limit=1
                    )
                if not found:
                    return taken
                taken.extend(claim.lead_id for claim in found)
                await asyncio.sleep(0)
        finally:
            await own_engine.dispose()

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(10)))

    claimed = [lead_id for taken in results for lead_id in taken]
    assert sorted(claimed) == ids
    assert sum(1 for taken in results if taken) >= 2


async def test_pending_leads_follow_the_selection_and_past_runs(engine: Any) -> None:
    retail = await _add_leads(engine, 2, industry="Retail")
    software = await _add_leads(engine, 3, industry="Software")
    before = utcnow() - timedelta(hours=1)
    async with session_factory(engine)() as session, session.begin():
        session.add(AgentRun(agent="qualification", lead_id=software[0], status="ok"))
        session.add(AgentRun(agent="enrichment", lead_id=software[1], status="ok"))
        session.add(
            AgentRun(agent="qualification", lead_id=software[2], status="error", started_at=before)
        )
    sessions = session_factory(engine)

    async def pending(**kwargs: Any) -> int:
        async with sessions() as session:
            return await claims.count_pending(session=session, scope=_scope(**kwargs))

    where_software = LeadSelection(conditions=(parse_condition("industry=software"),))
    assert await pending() == len(retail) + 2  # done by this agent: skipped; failed: retried
    assert await pending(selection=where_software) == 2
    assert await pending(force=True) == len(retail) + 3


async def test_claims_are_renewed_released_and_expire(engine: Any) -> None:
    (first, second) = await _add_leads(engine, 2)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        found = await claims.claim_pending(
            session=session, scope=_scope(), worker_id="me", limit=2, lease_seconds=60
        )
    assert [c.lead_id for c in found] == [first, second]

    async with sessions() as session, session.begin():
        held = await claims.renew_leases(
            session=session, run_ids=[found[0].run_id], worker_id="me", lease_seconds=600
        )
        stolen = await claims.renew_leases(
            session=session, run_ids=[found[1].run_id], worker_id="someone else"
        )
        await claims.release_claims(session=session, run_ids=[found[1].run_id], worker_id="me")
    assert (held, stolen) == (1, 0)

    async with sessions() as session:
        runs = (await session.scalars(select(AgentRun))).all()
        assert [(r.lead_id, r.status) for r in runs] == [(first, "running")]
        assert runs[0].lease_expires_at is not None
        assert runs[0].lease_expires_at > utcnow() + timedelta(seconds=500)
        assert await claims.count_pending(session=session, scope=_scope()) == 1


async def test_claims_of_a_process_gone_from_this_host_are_taken_over_at_once(
    engine: Any,
) -> None:
    import os
    import subprocess
    import sys

    gone = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os; print(os.getpid())", stdout=subprocess.PIPE
    )
    out, _ = await gone.communicate()
    dead_pid = int(out)  # it has exited: no process with this id runs now
    ids = await _add_leads(engine, 4)
    holders = [
        (claims.this_host(), dead_pid),  # killed here: taken over
        (claims.this_host(), os.getpid()),  # ours
        ("elsewhere", dead_pid),  # another machine: only after its lease
        (claims.this_host(), None),  # an old claim without a pid: after its lease
    ]
    async with session_factory(engine)() as session, session.begin():
        taken = await claims.claim_named(
            session=session, agent="qualification", lead_ids=ids, worker_id="old"
        )
        for claim, (host, pid) in zip(taken, holders, strict=True):
            await session.execute(
                AgentRun.__table__.update()
                .where(AgentRun.id == claim.run_id)
                .values(worker_host=host, worker_pid=pid)
            )
    assert [c.lead_id for c in taken] == ids

    async with session_factory(engine)() as session, session.begin():
        freed = await claims.take_over_dead_claims(session=session, agent="qualification")
        pending = await claims.pending_lead_ids(session=session, scope=_scope(), limit=10)
        held = await claims.held_elsewhere(session=session, scope=_scope(), worker_id="new")
    assert freed == 1
    assert pending == [ids[0]]
    assert held.leads == 3
    assert held.until is not None
    assert held.until > utcnow()
    async with session_factory(engine)() as session:
        run = (await session.scalars(select(AgentRun).where(AgentRun.lead_id == ids[0]))).one()
    assert run.status == "error"
    assert run.error == f"claim taken over: its worker process {dead_pid} on " + (
        f"{claims.this_host()} no longer runs"
    )
