"""The read planner: how a report window splits into whole days, whole hours and the ragged
hours only detail rows can answer, given how far the rollups are folded and pruned."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from salesctl.reports.rollups.tables import STATE_NAME, state_table
from salesctl.timewindow import EPOCH

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def as_aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class FoldState:
    watermark: int = 0
    pruned_before: datetime | None = None
    folded_at: datetime | None = None


async def read_state(session: AsyncSession) -> FoldState:
    from sqlalchemy import select

    state = state_table()
    row = (
        await session.execute(
            select(state.c.folded_through_id, state.c.pruned_before, state.c.folded_at).where(
                state.c.name == STATE_NAME
            )
        )
    ).first()
    if row is None:
        return FoldState()
    return FoldState(int(row[0]), as_aware(row[1]), as_aware(row[2]))


def _hour_number(instant: datetime) -> float:
    return (instant - EPOCH).total_seconds() / 3600


def _is_hour(instant: datetime) -> bool:
    return _hour_number(instant).is_integer()


def _is_day(instant: datetime) -> bool:
    return (_hour_number(instant) / 24).is_integer()


@dataclass(frozen=True)
class WindowPlan:
    """How a window splits into whole UTC days, whole hours, and ragged hours (detail rows).

    Day rollups answer `[day_lo, day_hi)` (None: unbounded) when `use_days`; hour rollups the
    hours of `[hour_lo, hour_hi)` outside those days and outside `ragged_hours`; the detail
    table the `ragged` ranges. Bucket cuts inside an hour make it ragged; cuts off UTC midnight
    turn days off (each day would straddle two buckets).
    """

    since: datetime | None
    until: datetime | None
    cuts: tuple[datetime, ...]
    state: FoldState
    ragged: tuple[tuple[datetime | None, datetime | None], ...] = ()
    ragged_hours: tuple[int, ...] = ()
    hour_lo: int | None = None
    hour_hi: int | None = None
    use_days: bool = False
    day_lo: int | None = None
    day_hi: int | None = None
    rounded: bool = False
    split_cuts: tuple[tuple[int, datetime], ...] = field(default=())
    """Cuts inside a ragged hour: (that hour, the cut), for bucketing detail rows."""


def plan_window(
    since: datetime | None,
    until: datetime | None,
    state: FoldState,
    cuts: Sequence[datetime] = (),
) -> WindowPlan:
    """Split `[since, until)` (and bucket cut points) into day, hour and ragged parts.

    A cut point before the pruned horizon is rounded down to the hour: the detail rows that
    would place it to the minute are gone, the hourly sums are not.
    """
    pruned = state.pruned_before
    rounded = False

    def settle(instant: datetime | None) -> datetime | None:
        nonlocal rounded
        if instant is None or pruned is None or instant >= pruned or _is_hour(instant):
            return instant
        rounded = True
        return floor_hour(instant)

    since, until = settle(since), settle(until)
    inner = sorted({c for c in (settle(c) for c in cuts) if c is not None} - {since, until})
    inner = [c for c in inner if (since is None or c > since) and (until is None or c < until)]
    ragged_hours: dict[int, tuple[datetime | None, datetime | None]] = {}
    for point in (since, *inner, until):
        if point is None or _is_hour(point):
            continue
        hour = math.floor(_hour_number(point))
        start = EPOCH + timedelta(hours=hour)
        end = start + timedelta(hours=1)
        lo = max(start, since) if since is not None else start
        hi = min(end, until) if until is not None else end
        if lo < hi:
            ragged_hours[hour] = (lo, hi)
    hour_lo = math.ceil(_hour_number(since)) if since is not None else None
    hour_hi = math.floor(_hour_number(until)) if until is not None else None
    day_lo = -(-hour_lo // 24) if hour_lo is not None else None
    day_hi = hour_hi // 24 if hour_hi is not None else None
    use_days = all(_is_day(c) for c in inner) and (
        day_lo is None or day_hi is None or day_lo < day_hi
    )
    return WindowPlan(
        since=since,
        until=until,
        cuts=tuple(inner),
        state=state,
        ragged=tuple(_merge([ragged_hours[h] for h in sorted(ragged_hours)])),
        ragged_hours=tuple(sorted(ragged_hours)),
        hour_lo=hour_lo,
        hour_hi=hour_hi,
        use_days=use_days,
        day_lo=day_lo if use_days else None,
        day_hi=day_hi if use_days else None,
        rounded=rounded,
        split_cuts=tuple((math.floor(_hour_number(c)), c) for c in inner if not _is_hour(c)),
    )


def _merge(
    ranges: list[tuple[datetime | None, datetime | None]],
) -> list[tuple[datetime | None, datetime | None]]:
    merged: list[tuple[datetime | None, datetime | None]] = []
    for lo, hi in ranges:
        if merged and merged[-1][1] == lo:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def bucket_index(plan: WindowPlan, hour: int, after_cut: int) -> int:
    """Which bucket (0 = before the first cut) a (UTC hour, after its cut) group falls in."""
    import bisect

    instant = EPOCH + timedelta(hours=hour)
    if after_cut:
        instant = next(c for h, c in plan.split_cuts if h == hour)
    return bisect.bisect_right(plan.cuts, instant)
