"""Reading a lead for an agent and recording the run's result or failure.

A result is saved on the lead and on its `agent_runs` row in one transaction, and only while
the worker still holds the claim, so a lead is never half-saved or saved by two workers.
Bulk runs save many leads' results per transaction (`finish_runs`, through `ResultWriter`).
Query functions take `session` keyword-only and never commit; `save_result` and
`record_failure` own their transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from salesctl.agents.context import AgentContext, ApplyResult, FinishedRun
from salesctl.agents.lead import DealSnapshot, LeadSnapshot
from salesctl.agents.outcome import CallRecord, LeadFailure, run_cost
from salesctl.db.base import utcnow
from salesctl.db.models.crm import Deal, Lead
from salesctl.db.models.runs import AgentRun
from salesctl.vocabulary import OPEN_DEAL_STAGES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only. Command sessions begin IMMEDIATE on SQLite (taking the write
    lock); a reader asks for a deferred transaction so it never waits for, or blocks, writers."""
    async with sessions() as session:
        await session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        yield session


class ClaimLost(Exception):
    """The worker's claim on the lead expired and another worker took the lead over."""


class LeadVanished(Exception):
    """The lead was deleted while the agent worked on it."""


async def load_lead(*, session: AsyncSession, lead_id: int) -> LeadSnapshot | None:
    row = (await session.execute(select(Lead.__table__).where(Lead.id == lead_id))).first()
    return LeadSnapshot.from_row(dict(row._mapping)) if row is not None else None


async def load_open_deal(*, session: AsyncSession, lead_id: int) -> DealSnapshot | None:
    """The lead's most recently created deal that is not closed."""
    query = (
        select(Deal)
        .where(Deal.lead_id == lead_id, Deal.stage.in_(OPEN_DEAL_STAGES))
        .order_by(Deal.created_at.desc(), Deal.id.desc())
        .limit(1)
    )
    deal = (await session.scalars(query)).first()
    return DealSnapshot.of(deal) if deal is not None else None


def _run_figures(calls: list[CallRecord], context: AgentContext) -> dict[str, Any]:
    last = calls[-1] if calls else None
    return {
        "provider": last.provider if last else context.choice.provider,
        "model": last.model if last else context.choice.model,
        "llm_calls": len(calls),
        "cost_usd": run_cost(calls),
        "finished_at": utcnow(),
        "lease_expires_at": None,
    }


def _own_run(context: AgentContext) -> Any:
    return update(AgentRun).where(
        AgentRun.id == context.run_id,
        AgentRun.worker_id == context.worker_id,
        AgentRun.status == "running",
    )


async def finish_run(
    *,
    session: AsyncSession,
    context: AgentContext,
    calls: list[CallRecord],
    output: dict[str, Any],
    apply: ApplyResult,
) -> None:
    """Mark the run ok with its output and cost, and let `apply` write the result on the lead.

    The order of locks matters. SQLite must write first so its transaction takes the write
    lock before reading (a read-then-write transaction fails if another writer got in between);
    PostgreSQL locks the lead row first, the same order as claims, so the two never deadlock.
    """
    close_run = _own_run(context).values(status="ok", output=output, **_run_figures(calls, context))
    current = select(Lead.__table__).where(Lead.id == context.lead_id)
    if session.get_bind().dialect.name == "sqlite":
        if (await session.execute(close_run)).rowcount != 1:  # type: ignore[attr-defined]  # a DML CursorResult
            raise ClaimLost(f"run {context.run_id} is no longer held by this worker")
        lead = (await session.execute(current)).first()
    else:
        lead = (await session.execute(current.with_for_update())).first()
        if lead is not None and (await session.execute(close_run)).rowcount != 1:  # type: ignore[attr-defined]  # a DML CursorResult
            raise ClaimLost(f"run {context.run_id} is no longer held by this worker")
    if lead is None:
        raise LeadVanished(f"lead {context.lead_id} was deleted during the run")
    values = await apply(session, dict(lead._mapping))
    await session.execute(
        update(Lead).where(Lead.id == context.lead_id).values(**values, updated_at=utcnow())
    )


async def finish_runs(
    *, session: AsyncSession, runs: Sequence[FinishedRun]
) -> dict[int, ClaimLost | LeadVanished]:
    """`finish_run` for the runs of several leads at once: two reads and one statement per
    table for all of them, rather than three statements each. Returns, by run id, the runs
    it did not save (claim lost or lead deleted); nothing of those is written.

    Every read comes before the first write, so on SQLite the transaction must hold the write
    lock from its start (BEGIN IMMEDIATE). PostgreSQL locks the lead rows first, in id order,
    then the runs: the same order as claims and `finish_run`, so they never deadlock.
    """
    leads, agent_runs = Lead.__table__, AgentRun.__table__
    lead_ids = sorted({run.context.lead_id for run in runs})
    locked_leads = (
        select(leads).where(leads.c.id.in_(lead_ids)).order_by(leads.c.id).with_for_update()
    )
    current = {row.id: row for row in await session.execute(locked_leads)}
    run_ids = sorted(run.context.run_id for run in runs)
    holders = (
        select(agent_runs.c.id, agent_runs.c.worker_id)
        .where(agent_runs.c.id.in_(run_ids), agent_runs.c.status == "running")
        .order_by(agent_runs.c.id)
        .with_for_update()
    )
    held_by: dict[int, str | None] = {
        run_id: worker_id for run_id, worker_id in await session.execute(holders)
    }

    unsaved: dict[int, ClaimLost | LeadVanished] = {}
    closed_runs: list[dict[str, Any]] = []
    lead_values: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for run in runs:
        context = run.context
        lead = current.get(context.lead_id)
        if lead is None:
            unsaved[context.run_id] = LeadVanished(
                f"lead {context.lead_id} was deleted during the run"
            )
            continue
        if held_by.get(context.run_id) != context.worker_id:
            unsaved[context.run_id] = ClaimLost(
                f"run {context.run_id} is no longer held by this worker"
            )
            continue
        figures = _run_figures(run.calls, context)
        closed_runs.append({"run": context.run_id, "status": "ok", "output": run.output, **figures})
        values = {**await run.apply(session, dict(lead._mapping)), "updated_at": utcnow()}
        lead_values.setdefault(tuple(sorted(values)), []).append(
            {"lead": context.lead_id, **values}
        )
    if closed_runs:
        await session.execute(
            update(agent_runs).where(agent_runs.c.id == bindparam("run")), closed_runs
        )
    for rows in lead_values.values():
        await session.execute(update(leads).where(leads.c.id == bindparam("lead")), rows)
    return unsaved


async def fail_run(
    *,
    session: AsyncSession,
    context: AgentContext,
    calls: list[CallRecord],
    failure: LeadFailure,
) -> None:
    """Mark the run failed with its reason and the cost of the calls it made; the lead is
    left as it was."""
    await session.execute(
        _own_run(context).values(
            status="error", error=failure.message, **_run_figures(calls, context)
        )
    )


async def save_result(
    context: AgentContext,
    calls: list[CallRecord],
    output: dict[str, Any],
    apply: ApplyResult,
) -> None:
    """`finish_run` in its own transaction, or in the run's writer's next batch: either way
    all of it is saved, or none."""
    if context.writer is not None:
        await context.writer.save(FinishedRun(context, calls, output, apply))
        return
    async with context.sessions() as session, session.begin():
        await finish_run(session=session, context=context, calls=calls, output=output, apply=apply)


async def record_failure(
    context: AgentContext, calls: list[CallRecord], failure: LeadFailure
) -> None:
    async with context.sessions() as session, session.begin():
        await fail_run(session=session, context=context, calls=calls, failure=failure)


def merged_insights(lead: Mapping[str, Any], agent: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The lead's insights with this agent's entry replaced."""
    return {**(lead["insights"] or {}), agent: payload}
