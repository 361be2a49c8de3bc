"""What a report covers: the filter set, and dates as people type them.

Times are parsed in the configured time zone (`settings.timezone`, UTC by default) and kept
as aware UTC datetimes. A window is half-open, `[since, until)`; `until=None` means open-ended.
A date given as `--until` includes that whole day, a datetime includes that instant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from salesctl.errors import ConfigError, InvalidInput
from salesctl.timewindow import (
    load_zone,
    local_date,
    local_midnight,
    month_start,
    next_month,
)
from salesctl.vocabulary import AGENT_TYPES, CHAT_AGENT_ALIASES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from salesctl.config import Settings

CLI_NAMES = {
    "since": "--since",
    "until": "--until",
    "agents": "--agent",
    "lead_id": "--lead",
    "provider": "--provider",
}
"""How errors name each filter; the HTTP API passes its query parameter names instead."""

DEFAULT_DAYS = 30
_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
DATE_HELP = "2025-01-15, 2025-01-15T09:30, 7d, 24h, today, yesterday, this-month, last-month"


class InvalidFilter(InvalidInput):
    """A filter value that cannot be used; `field` says which one."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class PendingAgents:
    """Agent names that are neither salesctl's nor configured: valid only if calls were
    tracked under them (a user's own agent), which takes the database to tell."""

    names: tuple[str, ...]
    known: tuple[str, ...]
    flag: str = "--agent"


@dataclass(frozen=True, slots=True)
class CostFilters:
    """Which tracked calls a report covers; the time zone says where days begin."""

    since: datetime | None = None
    until: datetime | None = None
    agents: tuple[str, ...] = ()
    lead_id: int | None = None
    provider: str | None = None
    model: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    timezone: str = "UTC"
    pending_agents: PendingAgents | None = None
    """Set by `build_filters`; `verify_agents` checks these names against the tracked rows."""

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.timezone)

    def echo(self) -> dict[str, object]:
        """The filters as given, for the JSON output."""
        return {
            "since": self.since,
            "until": self.until,
            "agent_type": list(self.agents) or None,
            "lead_id": self.lead_id,
            "provider": self.provider,
            "model": self.model,
            "session_id": self.session_id,
            "user_id": self.user_id,
        }


def _period(text: str, today: date) -> tuple[date, date] | None:
    """The named periods: (first day, day after the last)."""
    if text == "today":
        return today, today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1), today
    if text == "this-month":
        return month_start(today), next_month(today)
    if text == "last-month":
        first = month_start(month_start(today) - timedelta(days=1))
        return first, month_start(today)
    return None


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Nothing was tracked before this; earlier dates would only build empty, huge day series."""


def parse_time(
    text: str, *, zone: ZoneInfo, now: datetime, end: bool = False, flag: str = "--since"
) -> datetime:
    """One `--since`/`--until` value as aware UTC (`end=True`: the exclusive end it implies).

    Refuses instants before 2000 or past the calendar's end, and a `--since` in the future.
    """
    field = "until" if end else "since"
    try:
        instant = _parse_time(text, zone=zone, now=now, end=end, flag=flag)
    except OverflowError:
        instant = None
    if instant is None or instant < EARLIEST:
        raise InvalidFilter(f"{flag} {text!r} is out of range (from 2000 on)", field=field)
    if not end and instant > now:
        raise InvalidFilter(f"{flag} {text!r} is in the future", field=field)
    return instant


def _parse_time(text: str, *, zone: ZoneInfo, now: datetime, end: bool, flag: str) -> datetime:
    value = text.strip().lower()
    today = local_date(now, zone)
    if value == "now":
        return now
    named = _period(value, today)
    if named is not None:
        return local_midnight(named[1] if end else named[0], zone)
    relative = _RELATIVE.match(value)
    if relative:
        return now - int(relative.group(1)) * _UNIT[relative.group(2)]
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return local_midnight(day + timedelta(days=1) if end else day, zone)
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        field = "until" if end else "since"
        raise InvalidFilter(
            f"{flag} {text!r} is not a date or time (try {DATE_HELP})", field=field
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    instant = instant.astimezone(UTC)
    return instant + timedelta(microseconds=1) if end else instant


def resolve_window(
    since: str | None,
    until: str | None,
    *,
    zone: ZoneInfo,
    now: datetime,
    default_days: int | None = DEFAULT_DAYS,
    names: Mapping[str, str] = CLI_NAMES,
) -> tuple[datetime | None, datetime | None]:
    """`[since, until)` from the flags; without `--since`, the last `default_days` local days."""
    since_name, until_name = names["since"], names["until"]
    start = parse_time(since, zone=zone, now=now, flag=since_name) if since else None
    stop = parse_time(until, zone=zone, now=now, end=True, flag=until_name) if until else None
    if start is None and default_days is not None:
        anchor = local_date(stop - timedelta(microseconds=1), zone) if stop else None
        anchor = anchor or local_date(now, zone)
        start = local_midnight(anchor - timedelta(days=default_days - 1), zone)
    if start is not None and stop is not None and stop <= start:
        shown = since or start.isoformat()
        raise InvalidFilter(
            f"{until_name} {until!r} is not after {since_name} {shown!r}", field="until"
        )
    return start, stop


def known_agent_types(settings: Settings | None = None) -> list[str]:
    """salesctl's agent types plus any configured ones."""
    names: dict[str, None] = dict.fromkeys(AGENT_TYPES)
    if settings is not None:
        names.update(dict.fromkeys(settings.agents))
    return list(names)


def canonical_agent(name: str) -> str:
    """How salesctl spells an agent type the user typed (`sr-bdr`, `CS` → `sr_bdr`, …)."""
    key = name.strip().lower()
    return CHAT_AGENT_ALIASES.get(key, key).replace("-", "_")


def check_agent(name: str, known: list[str], *, flag: str = "--agent") -> str:
    """The canonical agent type for `name`, or an error suggesting the close ones."""
    key = canonical_agent(name)
    if key in known:
        return key
    raise unknown_agent(name, known, flag)


def unknown_agent(name: str, known: list[str], flag: str) -> InvalidFilter:
    close = difflib.get_close_matches(canonical_agent(name), known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return InvalidFilter(
        f"unknown agent {name!r} in {flag}: {hint}(known: {', '.join(known)})", field="agents"
    )


async def verify_agents(db: AsyncSession | AsyncConnection, filters: CostFilters) -> CostFilters:
    """`filters` with its pending agent names resolved to agent types that have tracked calls
    (as typed, or as salesctl would spell them), or the unknown-agent error listing the known
    and the tracked types. Costs one indexed lookup, and only for names salesctl does not know.
    """
    pending = filters.pending_agents
    if pending is None:
        return filters
    spellings = {name: dict.fromkeys((name, canonical_agent(name))) for name in pending.names}
    tracked = await tracked_agent_types(db, [s for each in spellings.values() for s in each])
    resolved: dict[str, str] = {}
    for name, options in spellings.items():
        match = next((option for option in options if option in tracked), None)
        if match is None:
            known = list(dict.fromkeys([*pending.known, *await all_tracked_agent_types(db)]))
            raise unknown_agent(name, known, pending.flag)
        resolved[name] = match
    agents = tuple(dict.fromkeys(resolved.get(a, a) for a in filters.agents))
    return replace(filters, agents=agents, pending_agents=None)


async def tracked_agent_types(db: AsyncSession | AsyncConnection, names: list[str]) -> set[str]:
    """Which of `names` have tracked calls (detail rows, or rollups of pruned ones)."""
    from sqlalchemy import exists, or_, select

    from salesctl.db.models.analytics import DailyCost
    from salesctl.db.models.tracking import AICostTracking

    t, daily = AICostTracking.__table__, DailyCost.__table__
    checks = [
        or_(
            exists().where(t.c.agent_type == name),
            exists().where(daily.c.agent_type == name),
        ).label(f"n{i}")
        for i, name in enumerate(names)
    ]
    row = (await db.execute(select(*checks))).one()
    return {name for name, found in zip(names, row, strict=True) if found}


async def all_tracked_agent_types(db: AsyncSession | AsyncConnection) -> list[str]:
    """Every agent type in the rollups and the rows not folded yet (for suggestions)."""
    from sqlalchemy import func, select, union

    from salesctl.db.models.analytics import DailyCost, RollupState
    from salesctl.db.models.tracking import AICostTracking

    t, daily, state = AICostTracking.__table__, DailyCost.__table__, RollupState.__table__
    watermark = func.coalesce(select(func.max(state.c.folded_through_id)).scalar_subquery(), 0)
    query = union(select(daily.c.agent_type), select(t.c.agent_type).where(t.c.id > watermark))
    return sorted(str(name) for name in (await db.execute(query)).scalars())


def build_filters(
    *,
    settings: Settings,
    since: str | None = None,
    until: str | None = None,
    agents: list[str] | tuple[str, ...] = (),
    lead_id: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    now: datetime | None = None,
    default_days: int | None = DEFAULT_DAYS,
    names: Mapping[str, str] = CLI_NAMES,
) -> CostFilters:
    """Validate what the user typed (CLI flags or API parameters) into a CostFilters."""
    from salesctl.config import canonical_provider

    zone = load_zone(settings.timezone)
    now = now or datetime.now(UTC)
    start, stop = resolve_window(
        since, until, zone=zone, now=now, default_days=default_days, names=names
    )
    known = known_agent_types(settings)
    checked: list[str] = []
    pending: list[str] = []
    for name in agents:
        try:
            checked.append(check_agent(name, known, flag=names["agents"]))
        except InvalidFilter:
            if not name.strip():
                raise
            checked.append(name.strip())
            pending.append(name.strip())
    try:
        canonical = canonical_provider(provider) if provider else None
    except ConfigError as exc:
        raise InvalidFilter(f"{names['provider']}: {exc}", field="provider") from None
    if lead_id is not None and lead_id <= 0:
        raise InvalidFilter(
            f"{names['lead_id']} {lead_id} is not a lead id (ids are positive)", field="lead_id"
        )
    return CostFilters(
        since=start,
        until=stop,
        agents=tuple(dict.fromkeys(checked)),
        lead_id=lead_id,
        provider=canonical,
        model=model or None,
        session_id=session_id or None,
        user_id=user_id or None,
        timezone=settings.timezone,
        pending_agents=(
            PendingAgents(tuple(dict.fromkeys(pending)), tuple(known), names["agents"])
            if pending
            else None
        ),
    )
