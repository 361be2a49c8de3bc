"""Reading a lead for an agent and recording the run's result or failure.

A result is saved on the lead and on its `agent_runs` row in one transaction, and only while
the worker still holds the claim, so a lead is never half-saved or saved by two workers.
Query functions take `session` keyword-only and never commit; `save_result` and
`record_failure` own their transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from salesctl.agents.lead import DealSnapshot, LeadSnapshot
from salesctl.agents.outcome import CallRecord, LeadFailure, run_cost
from salesctl.db.base import utcnow
from salesctl.db.models import AgentRun, Deal, Lead

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.context import AgentContext

OPEN_DEAL_STAGES = ("prospecting", "qualification", "proposal", "negotiation")


LeadValues = dict[str, Any]
ApplyResult = Callable[["AsyncSession", Mapping[str, Any]], Awaitable[LeadValues]]
"""Given the lead's current row, the column values to write on it (it may also write related
rows, such as the BDR agent's deal, through the session). Runs inside the save transaction."""


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
        if (await session.execute(close_run)).rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLost(f"run {context.run_id} is no longer held by this worker")
        lead = (await session.execute(current)).first()
    else:
        lead = (await session.execute(current.with_for_update())).first()
        if lead is not None and (await session.execute(close_run)).rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLost(f"run {context.run_id} is no longer held by this worker")
    if lead is None:
        raise LeadVanished(f"lead {context.lead_id} was deleted during the run")
    values = await apply(session, dict(lead._mapping))
    await session.execute(
        update(Lead).where(Lead.id == context.lead_id).values(**values, updated_at=utcnow())
    )


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
    """`finish_run` in its own transaction: all of it is saved, or none."""
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
