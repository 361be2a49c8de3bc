"""Meeting slots the BDR agent offers: computed, never invented by a model."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOT_TIMES = (time(10, 0), time(15, 0))
SLOT_COUNT = 3


def meeting_slots(now: datetime, zone: str, count: int = SLOT_COUNT) -> list[datetime]:
    """`count` slots on the business days after `now` in time zone `zone` (UTC if unknown),
    alternating morning and afternoon."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    day = now.astimezone(tz).date()
    slots: list[datetime] = []
    while len(slots) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            slots.append(datetime.combine(day, SLOT_TIMES[len(slots) % len(SLOT_TIMES)], tz))
    return slots
