"""Where spend is heading, and whether it just jumped: the forecast and anomaly checks of
`budget check`, from one read of the hourly rollups.

Forecast: what is spent so far plus, for every hour left in the day (month), a rate blended
from two sources: the same hour of day averaged over the 7 days before today, and the period's
own rate so far. The period's own rate weighs `e / (e + 24)` after `e` hours of the period, so
it counts for little in the first hours (a quiet start is no news) and takes over as the period
goes on. `crosses_at` is the instant that projection reaches the monthly budget.

Anomalies: spend in the last hour, and today so far, against the same window on each of the
trailing 7 days (the mean, zeros included; at least the average hour of the 7 days before the
window times the window's length, so one call in a quiet hour is no spike). A spike is spend
over `factor` times that, once 3 of the 7 days had spend; the agent and model whose spend rose
most drove it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from salesctl.reports.filters import CostFilters
from salesctl.timewindow import hour_start, load_zone, local_midnight

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import AsyncSession

TRAILING_DAYS = 7
MIN_HISTORY_DAYS = 3
"""Trailing days with spend an anomaly needs before it can call anything a spike."""
OWN_RATE_PRIOR_HOURS = Decimal(24)
"""The trailing pattern counts as this many hours of evidence against the period's own rate."""
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
QUANTUM = Decimal("1e-6")

Window = Literal["last_hour", "today"]


@dataclass(frozen=True, slots=True)
class Forecast:
    """Projected spend at the end of today and of this month (local days)."""

    day_end_usd: Decimal
    month_end_usd: Decimal
    crosses_at: datetime | None
    """When the projection reaches the monthly budget; None without one, or not this month."""


@dataclass(frozen=True, slots=True)
class Driver:
    """The agent and model whose spend rose most in an anomaly's window."""

    agent_type: str
    provider: str
    model: str
    spend_usd: Decimal
    usual_usd: Decimal


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One window's spend against the same window on the trailing days."""

    window: Window
    scope: str
    period: str
    """The alert period: the local hour (last hour) or day (today), so each notifies once."""
    since: datetime
    until: datetime
    spend_usd: Decimal
    usual_usd: Decimal | None
    """The reference: None until enough trailing days had spend."""
    history_days: int
    factor: Decimal
    is_spike: bool
    driver: Driver | None


@dataclass(frozen=True, slots=True)
class _Segment:
    """Spend of one (agent, provider, model) in `[start, end)`, a part of one UTC hour."""

    key: tuple[str, str, str]
    start: datetime
    end: datetime
    cost: Decimal


@dataclass(frozen=True)
class SpendPattern:
    """The trailing week's spend in pieces no window boundary cuts through."""

    now: datetime
    segments: list[_Segment]
    by_key: bool = False
    """Kept per (agent, provider, model); else totals only, under one empty key."""

    def total(self, since: datetime, until: datetime) -> Decimal:
        return sum(self.per_key(since, until).values(), Decimal(0))

    def per_key(self, since: datetime, until: datetime) -> dict[tuple[str, str, str], Decimal]:
        """Spend per (agent, provider, model) in `[since, until)`; a piece cut by an edge
        that is no boundary of the read (a local midnight off the UTC hour) counts pro rata."""
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for s in self.segments:
            lo, hi = max(s.start, since), min(s.end, until)
            if lo >= hi:
                continue
            if lo == s.start and hi == s.end:
                sums[s.key] += s.cost
            else:
                sums[s.key] += s.cost * _hours(hi - lo) / _hours(s.end - s.start)
        return sums

    def hour_profile(self, today_starts: datetime) -> list[Decimal]:
        """Mean spend per UTC hour of day over the 7 days before today (168 whole hours)."""
        top = _floor_hour(today_starts)
        profile = [Decimal(0)] * 24
        for s in self.segments:
            if top - TRAILING_DAYS * DAY <= s.start < top:
                profile[s.start.hour] += s.cost
        return [p / TRAILING_DAYS for p in profile]


def _hours(delta: timedelta) -> Decimal:
    return Decimal(int(delta.total_seconds() * 1_000_000)) / Decimal(3_600_000_000)


def _floor_hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def _last_hours(now: datetime) -> list[tuple[datetime, datetime]]:
    """The last hour, and the same 60 minutes on each of the trailing days."""
    return [(now - k * DAY - HOUR, now - k * DAY) for k in range(TRAILING_DAYS + 1)]


Key = tuple[str, str, str]
KEY_DIMS = ("agent_type", "provider", "model")
NO_KEY: Key = ("", "", "")


async def read_pattern(
    session: AsyncSession, filters: CostFilters, *, now: datetime, by_key: bool = False
) -> SpendPattern:
    """Spend over the trailing 8 days: per UTC hour from the hourly rollups, and the last-hour
    windows to the second from the detail rows; per (agent, provider, model) with `by_key`
    (what naming a spike's driver needs; the usual run reads totals only).

    Two statements, each cheap on a large table: the rollups' read has one ragged range (the
    current hour), and the windows' read is eight index ranges. (The rollups' own reader would
    join the windows' sixteen ragged hours as a VALUES list, which PostgreSQL plans as a scan
    of every folded row.)
    """
    from salesctl.reports.rollups import aggregate, plan_window, read_state

    zone = load_zone(filters.timezone)
    today = now.astimezone(zone).date()
    earliest = min(local_midnight(today - TRAILING_DAYS * DAY, zone), now - DAY * 7 - HOUR * 2)
    since = _floor_hour(earliest)
    state = await read_state(session)
    plan = plan_window(since, now, state)
    # Whole hours only: the windows need each hour on its own, never a day's sum.
    plan = replace(plan, use_days=False, day_lo=None, day_hi=None)
    window = CostFilters(since=since, until=now, agents=filters.agents, timezone=filters.timezone)
    dims = KEY_DIMS if by_key else ()
    groups = await aggregate(
        session,
        plan,
        window,
        "all",
        dims,
        source="rollup",
        by_hour=True,
        metrics=("requests", "cost_usd"),
    )
    hours: dict[tuple[Key, datetime], Decimal] = defaultdict(Decimal)
    for group, sums in groups:
        if sums.cost_usd:
            key = group[:3] if by_key else NO_KEY
            hours[(key, hour_start(group[-2]))] += sums.cost_usd
    pruned = state.pruned_before
    exact = [(lo, hi) for lo, hi in _last_hours(now) if pruned is None or lo >= pruned]
    parts = await _window_parts(session, exact, filters.agents, by_key=by_key)
    return SpendPattern(now, _segments(now, hours, parts), by_key)


async def _window_parts(
    session: AsyncSession,
    windows: Sequence[tuple[datetime, datetime]],
    agents: Sequence[str],
    *,
    by_key: bool,
) -> dict[tuple[int, Key, datetime], Decimal]:
    """Spend per (window, key, UTC hour) in each window, from the detail rows (exact)."""
    from sqlalchemy import and_, case, func, or_, select

    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.rollups import hour_of

    if not windows:
        return {}
    t = AICostTracking.__table__
    dialect = session.get_bind().dialect.name
    inside = [and_(t.c.timestamp >= lo, t.c.timestamp < hi) for lo, hi in windows]
    index = case(*((term, i) for i, term in enumerate(inside)))
    hour = hour_of(dialect, t.c.timestamp)
    # Grouped by agent even for totals: agents are filtered here, as a term on agent_type
    # would lead SQLite off the timestamp index.
    keys = [t.c[d] for d in (KEY_DIMS if by_key else ("agent_type",))]
    query = (
        select(*keys, hour.label("hour"), index.label("k"), func.sum(t.c.cost_usd).label("cost"))
        .where(or_(*inside))
        .group_by(*keys, hour, index)
    )
    parts: dict[tuple[int, Key, datetime], Decimal] = defaultdict(Decimal)
    for row in (await session.execute(query)).all():
        if row.cost is None or (agents and row.agent_type not in agents):
            continue
        key = (row.agent_type, row.provider, row.model) if by_key else NO_KEY
        parts[(int(row.k), key, hour_start(int(row.hour)))] += Decimal(row.cost)
    return parts


def _segments(
    now: datetime,
    hours: dict[tuple[Key, datetime], Decimal],
    parts: dict[tuple[int, Key, datetime], Decimal],
) -> list[_Segment]:
    """The hours as segments, the hours a last-hour window cuts split at its edge."""
    windows = _last_hours(now)
    split: dict[tuple[Key, datetime], list[tuple[datetime, datetime, Decimal]]] = defaultdict(list)
    for (k, key, hour), cost in parts.items():
        lo, hi = windows[k]
        split[(key, hour)].append((max(lo, hour), min(hi, hour + HOUR), cost))
    segments = []
    for key_hour in {*hours, *split}:
        key, hour = key_hour
        total = hours.get(key_hour, Decimal(0))
        end = min(hour + HOUR, now)
        pieces = sorted(split.get(key_hour, ()))
        known = sum((cost for _, _, cost in pieces), Decimal(0))
        for lo, hi, cost in pieces:
            segments.append(_Segment(key, lo, hi, cost))
        # The rest of the hour, outside the window (several statements, several snapshots:
        # never below zero).
        rest = max(total - known, Decimal(0))
        gaps = _gaps(hour, end, [(lo, hi) for lo, hi, _ in pieces])
        if rest and gaps:
            width = sum((_hours(hi - lo) for lo, hi in gaps), Decimal(0))
            for lo, hi in gaps:
                segments.append(_Segment(key, lo, hi, rest * _hours(hi - lo) / width))
    return segments


def _gaps(
    start: datetime, end: datetime, taken: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of `[start, end)` outside the `taken` ranges."""
    gaps = []
    moment = start
    for lo, hi in sorted(taken):
        if lo > moment:
            gaps.append((moment, lo))
        moment = max(moment, hi)
    if moment < end:
        gaps.append((moment, end))
    return gaps


# --- the forecast ------------------------------------------------------------------------


def _project(
    *,
    spent: Decimal,
    start: datetime,
    now: datetime,
    end: datetime,
    profile: Sequence[Decimal],
    budget: Decimal | None = None,
) -> tuple[Decimal, datetime | None]:
    """Spend at `end` of the period begun at `start`, and when it reaches `budget`."""
    elapsed = _hours(now - start)
    own_rate = spent / elapsed if elapsed > 0 else Decimal(0)
    weight = elapsed / (elapsed + OWN_RATE_PRIOR_HOURS)
    total = spent
    crosses_at = None
    moment = now
    while moment < end:
        stop = min(_floor_hour(moment) + HOUR, end)
        rate = weight * own_rate + (1 - weight) * profile[moment.hour]
        added = rate * _hours(stop - moment)
        if budget is not None and crosses_at is None and total < budget <= total + added:
            crosses_at = moment + timedelta(hours=float((budget - total) / rate))
        total += added
        moment = stop
    return total, crosses_at


def forecast(
    pattern: SpendPattern,
    *,
    zone: ZoneInfo,
    today: date,
    spent_today: Decimal,
    spent_month: Decimal,
    monthly_budget: Decimal | None,
) -> Forecast:
    """Day-end and month-end spend projected from the spend so far and the trailing week."""
    from salesctl.timewindow import month_start, next_month

    profile = pattern.hour_profile(local_midnight(today, zone))
    now = pattern.now
    day_end, _ = _project(
        spent=spent_today,
        start=local_midnight(today, zone),
        now=now,
        end=local_midnight(today + DAY, zone),
        profile=profile,
    )
    budget = monthly_budget if monthly_budget is not None and spent_month < monthly_budget else None
    month_end, crosses_at = _project(
        spent=spent_month,
        start=local_midnight(month_start(today), zone),
        now=now,
        end=local_midnight(next_month(today), zone),
        profile=profile,
        budget=budget,
    )
    return Forecast(
        day_end_usd=_money(day_end),
        month_end_usd=_money(month_end),
        crosses_at=crosses_at.replace(microsecond=0) if crosses_at else None,
    )


def _money(value: Decimal) -> Decimal:
    rounded = value.quantize(QUANTUM)
    return rounded.normalize() if rounded else Decimal(0)


# --- anomalies ---------------------------------------------------------------------------


def anomalies(
    pattern: SpendPattern,
    *,
    zone: ZoneInfo,
    today: date,
    spent_today: Decimal,
    history_days: int,
    factor: Decimal,
    prefix: str = "",
) -> list[Anomaly]:
    """The last hour and today so far, each against the same window on the trailing days."""
    now = pattern.now
    local = now.astimezone(zone)
    windows: list[tuple[Window, str, str, list[tuple[datetime, datetime]]]] = [
        (
            "last_hour",
            f"{prefix}hour-spike",
            local.strftime("%Y-%m-%dT%H"),
            [(now - k * DAY - HOUR, now - k * DAY) for k in range(TRAILING_DAYS + 1)],
        ),
        (
            "today",
            f"{prefix}spike",
            today.isoformat(),
            [
                (local_midnight(today - k * DAY, zone), now - k * DAY)
                for k in range(TRAILING_DAYS + 1)
            ],
        ),
    ]
    found = []
    for window, scope, period, spans in windows:
        (since, until), trailing = spans[0], spans[1:]
        current = pattern.per_key(since, until)
        spend = spent_today if window == "today" else sum(current.values(), Decimal(0))
        usual_by_key: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for lo, hi in trailing:
            for key, cost in pattern.per_key(lo, hi).items():
                usual_by_key[key] += cost / TRAILING_DAYS
        usual = sum(usual_by_key.values(), Decimal(0))
        week = pattern.total(since - TRAILING_DAYS * DAY, since)
        reference = max(usual, week / (TRAILING_DAYS * 24) * _hours(until - since))
        known = history_days >= MIN_HISTORY_DAYS and reference > 0
        is_spike = known and spend > factor * reference
        driver = _driver(current, usual_by_key) if is_spike and pattern.by_key else None
        found.append(
            Anomaly(
                window=window,
                scope=scope,
                period=period,
                since=since,
                until=until,
                spend_usd=_money(spend),
                usual_usd=_money(reference) if known else None,
                history_days=history_days,
                factor=factor,
                is_spike=is_spike,
                driver=driver,
            )
        )
    return found


def _driver(
    current: dict[tuple[str, str, str], Decimal],
    usual: dict[tuple[str, str, str], Decimal],
) -> Driver | None:
    rises = {key: cost - usual.get(key, Decimal(0)) for key, cost in current.items()}
    if not rises:
        return None
    key = max(rises, key=lambda k: (rises[k], k))
    agent, provider, model = key
    return Driver(agent, provider, model, _money(current[key]), _money(usual.get(key, Decimal(0))))
