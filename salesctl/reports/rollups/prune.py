"""Deleting folded detail rows the rollups already hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from salesctl.reports.rollups.fold import fold
from salesctl.reports.rollups.planner import as_aware, floor_hour
from salesctl.reports.rollups.tables import STATE_NAME, gap_table, state_table, tracking_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

PRUNE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class PruneResult:
    deleted: int
    cutoff: datetime
    kept_unfolded: int = 0


async def prune(
    engine: AsyncEngine,
    *,
    before: datetime,
    batch_size: int = PRUNE_BATCH,
    progress: Callable[[int], None] | None = None,
) -> PruneResult:
    """Delete folded detail rows older than `before` (rounded down to the hour), in batches.

    Folds first, so the rollups hold every row it deletes. Rows not folded (an open gap) stay.
    On SQLite the newest row always stays, so SQLite never hands its id out again.
    """
    from sqlalchemy import and_, delete, exists, func, select, update

    await fold(engine, wait=True)
    cutoff = floor_hour(before)
    t = tracking_table()
    state = state_table()
    gaps = gap_table()
    async with engine.begin() as conn:
        current = (
            await conn.execute(select(state.c.pruned_before).where(state.c.name == STATE_NAME))
        ).scalar()
        current = as_aware(current)
        if current is None or current < cutoff:
            await conn.execute(
                update(state).where(state.c.name == STATE_NAME).values(pruned_before=cutoff)
            )
    deleted = 0
    while True:
        async with engine.begin() as conn:
            watermark = select(state.c.folded_through_id).where(state.c.name == STATE_NAME)
            conditions = [
                t.c.timestamp < cutoff,
                t.c.id <= watermark.scalar_subquery(),
                ~exists().where(and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi)),
            ]
            if conn.dialect.name == "sqlite":
                conditions.append(t.c.id < select(func.max(t.c.id)).scalar_subquery())
            batch = select(t.c.id).where(*conditions).order_by(t.c.id).limit(batch_size)
            result = await conn.execute(delete(t).where(t.c.id.in_(batch.scalar_subquery())))
            count = result.rowcount or 0
        deleted += count
        if progress is not None:
            progress(deleted)
        if count < batch_size:
            break
    async with engine.connect() as conn:
        kept = (await conn.execute(select(func.count()).where(t.c.timestamp < cutoff))).scalar_one()
    return PruneResult(deleted=deleted, cutoff=cutoff, kept_unfolded=int(kept))
