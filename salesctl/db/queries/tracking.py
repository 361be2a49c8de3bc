"""Tracked calls: which models the providers served for the ids salesctl asked for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.models import AICostTracking

RECENT_CALLS = 10_000
"""How many of the latest tracked calls `recent_served_models` looks at (read by primary key,
so it costs the same on a table of any size)."""


async def recent_served_models(
    *, session: AsyncSession, limit: int = RECENT_CALLS
) -> list[tuple[str, str, str]]:
    """(provider, configured model, served model) of the latest `limit` calls that know
    the model they asked for, each triple once, most recent first."""
    t = AICostTracking
    latest = (
        select(t.provider, t.configured_model, t.model)
        .where(t.configured_model.is_not(None))
        .order_by(t.id.desc())
        .limit(limit)
    )
    seen: dict[tuple[str, str, str], None] = {}
    for provider, configured, model in (await session.execute(latest)).all():
        if configured is not None:  # always: the query keeps only rows that have one
            seen[(provider, configured, model)] = None
    return list(seen)
