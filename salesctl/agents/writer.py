"""Saving a bulk run's results in batches: one transaction for the leads that finished while
the previous batch was being written.

A lead's save still waits until its batch is committed, and reports its own outcome (saved,
claim lost, lead deleted), so the graph treats it exactly as a save of its own; a bulk run
just spends one transaction and four statements per batch instead of a transaction and three
statements per lead. Nothing waits to fill a batch: a save that finds the writer idle is
written at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from salesctl.agents import store
from salesctl.agents.context import FinishedRun
from salesctl.db.session import describe_db_error, unreachable_reason

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("salesctl.agents.writer")

MAX_BATCH = 100


class ResultWriter:
    """Saves `FinishedRun`s in batches; `await save(run)` returns once its batch is committed."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._waiting: deque[tuple[FinishedRun, asyncio.Future[None]]] = deque()
        self._writing: asyncio.Task[None] | None = None
        self._watched: dict[int, asyncio.Future[None]] = {}

    def queued(self, run_id: int) -> asyncio.Future[None]:
        """Done once the run's result is waiting for a batch (call `forget` when done with it)."""
        watched: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watched[run_id] = watched
        return watched

    def forget(self, run_id: int) -> None:
        watched = self._watched.pop(run_id, None)
        if watched is not None:
            watched.cancel()

    async def save(self, run: FinishedRun) -> None:
        """Save `run` with the next batch; raises ClaimLost or LeadVanished as `finish_run`.

        Cancelled before its batch is written, the run is left out of it (the runner closes
        its claim); cancelled while its batch is written, it is saved with the others."""
        loop = asyncio.get_running_loop()
        saved: asyncio.Future[None] = loop.create_future()
        self._waiting.append((run, saved))
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write_waiting())
        watched = self._watched.pop(run.context.run_id, None)
        if watched is not None and not watched.done():
            watched.set_result(None)
        await saved

    async def aclose(self) -> None:
        """Wait for the batch being written and any still waiting."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._next_batch()
            try:
                unsaved = await self._write(batch)
            except asyncio.CancelledError:
                _cancel(batch)
                raise
            except Exception as exc:
                if unreachable_reason(exc) is not None:  # no use trying each: all fail so
                    for _, saved in batch:
                        if not saved.done():
                            saved.set_exception(exc)
                    continue
                # Keep each lead's own outcome: save them one at a time.
                log.warning(
                    "saving %d results at once failed, saving each: %s",
                    len(batch),
                    describe_db_error(exc),
                )
                await self._write_each(batch)
                continue
            for run, saved in batch:
                if saved.done():
                    continue
                failure = unsaved.get(run.context.run_id)
                if failure is None:
                    saved.set_result(None)
                else:
                    saved.set_exception(failure)

    def _next_batch(self) -> list[tuple[FinishedRun, asyncio.Future[None]]]:
        """The waiting saves, oldest first, at most one per lead (a second save of a lead
        must see the first one's result) and at most `max_batch`."""
        batch: list[tuple[FinishedRun, asyncio.Future[None]]] = []
        leads: set[int] = set()
        later: list[tuple[FinishedRun, asyncio.Future[None]]] = []
        while self._waiting and len(batch) < self.max_batch:
            entry = self._waiting.popleft()
            if entry[1].cancelled():
                continue
            lead_id = entry[0].context.lead_id
            if lead_id in leads:
                later.append(entry)
            else:
                leads.add(lead_id)
                batch.append(entry)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _write(
        self, batch: list[tuple[FinishedRun, asyncio.Future[None]]]
    ) -> dict[int, store.ClaimLost | store.LeadVanished]:
        async with self.sessions() as session:
            # Reads come first in the batch, so SQLite must take the write lock at BEGIN.
            await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            unsaved = await store.finish_runs(session=session, runs=[run for run, _ in batch])
            await session.commit()
        return unsaved

    async def _write_each(self, batch: list[tuple[FinishedRun, asyncio.Future[None]]]) -> None:
        for index, (run, saved) in enumerate(batch):
            try:
                async with self.sessions() as session, session.begin():
                    await store.finish_run(
                        session=session,
                        context=run.context,
                        calls=run.calls,
                        output=run.output,
                        apply=run.apply,
                    )
            except asyncio.CancelledError:
                _cancel(batch[index:])
                raise
            except Exception as exc:
                if not saved.done():
                    saved.set_exception(exc)
            else:
                if not saved.done():
                    saved.set_result(None)


def _cancel(batch: list[tuple[FinishedRun, asyncio.Future[None]]]) -> None:
    for _, saved in batch:
        saved.cancel()
