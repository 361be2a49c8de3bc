"""`run_agent`: one agent over many leads, concurrently, resumably, shared between workers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from salesctl.agents import claims
from salesctl.agents.bulk.events import LeadFinished, RunEvent, RunStarted, Stopping
from salesctl.agents.bulk.feed import BulkFeed, Feed, NamedFeed
from salesctl.agents.bulk.options import RunOptions
from salesctl.agents.bulk.stop import StopSignal
from salesctl.agents.bulk.summary import RunSummary
from salesctl.agents.claims import BulkScope, Claim
from salesctl.agents.outcome import AgentOutcome, LeadFailure, lead_failure
from salesctl.agents.selection import LeadSelection
from salesctl.agents.store import reading
from salesctl.agents.writer import ResultWriter
from salesctl.db.base import utcnow
from salesctl.db.session import describe_db_error, unreachable_reason
from salesctl.errors import DatabaseError, NotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.base import LeadAgent
    from salesctl.config import Settings

log = logging.getLogger("salesctl.agents.runner")

ABORTED = "aborted: the run was cancelled ({cause}) before this lead finished"


async def _missing_leads(
    sessions: async_sessionmaker[AsyncSession], lead_ids: tuple[int, ...]
) -> list[int]:
    from sqlalchemy import select

    from salesctl.db.models.crm import Lead

    found: set[int] = set()
    async with reading(sessions) as session:
        for start in range(0, len(lead_ids), 1000):
            chunk = list(lead_ids[start : start + 1000])
            found.update((await session.scalars(select(Lead.id).where(Lead.id.in_(chunk)))).all())
    return [lead_id for lead_id in lead_ids if lead_id not in found]


def bulk_scope(agent: str, selection: LeadSelection, *, force: bool) -> BulkScope:
    return BulkScope(agent=agent, selection=selection, run_started_at=utcnow(), force=force)


async def count_pending(sessions: async_sessionmaker[AsyncSession], scope: BulkScope) -> int:
    async with reading(sessions) as session:
        return await claims.count_pending(session=session, scope=scope)


# --- the run ---------------------------------------------------------------------------------


async def run_agent(
    agent: LeadAgent,
    selection: LeadSelection,
    *,
    options: RunOptions | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    stop: StopSignal | None = None,
) -> RunSummary:
    """Run `agent` over the selected leads and return the summary.

    Named leads that do not exist raise NotFound before anything is spent. Tracking rows are
    flushed to the database (or, without one, to the spool) before this returns.
    """
    options = options or RunOptions()
    stop = stop or StopSignal()
    emit = on_event or (lambda _event: None)
    start = await _start(agent, selection, options)
    summary = RunSummary(
        agent=agent.agent_type,
        provider=agent.choice.provider,
        model=agent.choice.model,
        selection=selection.describe(),
        worker_id=agent.worker_id,
        total=start.total,
        taken_over=start.taken_over,
    )
    emit(
        RunStarted(
            agent=summary.agent,
            provider=summary.provider,
            model=summary.model,
            selection=summary.selection,
            total=start.total,
            worker_id=agent.worker_id,
        )
    )
    run = _BulkRun(agent, start.feed, options, stop, emit, summary)
    clock = time.perf_counter()
    await run.work()
    await run.account_for_the_rest(start.scope)
    order = {lead_id: index for index, lead_id in enumerate(selection.lead_ids)}
    summary.outcomes.sort(key=lambda o: (order.get(o.lead_id, o.lead_id), o.lead_id))
    summary.elapsed_s = time.perf_counter() - clock
    if run.outage.since:
        stop.message = await run.outage.summary(agent.settings)
    summary.stopped_by = stop.reason
    summary.stop_message = stop.message
    summary.aborted = stop.aborted
    return summary


@dataclass(frozen=True, slots=True)
class _Start:
    """What a run knows before its first lead: the feed, and what the summary starts from."""

    feed: Feed
    scope: BulkScope | None
    """The bulk selection's scope; None for named leads."""
    total: int
    taken_over: int


async def _start(agent: LeadAgent, selection: LeadSelection, options: RunOptions) -> _Start:
    """Take over dead claims, check named leads exist, count what is pending, pick the feed."""
    sessions = agent.sessions
    try:
        taken_over = await _take_over_dead_claims(sessions, agent.agent_type)
        if selection.explicit:
            missing = await _missing_leads(sessions, selection.lead_ids)
            if missing:
                shown = ", ".join(str(i) for i in missing[:10])
                shown += " …" if len(missing) > 10 else ""
                raise NotFound(f"no lead with id {shown}: see `salesctl leads list`")
            feed: Feed = NamedFeed(
                sessions, agent.worker_id, agent.agent_type, selection.lead_ids, options
            )
            return _Start(feed, None, len(selection.lead_ids), taken_over)
        scope = bulk_scope(agent.agent_type, selection, force=options.force)
        total = await count_pending(sessions, scope)
        return _Start(BulkFeed(sessions, agent.worker_id, scope, options), scope, total, taken_over)
    except Exception as exc:  # gone between the command's own check and here: nothing ran
        reason = unreachable_reason(exc)
        if reason is None or isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"database unreachable: {reason}") from exc


class _BulkRun:
    """One run under way: its workers, the leads in flight, and what they left behind."""

    def __init__(
        self,
        agent: LeadAgent,
        feed: Feed,
        options: RunOptions,
        stop: StopSignal,
        emit: Callable[[RunEvent], None],
        summary: RunSummary,
    ) -> None:
        self.agent = agent
        self.feed = feed
        self.options = options
        self.stop = stop
        self.emit = emit
        self.summary = summary
        self.running: dict[int, Claim] = {}
        self.cut_short: dict[int, str] = {}
        self.writer = ResultWriter(agent.sessions)
        self.outage = _Outage(stop)
        self.leads: set[asyncio.Task[None]] = set()

    async def work(self) -> None:
        """Run the workers until the leads run out, a stop lets the running ones finish, or an
        abort cancels them; then save, flush and close the claims whatever happened."""
        stop = self.stop
        workers = [asyncio.create_task(self._worker()) for _ in range(self.options.concurrency)]
        helpers = [
            asyncio.create_task(_renew_leases(self.feed, self.running, self.options, self.outage)),
            asyncio.create_task(self._announce_stop()),
        ]
        aborted = asyncio.create_task(stop.wait_aborted())
        cause = "the run failed"
        try:
            await self._until_workers_end(workers, aborted)
            while self.leads and not aborted.done():
                await asyncio.wait({*self.leads, aborted}, return_when=asyncio.FIRST_COMPLETED)
            cause = stop.abort_cause or "the run ended"
        finally:
            unfinished = [*workers, *self.leads, *helpers, aborted]
            for task in unfinished:
                task.cancel(stop.abort_cause or cause)
            await asyncio.gather(*unfinished, return_exceptions=True)
            await self.writer.aclose()
            await self.agent.gateway.flush()  # tracked calls: to the database, or else the spool
            await _close_unfinished(self.feed, self.cut_short, self.agent.worker_id, self.outage)

    async def _until_workers_end(
        self, workers: list[asyncio.Task[None]], aborted: asyncio.Task[None]
    ) -> None:
        remaining = set(workers)
        while remaining and not aborted.done():
            done, _ = await asyncio.wait({*remaining, aborted}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {aborted}:
                remaining.discard(task)
                error = task.exception()
                if error is None:
                    continue
                reason = unreachable_reason(error)
                if reason is None:
                    raise error  # a bug: end the run (its claims are closed below)
                self.outage.lost(reason)  # claiming failed: the other workers stop as well

    async def _worker(self) -> None:
        """Take leads one after another; a lead whose result waits for its batch to be
        written no longer holds the worker (its task finishes in the background)."""
        stop, feed, writer = self.stop, self.feed, self.writer
        while not stop.requested:
            claim = await feed.next()
            if claim is None:
                return
            if stop.requested:
                feed.queue.appendleft(claim)
                return
            queued = writer.queued(claim.run_id)
            lead = asyncio.create_task(self._run_lead(claim))
            self.leads.add(lead)
            lead.add_done_callback(self.leads.discard)
            try:
                await asyncio.wait({lead, queued}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                writer.forget(claim.run_id)

    async def _run_lead(self, claim: Claim) -> None:
        agent = self.agent
        self.running[claim.run_id] = claim
        try:
            outcome = await agent.run(claim.lead_id, claim=claim, writer=self.writer)
        except asyncio.CancelledError as exc:
            cause = str(exc.args[0]) if exc.args else "the run was cancelled"
            self.cut_short[claim.run_id] = ABORTED.format(cause=cause)
            self._finished(
                _failed(agent, claim, LeadFailure("aborted", self.cut_short[claim.run_id]))
            )
            raise
        except Exception as exc:  # the run's own bookkeeping failed (database down?)
            outcome = _failed(agent, claim, lead_failure(exc))
        finally:
            self.running.pop(claim.run_id, None)
        self._finished(outcome)

    def _finished(self, outcome: AgentOutcome) -> None:
        self.summary.outcomes.append(outcome)
        self.emit(LeadFinished(outcome))
        failure = outcome.failure
        if failure is not None and failure.kind == "database_unreachable":
            self.outage.lost(failure.message.removeprefix("database unreachable: "))
        elif failure is not None and failure.fatal:
            self.stop.request("fatal", failure.message)

    async def _announce_stop(self) -> None:
        await self.stop.wait_requested()
        self.emit(Stopping(self.stop.reason or "SIGINT", self.stop.message, len(self.running)))

    async def account_for_the_rest(self, scope: BulkScope | None) -> None:
        """Named leads deleted before they ran fail as not found; a bulk run counts the
        selected leads other workers still hold."""
        agent, feed = self.agent, self.feed
        if isinstance(feed, NamedFeed):
            for lead_id in feed.vanished:
                failure = LeadFailure("not_found", f"lead {lead_id} was deleted before it ran")
                self._finished(_failed(agent, Claim(run_id=0, lead_id=lead_id), failure))
        elif scope is not None and not self.outage.since:
            held = await _held_elsewhere(agent.sessions, scope, agent.worker_id, self.outage)
            self.summary.held_elsewhere, self.summary.held_until = held.leads, held.until


class _Outage:
    """The database went away during the run: when, why, and the stop it asks for."""

    def __init__(self, stop: StopSignal) -> None:
        self.stop = stop
        self.since: str = ""
        self.reason = ""

    def lost(self, reason: str) -> None:
        if self.since:
            return
        self.since = datetime.now().astimezone().strftime("%H:%M:%S")
        self.reason = reason
        self.stop.request("database", f"database unreachable since {self.since}: {reason}")

    async def summary(self, settings: Settings) -> str:
        """`database unreachable since 12:01:07; 31 tracked calls kept in the spool; …`."""
        from salesctl.llm.spool import count_pending, spool_path

        try:
            kept = await asyncio.to_thread(count_pending, spool_path(settings.data_dir))
        except OSError:
            kept = 0
        calls = "1 tracked call" if kept == 1 else f"{kept} tracked calls"
        return (
            f"database unreachable since {self.since} ({self.reason}); {calls} kept in the "
            "spool; rerun to finish"
        )


async def _take_over_dead_claims(sessions: async_sessionmaker[AsyncSession], agent: str) -> int:
    async with sessions() as session, session.begin():
        freed = await claims.take_over_dead_claims(session=session, agent=agent)
    if freed:
        log.info("took over %d claims of %s runs that no longer run on this host", freed, agent)
    return freed


async def _held_elsewhere(
    sessions: async_sessionmaker[AsyncSession], scope: BulkScope, worker_id: str, outage: _Outage
) -> claims.HeldElsewhere:
    try:
        async with reading(sessions) as session:
            return await claims.held_elsewhere(session=session, scope=scope, worker_id=worker_id)
    except Exception as exc:
        reason = unreachable_reason(exc)
        if reason is None:
            raise
        outage.lost(reason)
        return claims.HeldElsewhere(0, None)


async def _renew_leases(
    feed: Feed, running: dict[int, Claim], options: RunOptions, outage: _Outage
) -> None:
    """Keep this worker's claims alive while their leads run or wait in the queue."""
    while True:
        await asyncio.sleep(options.lease_seconds / 3)
        run_ids = [*running, *feed.queued_run_ids()]
        try:
            async with feed.sessions() as session, session.begin():
                await claims.renew_leases(
                    session=session,
                    run_ids=run_ids,
                    worker_id=feed.worker_id,
                    lease_seconds=options.lease_seconds,
                )
        except Exception as exc:  # a missed renewal is retried; the lease has slack
            reason = unreachable_reason(exc)
            log.warning("could not renew claims: %s", reason or describe_db_error(exc))
            if reason is not None:
                outage.lost(reason)


async def _close_unfinished(
    feed: Feed, cut_short: dict[int, str], worker_id: str, outage: _Outage
) -> None:
    """After a stop or an abort: give back unstarted claims, fail the cancelled ones. Without
    a database, they stay for the next run on this host to take over."""
    try:
        await feed.release()
        by_cause: dict[str, list[int]] = {}
        for run_id, reason in cut_short.items():
            by_cause.setdefault(reason, []).append(run_id)
        for reason, run_ids in by_cause.items():
            async with feed.sessions() as session, session.begin():
                await claims.abandon_claims(
                    session=session, run_ids=run_ids, worker_id=worker_id, reason=reason
                )
    except Exception as exc:
        unreachable = unreachable_reason(exc)
        if unreachable is None:
            raise
        outage.lost(unreachable)


def _failed(agent: LeadAgent, claim: Claim, failure: LeadFailure) -> AgentOutcome:
    return AgentOutcome(
        agent=agent.agent_type,
        lead_id=claim.lead_id,
        status="error",
        run_id=claim.run_id or None,
        provider=agent.choice.provider,
        model=agent.choice.model,
        failure=failure,
    )
