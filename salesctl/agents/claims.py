"""Claims on leads, so several workers (processes or machines) share one bulk run safely.

A claim is an `agent_runs` row in status `running` with a worker id, the host name and pid of
the process holding it, and a lease. A lead is taken by a bulk run only if no run of that
agent on it blocks it (`_blocks`): a live claim, a finished run (unless `--force`), or a run
this worker's run already tried. A claim whose lease has expired (its worker crashed) blocks
nothing, so another worker picks the lead up; a claim whose process no longer runs on this
host is closed at once (`take_over_dead_claims`), without waiting for its lease.

PostgreSQL: leads are locked with `SELECT … FOR UPDATE SKIP LOCKED` in a short transaction
that re-checks them under the lock and inserts the claims. SQLite has one writer at a time:
the claim is a single conditional `INSERT … SELECT … RETURNING`, which takes the write lock
before it reads. Query functions take `session` keyword-only and never commit.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from salesctl.agents.lead import LeadSnapshot
from salesctl.agents.selection import LeadSelection, lead_filter
from salesctl.db.base import UTCDateTime, utcnow
from salesctl.db.models.crm import Lead
from salesctl.db.models.runs import AgentRun

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql import Select

DEFAULT_LEASE_SECONDS = 300.0
LEASE_EXPIRED = "claim expired: its worker stopped renewing it (crashed or killed)"
WORKER_GONE = "claim taken over: its worker process {pid} on {host} no longer runs"


@cache
def this_host() -> str:
    """The host name claims record (cut to the column's width)."""
    return socket.gethostname()[:255]


def process_runs(pid: int) -> bool:
    """Whether a process with this id runs on this host (one we may not signal runs too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's hold on one lead: the `agent_runs` row it will finish, and the lead as it
    was when claimed (read in the claim's transaction, saving each run a query)."""

    run_id: int
    lead_id: int
    lead: LeadSnapshot | None = None


@dataclass(frozen=True, slots=True)
class BulkScope:
    """What makes a lead pending for one worker's bulk run."""

    agent: str
    selection: LeadSelection
    run_started_at: datetime
    force: bool = False


def _blocks(scope: BulkScope, now: datetime) -> ColumnElement[bool]:
    """A run of the agent that keeps its lead out of this bulk run."""
    done_before = true() if not scope.force else AgentRun.started_at >= scope.run_started_at
    return and_(
        AgentRun.agent == scope.agent,
        or_(
            and_(AgentRun.status == "running", AgentRun.lease_expires_at > now),
            and_(AgentRun.status == "ok", done_before),
            and_(AgentRun.status == "error", AgentRun.started_at >= scope.run_started_at),
        ),
    )


def _pending(scope: BulkScope, now: datetime) -> ColumnElement[bool]:
    blocked = exists(select(AgentRun.id).where(AgentRun.lead_id == Lead.id, _blocks(scope, now)))
    return and_(lead_filter(scope.selection), ~blocked)


async def count_pending(*, session: AsyncSession, scope: BulkScope) -> int:
    """How many leads the bulk run would still take now."""
    query = select(func.count()).select_from(Lead).where(_pending(scope, utcnow()))
    return int((await session.execute(query)).scalar_one())


async def pending_lead_ids(*, session: AsyncSession, scope: BulkScope, limit: int) -> list[int]:
    """The first `limit` pending leads, without claiming them (for estimates)."""
    query = select(Lead.id).where(_pending(scope, utcnow())).order_by(Lead.id).limit(limit)
    return list((await session.scalars(query)).all())


async def claim_pending(
    *,
    session: AsyncSession,
    scope: BulkScope,
    worker_id: str,
    limit: int,
    after_id: int = 0,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[Claim]:
    """Claim up to `limit` pending leads with ids above `after_id`, lowest ids first."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        claims = await _claim_locked(session, scope, worker_id, limit, after_id, now, expires)
    else:
        claims = await _claim_single_writer(
            session, scope, worker_id, limit, after_id, now, expires
        )
    await _expire_stale(session, scope.agent, [c.lead_id for c in claims], now)
    return sorted(await _with_leads(session, claims), key=lambda c: c.lead_id)


async def _claim_locked(
    session: AsyncSession,
    scope: BulkScope,
    worker_id: str,
    limit: int,
    after_id: int,
    now: datetime,
    expires: datetime,
) -> list[Claim]:
    locked = (
        select(Lead.id)
        .where(Lead.id > after_id, _pending(scope, now))
        .order_by(Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    lead_ids = list((await session.scalars(locked)).all())
    if not lead_ids:
        return []
    # Under READ COMMITTED the query above judged "pending" on the snapshot it started with,
    # so a claim committed after that but before our row lock was granted is invisible to
    # it. This statement starts after the locks are held and sees every such claim.
    taken = select(AgentRun.lead_id).where(AgentRun.lead_id.in_(lead_ids), _blocks(scope, now))
    already = set((await session.scalars(taken)).all())
    free = [lead_id for lead_id in lead_ids if lead_id not in already]
    if not free:
        return []
    rows = [_claim_row(scope.agent, lead_id, worker_id, now, expires) for lead_id in free]
    result = await session.execute(
        insert(AgentRun).returning(AgentRun.id, AgentRun.lead_id, sort_by_parameter_order=True),
        rows,
    )
    return [Claim(run_id=run_id, lead_id=cast(int, lead_id)) for run_id, lead_id in result.all()]


async def _claim_single_writer(
    session: AsyncSession,
    scope: BulkScope,
    worker_id: str,
    limit: int,
    after_id: int,
    now: datetime,
    expires: datetime,
) -> list[Claim]:
    pending = (
        select(*_claim_columns(scope.agent, worker_id, now, expires))
        .where(Lead.id > after_id, _pending(scope, now))
        .order_by(Lead.id)
        .limit(limit)
    )
    return await _insert_claims(session, pending)


async def claim_named(
    *,
    session: AsyncSession,
    agent: str,
    lead_ids: Sequence[int],
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[Claim]:
    """Claim leads named by id, done or not (ids of missing leads are left out)."""
    if not lead_ids:
        return []
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    existing = select(*_claim_columns(agent, worker_id, now, expires)).where(
        Lead.id.in_(list(lead_ids))
    )
    claims = await _with_leads(session, await _insert_claims(session, existing))
    order = {lead_id: index for index, lead_id in enumerate(lead_ids)}
    return sorted(claims, key=lambda c: order[c.lead_id])


_CLAIM_FIELDS = ["lead_id", "agent", "status", "worker_id", "lease_expires_at", "started_at"]
_CLAIM_FIELDS += ["llm_calls", "worker_host", "worker_pid"]


def _claim_columns(agent: str, worker_id: str, now: datetime, expires: datetime) -> list[Any]:
    return [
        Lead.id,
        literal(agent),
        literal("running"),
        literal(worker_id),
        literal(expires, UTCDateTime()),
        literal(now, UTCDateTime()),
        literal(0),
        literal(this_host()),
        literal(os.getpid()),
    ]


def _claim_row(
    agent: str, lead_id: int, worker_id: str, now: datetime, expires: datetime
) -> dict[str, object]:
    values = [lead_id, agent, "running", worker_id, expires, now, 0, this_host(), os.getpid()]
    return dict(zip(_CLAIM_FIELDS, values, strict=True))


async def _insert_claims(session: AsyncSession, rows: Select[*tuple[Any, ...]]) -> list[Claim]:
    statement = (
        insert(AgentRun).from_select(_CLAIM_FIELDS, rows).returning(AgentRun.id, AgentRun.lead_id)
    )
    result = await session.execute(statement)
    return [Claim(run_id=run_id, lead_id=cast(int, lead_id)) for run_id, lead_id in result.all()]


async def _with_leads(session: AsyncSession, found: list[Claim]) -> list[Claim]:
    if not found:
        return found
    query = select(Lead.__table__).where(Lead.id.in_([claim.lead_id for claim in found]))
    leads = {
        row.id: LeadSnapshot.from_row(dict(row._mapping)) for row in await session.execute(query)
    }
    return [Claim(claim.run_id, claim.lead_id, leads.get(claim.lead_id)) for claim in found]


async def _expire_stale(
    session: AsyncSession, agent: str, lead_ids: list[int], now: datetime
) -> None:
    """Close the expired claims of crashed workers on leads just claimed again."""
    if not lead_ids:
        return
    await session.execute(
        update(AgentRun)
        .where(
            AgentRun.agent == agent,
            AgentRun.lead_id.in_(lead_ids),
            AgentRun.status == "running",
            AgentRun.lease_expires_at <= now,
        )
        .values(status="error", error=LEASE_EXPIRED, finished_at=now, lease_expires_at=None)
    )


async def take_over_dead_claims(
    *,
    session: AsyncSession,
    agent: str,
    runs: Callable[[int], bool] = process_runs,
) -> int:
    """Close the live claims of `agent` whose process no longer runs on this host (killed,
    crashed, or stopped while the database was away), so their leads are free at once;
    returns how many. Claims of other hosts wait for their lease."""
    now = utcnow()
    held = select(AgentRun.id, AgentRun.worker_pid).where(
        AgentRun.agent == agent,
        AgentRun.status == "running",
        AgentRun.lease_expires_at > now,
        AgentRun.worker_host == this_host(),
        AgentRun.worker_pid.is_not(None),
        AgentRun.worker_pid != os.getpid(),
    )
    dead: dict[int, list[int]] = {}
    for run_id, pid in await session.execute(held):
        if pid is not None and not runs(pid):  # the query keeps only rows with a pid
            dead.setdefault(pid, []).append(run_id)
    for pid, run_ids in dead.items():
        await session.execute(
            update(AgentRun)
            .where(AgentRun.id.in_(run_ids), AgentRun.status == "running")
            .values(
                status="error",
                error=WORKER_GONE.format(pid=pid, host=this_host()),
                finished_at=now,
                lease_expires_at=None,
            )
        )
    return sum(map(len, dead.values()))


@dataclass(frozen=True, slots=True)
class HeldElsewhere:
    """Selected leads another live worker holds (this run left them to it)."""

    leads: int
    until: datetime | None
    """When the last of those claims' leases ends (unless renewed)."""


async def held_elsewhere(
    *, session: AsyncSession, scope: BulkScope, worker_id: str
) -> HeldElsewhere:
    """How many selected leads other workers hold claims on right now."""
    now = utcnow()
    query = (
        select(func.count(func.distinct(AgentRun.lead_id)), func.max(AgentRun.lease_expires_at))
        .join(Lead, Lead.id == AgentRun.lead_id)
        .where(
            lead_filter(scope.selection),
            AgentRun.agent == scope.agent,
            AgentRun.status == "running",
            AgentRun.lease_expires_at > now,
            AgentRun.worker_id != worker_id,
        )
    )
    count, until = (await session.execute(query)).one()
    return HeldElsewhere(int(count or 0), until if count else None)


async def renew_leases(
    *,
    session: AsyncSession,
    run_ids: Sequence[int],
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> int:
    """Extend this worker's live claims; returns how many it still holds."""
    if not run_ids:
        return 0
    result = await session.execute(
        update(AgentRun)
        .where(
            AgentRun.id.in_(list(run_ids)),
            AgentRun.worker_id == worker_id,
            AgentRun.status == "running",
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DML CursorResult


async def release_claims(*, session: AsyncSession, run_ids: Sequence[int], worker_id: str) -> None:
    """Give back claims on leads this worker never started (they were never run)."""
    if not run_ids:
        return
    await session.execute(
        delete(AgentRun).where(
            AgentRun.id.in_(list(run_ids)),
            AgentRun.worker_id == worker_id,
            AgentRun.status == "running",
        )
    )


async def abandon_claims(
    *, session: AsyncSession, run_ids: Sequence[int], worker_id: str, reason: str
) -> None:
    """Close claims on leads whose run was cut short (`reason` says by what)."""
    if not run_ids:
        return
    await session.execute(
        update(AgentRun)
        .where(
            AgentRun.id.in_(list(run_ids)),
            AgentRun.worker_id == worker_id,
            AgentRun.status == "running",
        )
        .values(status="error", error=reason, finished_at=utcnow(), lease_expires_at=None)
    )
