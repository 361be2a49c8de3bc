"""Bulk runs: one agent over many leads, concurrently, resumably, shared between workers.

`run_agent` claims leads (see `claims`), runs up to `concurrency` of them at once, saves
their results in batches (see `writer`), renews its claims while they run, reports each
finished lead as an event, and returns a summary.
A stop request (the first Ctrl-C or SIGTERM, a failure that would repeat for every lead, or
the database becoming unreachable) stops it taking new leads and lets the running ones finish
and be saved; an abort (a second Ctrl-C or SIGTERM) cancels them and closes their claims as
failed, naming the cause. A run that loses its database still ends with its summary: what the
calls in flight were tracked as waits in the spool, and the claims it could not close are
taken over by the next run on this host at once (their process is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from salesctl.agents import claims
from salesctl.agents.claims import BulkScope, Claim
from salesctl.agents.outcome import AgentOutcome, LeadFailure, lead_failure
from salesctl.agents.selection import LeadSelection
from salesctl.agents.store import reading
from salesctl.agents.writer import ResultWriter
from salesctl.db.base import utcnow
from salesctl.db.session import describe_db_error, unreachable_reason
from salesctl.errors import DatabaseError, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.base import LeadAgent
    from salesctl.config import Settings

log = logging.getLogger("salesctl.agents.runner")

StopReason = Literal["SIGINT", "SIGTERM", "fatal", "database"]
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 256
ABORTED = "aborted: the run was cancelled ({cause}) before this lead finished"
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RunOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    """Leads worked on at once; a lead whose result only waits for its batch to be written
    no longer counts."""
    force: bool = False
    """Bulk selections: run leads the agent already did, too."""
    lease_seconds: float = claims.DEFAULT_LEASE_SECONDS
    claim_batch: int | None = None
    """Leads claimed per round trip; default twice `concurrency` (at most 100)."""

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise InvalidInput(
                f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {self.concurrency}"
            )

    @property
    def batch(self) -> int:
        return self.claim_batch or min(2 * self.concurrency, 100)


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunStarted:
    agent: str
    provider: str
    model: str
    selection: str
    total: int
    """Leads pending when the run started (other workers may take some of them)."""
    worker_id: str


@dataclass(frozen=True, slots=True)
class LeadFinished:
    outcome: AgentOutcome


@dataclass(frozen=True, slots=True)
class Stopping:
    reason: StopReason
    message: str
    in_flight: int


RunEvent = RunStarted | LeadFinished | Stopping


# --- stopping --------------------------------------------------------------------------------


class StopSignal:
    """Asks a run to stop taking leads (`request`) or to cancel what is running (`abort`)."""

    def __init__(self) -> None:
        self.reason: StopReason | None = None
        self.message = ""
        self.aborted = False
        self.abort_cause = ""
        self._requested = asyncio.Event()
        self._abort = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: StopReason, message: str = "") -> None:
        if self.reason is None:
            self.reason = reason
            self.message = message
            self._requested.set()

    def abort(self, cause: str = "a second Ctrl-C") -> None:
        if not self.aborted:
            self.aborted = True
            self.abort_cause = cause
        self._abort.set()

    async def wait_requested(self) -> None:
        await self._requested.wait()

    async def wait_aborted(self) -> None:
        await self._abort.wait()


@contextlib.contextmanager
def stop_on_signals(stop: StopSignal) -> Iterator[None]:
    """First Ctrl-C or SIGTERM: stop taking leads. Another one: abort the leads in flight."""
    loop = asyncio.get_running_loop()

    def on_signal(reason: str) -> None:
        if stop.requested and stop.reason != "fatal":
            stop.abort("a second Ctrl-C" if reason == "SIGINT" else f"a second {reason}")
        else:
            stop.request(reason)  # type: ignore[arg-type]

    installed = []
    for signum, reason in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        try:
            loop.add_signal_handler(signum, on_signal, reason)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signal support: Ctrl-C raises as usual
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


# --- summary ---------------------------------------------------------------------------------


@dataclass(slots=True)
class RunSummary:
    """What a run did: counts, failures with reasons, cost and latency."""

    agent: str
    provider: str
    model: str
    selection: str
    worker_id: str
    total: int
    outcomes: list[AgentOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_by: StopReason | None = None
    stop_message: str = ""
    aborted: bool = False
    taken_over: int = 0
    """Claims of processes no longer running on this host that this run freed at its start."""
    held_elsewhere: int = 0
    """Selected leads still claimed by other live workers when this run ended."""
    held_until: datetime | None = None
    """When the last of those claims' leases ends (unless their workers renew them)."""

    @property
    def done(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def processed(self) -> int:
        return len(self.outcomes)

    @property
    def failures(self) -> list[AgentOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def unpriced_leads(self) -> int:
        return sum(1 for o in self.outcomes if o.cost_usd is None)

    @property
    def total_cost_usd(self) -> Decimal | None:
        """The sum over leads whose cost is known; None when no lead's cost is known."""
        known = [o.cost_usd for o in self.outcomes if o.cost_usd is not None]
        return sum(known, Decimal(0)) if known or not self.outcomes else None

    @property
    def cost_per_lead_usd(self) -> Decimal | None:
        priced = self.processed - self.unpriced_leads
        total = self.total_cost_usd
        if total is None or priced == 0:
            return None
        return total / priced

    @property
    def avg_latency_ms(self) -> float | None:
        if not self.outcomes:
            return None
        return sum(o.latency_ms for o in self.outcomes) / len(self.outcomes)

    @property
    def avg_call_latency_ms(self) -> float | None:
        """The LLM calls' share of `avg_latency_ms`: their latency per lead, on average."""
        if not self.outcomes:
            return None
        return sum(o.call_latency_ms for o in self.outcomes) / len(self.outcomes)

    @property
    def llm_calls(self) -> int:
        return sum(o.llm_calls for o in self.outcomes)

    def as_json(self) -> dict[str, Any]:
        cost_per_lead = self.cost_per_lead_usd
        avg = self.avg_latency_ms
        avg_calls = self.avg_call_latency_ms
        return {
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model,
            "selection": self.selection,
            "worker_id": self.worker_id,
            "pending_at_start": self.total,
            "processed": self.processed,
            "done": self.done,
            "failed": self.failed,
            "failures": [
                {
                    "lead_id": o.lead_id,
                    "kind": o.failure.kind if o.failure else "internal",
                    "error": o.failure.message if o.failure else "",
                }
                for o in self.failures
            ],
            "llm_calls": self.llm_calls,
            "total_cost_usd": self.total_cost_usd,
            "cost_per_lead_usd": (
                cost_per_lead.quantize(Decimal("1e-10")) if cost_per_lead is not None else None
            ),
            "unpriced_leads": self.unpriced_leads,
            "avg_latency_ms": round(avg, 1) if avg is not None else None,
            "avg_call_latency_ms": round(avg_calls, 1) if avg_calls is not None else None,
            "elapsed_s": round(self.elapsed_s, 3),
            "stopped_by": self.stopped_by,
            "stop_message": self.stop_message or None,
            "aborted": self.aborted,
            "claims_taken_over": self.taken_over,
            "held_by_other_workers": self.held_elsewhere,
            "held_until": self.held_until.isoformat() if self.held_until else None,
        }


# --- feeding leads to workers ----------------------------------------------------------------


class _Feed:
    """Hands claimed leads to workers, claiming the next batch in the background while a
    batch is still queued, so a worker never waits for a claim's round trips (on SQLite a
    claim can wait a few hundred ms for the write lock)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], worker_id: str, options: RunOptions
    ) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.options = options
        self.queue: deque[Claim] = deque()
        self.exhausted = False
        self._refill: asyncio.Task[None] | None = None

    async def next(self) -> Claim | None:
        while True:
            if self._refill_failed():
                raise self._refill.exception()  # type: ignore[misc,union-attr]  # end the run
            if self.queue:
                claim = self.queue.popleft()
                self._top_up()
                return claim
            if self.exhausted:
                return None
            self._top_up()
            assert self._refill is not None
            await asyncio.shield(self._refill)  # a cancelled worker must not cancel the claim

    def _refill_failed(self) -> bool:
        refill = self._refill
        return (
            refill is not None
            and refill.done()
            and not refill.cancelled()
            and refill.exception() is not None
        )

    def _top_up(self) -> None:
        refill = self._refill
        if refill is not None and (not refill.done() or self._refill_failed()):
            return
        if self.exhausted or len(self.queue) >= self.options.batch:
            return
        self._refill = asyncio.get_running_loop().create_task(self._claim_batch())

    async def _claim_batch(self) -> None:
        found = await self._claim_with_retries()
        self._claimed(found)
        self.queue.extend(found)

    def _claimed(self, found: list[Claim]) -> None:
        """Bookkeeping once a claim is committed."""

    async def _claim_with_retries(self) -> list[Claim]:
        """Claim in a short transaction; a deadlock or busy database is worth a retry."""
        from sqlalchemy.exc import DBAPIError

        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            try:
                async with self.sessions() as session, session.begin():
                    return await self._claim(session)
            except DBAPIError as exc:
                if attempt == CLAIM_ATTEMPTS or exc.connection_invalidated:
                    raise
                log.warning("claiming leads failed (attempt %d), retrying: %s", attempt, exc)
                await asyncio.sleep(0.2 * attempt)
        return []

    async def _claim(self, session: AsyncSession) -> list[Claim]:
        raise NotImplementedError

    def queued_run_ids(self) -> list[int]:
        return [claim.run_id for claim in self.queue]

    async def release(self) -> None:
        """Give back claims that were never started (after any claim in flight lands)."""
        self.exhausted = True
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)
        run_ids = self.queued_run_ids()
        self.queue.clear()
        if run_ids:
            async with self.sessions() as session, session.begin():
                await claims.release_claims(
                    session=session, run_ids=run_ids, worker_id=self.worker_id
                )


class _BulkFeed(_Feed):
    """Pending leads in id order; a last sweep from the start catches any skipped ones."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        worker_id: str,
        scope: BulkScope,
        options: RunOptions,
    ) -> None:
        super().__init__(sessions, worker_id, options)
        self.scope = scope
        self.after_id = 0

    async def _claim(self, session: AsyncSession) -> list[Claim]:
        found = await self._claim_after(session, self.after_id)
        if not found and self.after_id:
            found = await self._claim_after(session, 0)
        if not found:
            self.exhausted = True
            return []
        self.after_id = max(claim.lead_id for claim in found)
        return found

    async def _claim_after(self, session: AsyncSession, after_id: int) -> list[Claim]:
        return await claims.claim_pending(
            session=session,
            scope=self.scope,
            worker_id=self.worker_id,
            limit=self.options.batch,
            after_id=after_id,
            lease_seconds=self.options.lease_seconds,
        )


class _NamedFeed(_Feed):
    """Named leads in the order given, each run whether or not it was done before."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        worker_id: str,
        agent: str,
        lead_ids: tuple[int, ...],
        options: RunOptions,
    ) -> None:
        super().__init__(sessions, worker_id, options)
        self.agent = agent
        self.remaining = deque(lead_ids)
        self.vanished: list[int] = []

    async def _claim(self, session: AsyncSession) -> list[Claim]:
        # Nothing leaves `remaining` until the claim is committed, so a retry asks again.
        batch = list(itertools.islice(self.remaining, self.options.batch))
        return await claims.claim_named(
            session=session,
            agent=self.agent,
            lead_ids=batch,
            worker_id=self.worker_id,
            lease_seconds=self.options.lease_seconds,
        )

    def _claimed(self, found: list[Claim]) -> None:
        batch = [
            self.remaining.popleft() for _ in range(min(self.options.batch, len(self.remaining)))
        ]
        claimed = {claim.lead_id for claim in found}
        self.vanished.extend(lead_id for lead_id in batch if lead_id not in claimed)
        self.exhausted = not self.remaining


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
    sessions = agent.sessions
    feed: _Feed
    scope: BulkScope | None = None
    try:
        taken_over = await _take_over_dead_claims(sessions, agent.agent_type)
        if selection.explicit:
            missing = await _missing_leads(sessions, selection.lead_ids)
            if missing:
                shown = ", ".join(str(i) for i in missing[:10])
                shown += " …" if len(missing) > 10 else ""
                raise NotFound(f"no lead with id {shown}: see `salesctl leads list`")
            total = len(selection.lead_ids)
            feed = _NamedFeed(
                sessions, agent.worker_id, agent.agent_type, selection.lead_ids, options
            )
        else:
            scope = bulk_scope(agent.agent_type, selection, force=options.force)
            total = await count_pending(sessions, scope)
            feed = _BulkFeed(sessions, agent.worker_id, scope, options)
    except Exception as exc:  # gone between the command's own check and here: nothing ran
        reason = unreachable_reason(exc)
        if reason is None or isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"database unreachable: {reason}") from exc

    summary = RunSummary(
        agent=agent.agent_type,
        provider=agent.choice.provider,
        model=agent.choice.model,
        selection=selection.describe(),
        worker_id=agent.worker_id,
        total=total,
        taken_over=taken_over,
    )
    emit(
        RunStarted(
            agent=summary.agent,
            provider=summary.provider,
            model=summary.model,
            selection=summary.selection,
            total=total,
            worker_id=agent.worker_id,
        )
    )
    running: dict[int, Claim] = {}
    cut_short: dict[int, str] = {}
    writer = ResultWriter(sessions)
    clock = time.perf_counter()
    outage = _Outage(stop)

    def finished(outcome: AgentOutcome) -> None:
        summary.outcomes.append(outcome)
        emit(LeadFinished(outcome))
        failure = outcome.failure
        if failure is not None and failure.kind == "database_unreachable":
            outage.lost(failure.message.removeprefix("database unreachable: "))
        elif failure is not None and failure.fatal:
            stop.request("fatal", failure.message)

    async def run_lead(claim: Claim) -> None:
        running[claim.run_id] = claim
        try:
            outcome = await agent.run(claim.lead_id, claim=claim, writer=writer)
        except asyncio.CancelledError as exc:
            cause = str(exc.args[0]) if exc.args else "the run was cancelled"
            cut_short[claim.run_id] = ABORTED.format(cause=cause)
            finished(_failed(agent, claim, LeadFailure("aborted", cut_short[claim.run_id])))
            raise
        except Exception as exc:  # the run's own bookkeeping failed (database down?)
            outcome = _failed(agent, claim, lead_failure(exc))
        finally:
            running.pop(claim.run_id, None)
        finished(outcome)

    async def worker() -> None:
        """Take leads one after another; a lead whose result waits for its batch to be
        written no longer holds the worker (its task finishes in the background)."""
        while not stop.requested:
            claim = await feed.next()
            if claim is None:
                return
            if stop.requested:
                feed.queue.appendleft(claim)
                return
            queued = writer.queued(claim.run_id)
            lead = asyncio.create_task(run_lead(claim))
            leads.add(lead)
            lead.add_done_callback(leads.discard)
            try:
                await asyncio.wait({lead, queued}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                writer.forget(claim.run_id)

    async def announce_stop() -> None:
        await stop.wait_requested()
        emit(Stopping(stop.reason or "SIGINT", stop.message, len(running)))

    leads: set[asyncio.Task[None]] = set()
    workers = [asyncio.create_task(worker()) for _ in range(options.concurrency)]
    helpers = [
        asyncio.create_task(_renew_leases(feed, running, options, outage)),
        asyncio.create_task(announce_stop()),
    ]
    aborted = asyncio.create_task(stop.wait_aborted())
    cause = "the run failed"
    try:
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
                outage.lost(reason)  # claiming failed: the other workers stop as well
        while leads and not aborted.done():
            await asyncio.wait({*leads, aborted}, return_when=asyncio.FIRST_COMPLETED)
        cause = stop.abort_cause or "the run ended"
    finally:
        unfinished = [*workers, *leads, *helpers, aborted]
        for task in unfinished:
            task.cancel(stop.abort_cause or cause)
        await asyncio.gather(*unfinished, return_exceptions=True)
        await writer.aclose()
        await agent.gateway.flush()  # tracked calls: to the database, or else the spool
        await _close_unfinished(feed, cut_short, agent.worker_id, outage)

    if isinstance(feed, _NamedFeed):
        for lead_id in feed.vanished:
            failure = LeadFailure("not_found", f"lead {lead_id} was deleted before it ran")
            finished(_failed(agent, Claim(run_id=0, lead_id=lead_id), failure))
    elif scope is not None and not outage.since:
        held = await _held_elsewhere(sessions, scope, agent.worker_id, outage)
        summary.held_elsewhere, summary.held_until = held.leads, held.until
    order = {lead_id: index for index, lead_id in enumerate(selection.lead_ids)}
    summary.outcomes.sort(key=lambda o: (order.get(o.lead_id, o.lead_id), o.lead_id))
    summary.elapsed_s = time.perf_counter() - clock
    if outage.since:
        stop.message = await outage.summary(agent.settings)
    summary.stopped_by = stop.reason
    summary.stop_message = stop.message
    summary.aborted = stop.aborted
    return summary


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
    feed: _Feed, running: dict[int, Claim], options: RunOptions, outage: _Outage
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
    feed: _Feed, cut_short: dict[int, str], worker_id: str, outage: _Outage
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
        reason = unreachable_reason(exc)
        if reason is None:
            raise
        outage.lost(reason)


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
