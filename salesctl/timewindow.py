"""Calendars and clocks every layer may use: the configured time zone, local days, periods.

Instants are aware UTC datetimes; a local day or period is cut in a `ZoneInfo`
(`settings.timezone`) and its bounds given back as aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from salesctl.errors import ConfigError

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`settings.timezone`), or a ConfigError naming the fix."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"unknown time zone {name!r} in setting 'timezone': use an IANA name like "
            "'UTC' or 'Europe/Berlin'"
        ) from exc


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone`, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_start(day: date, granularity: Granularity) -> date:
    """The first day of the day/week (Monday)/month containing `day`."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return month_start(day)
    return day


def next_period(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day + timedelta(weeks=1)
    if granularity == "month":
        return next_month(day)
    return day + timedelta(days=1)


def hours_since_epoch(instant: datetime) -> float:
    return (instant - EPOCH).total_seconds() / 3600


def hour_start(hour: int) -> datetime:
    return EPOCH + timedelta(hours=hour)
