"""Feeding claimed leads to a bulk run's workers: pending leads of a selection, or named ones."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from typing import TYPE_CHECKING

from salesctl.agents import claims
from salesctl.agents.claims import BulkScope, Claim

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.bulk.options import RunOptions

log = logging.getLogger("salesctl.agents.runner")

CLAIM_ATTEMPTS = 3


class Feed:
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


class BulkFeed(Feed):
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


class NamedFeed(Feed):
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
