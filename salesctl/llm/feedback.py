"""Ratings of tracked calls: `salesctl feedback`, the REPL's /good and /bad, `--rate`.

A rating is a score from 0 (bad) to 1 (good) on one call, named by its `request_id` (printed
as `tracking_id` by the `--json` outputs). Each rating is kept in `ai_call_feedback`; the
call's own row gets the mean of its ratings (`quality_score`) and their count
(`feedback_count`). `costs quality` reads them, and `router tune` learns from them.
"""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from salesctl.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

GOOD = 1.0
BAD = 0.0
GOOD_AT = 0.5
"""A call whose mean rating is at least this counts as a good answer."""


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating as stored, with the call's summary after it."""

    request_id: str
    score: float
    rated_by: str | None
    note: str | None
    rated_at: datetime
    quality_score: float
    feedback_count: int
    agent_type: str
    provider: str
    model: str
    tier: str | None


def check_score(score: float) -> float:
    """`score` if it is a number from 0 to 1, else a one-line InvalidInput."""
    if not isinstance(score, int | float) or math.isnan(score) or not 0 <= score <= 1:
        raise InvalidInput(f"score {score} is outside 0-1: use --good (1), --bad (0) or 0..1")
    return float(score)


def default_rater() -> str | None:
    """Who is rating when nobody says: the login name, if the system knows it."""
    try:
        return getpass.getuser() or None
    except (KeyError, OSError):
        return None


async def rate(
    *,
    session: AsyncSession,
    request_id: str,
    score: float,
    note: str | None = None,
    rated_by: str | None = None,
) -> Rating:
    """Store one rating of call `request_id` and refresh the call's mean score and count."""
    from sqlalchemy import func, select, update

    from salesctl.db.models.feedback import CallFeedback
    from salesctl.db.models.tracking import AICostTracking

    score = check_score(score)
    call = (
        await session.execute(
            select(
                AICostTracking.id,
                AICostTracking.agent_type,
                AICostTracking.provider,
                AICostTracking.model,
                AICostTracking.prompt_complexity,
                AICostTracking.agent_mode,
            ).where(AICostTracking.request_id == request_id)
        )
    ).one_or_none()
    if call is None:
        raise NotFound(
            f"no tracked call {request_id!r}: use a tracking_id from a --json output "
            "or `salesctl costs export`"
        )
    feedback = CallFeedback(
        request_id=request_id, score=score, rated_by=rated_by, note=note or None
    )
    session.add(feedback)
    await session.flush()
    mean, count = (
        await session.execute(
            select(func.avg(CallFeedback.score), func.count()).where(
                CallFeedback.request_id == request_id
            )
        )
    ).one()
    await session.execute(
        update(AICostTracking)
        .where(AICostTracking.id == call.id)
        .values(quality_score=float(mean), feedback_count=int(count))
    )
    return Rating(
        request_id=request_id,
        score=score,
        rated_by=feedback.rated_by,
        note=feedback.note,
        rated_at=feedback.created_at,
        quality_score=round(float(mean), 4),
        feedback_count=int(count),
        agent_type=call.agent_type,
        provider=call.provider,
        model=call.model,
        tier=call.prompt_complexity if call.agent_mode == "smart_router" else None,
    )


async def last_answer(*, session: AsyncSession, session_id: str) -> str:
    """The `request_id` of the last answered call of chat session `session_id`."""
    from sqlalchemy import select

    from salesctl.db.models.tracking import AICostTracking

    found = (
        await session.execute(
            select(AICostTracking.request_id)
            .where(AICostTracking.session_id == session_id, AICostTracking.status == "ok")
            .order_by(AICostTracking.timestamp.desc(), AICostTracking.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"chat session {session_id!r} has no answered call to rate")
    return found


async def rate_call(
    engine: AsyncEngine,
    *,
    request_id: str | None,
    session_id: str | None = None,
    score: float,
    note: str | None = None,
    rated_by: str | None = None,
) -> Rating:
    """One rating in its own transaction: of `request_id`, or of `session_id`'s last answer."""
    from salesctl.db.session import session_factory

    check_score(score)
    async with session_factory(engine)() as session, session.begin():
        if request_id is None:
            if session_id is None:
                raise InvalidInput("name the call: a tracking id, or --session ID --last")
            request_id = await last_answer(session=session, session_id=session_id)
        return await rate(
            session=session, request_id=request_id, score=score, note=note, rated_by=rated_by
        )


def describe(rating: Rating) -> str:
    """One line for people: what was rated, and the call's mean score now."""
    verdict = "good" if rating.score >= GOOD_AT else "bad"
    where = f"{rating.agent_type}, {rating.provider}:{rating.model}"
    if rating.tier is not None:
        where += f", {rating.tier} tier"
    return (
        f"Rated {rating.request_id} {rating.score:g} ({verdict}); mean {rating.quality_score:g} "
        f"over {rating.feedback_count} rating(s) [{where}]"
    )
