"""Rollups of `ai_cost_tracking`: how they are folded, pruned, and read back exactly.

The tables (`salesctl.db.models.analytics`) hold additive sums (calls, priced, unpriced and
estimated calls, cost, its estimated part and savings as exact integer 1e-10 USD units, tokens,
latency sum and count):
  per UTC hour and per UTC day x agent x mode x provider x model x status x cache hit,
  per UTC hour (totals only: the time series in any time zone),
  per lead x hour x agent x provider x model, and per lead x day (top leads),
  per user x session x agent x hour (the per-rep view).
Nothing touches them on the write path; `fold()` adds detail rows just before a report.

Which rows are folded: every id <= the watermark (`ai_cost_rollup_state.folded_through_id`)
except the ids in `ai_cost_rollup_gaps`. Ids come from a sequence, and under concurrency they
commit out of order: when a fold sees ids 7 and 9 but not 8, 8 may belong to a transaction
still in flight. So a fold moves the watermark to the highest id it saw and records 8 as a
gap; every later fold looks the gaps up again, folds the rows that have appeared and splits the
ranges around them. A gap is dropped only once no transaction that could own it can still be
running: a fold at least `GAP_SETTLE` after the gap was seen stamps it with the snapshot's
xmax, and a later fold whose snapshot xmin has passed that stamp drops it (rolled back, or an
`ON CONFLICT DO NOTHING` duplicate). On SQLite writers are serialised, so a fold (which holds
the write lock) never sees an id that could still commit: there are no gaps to keep. Each
PostgreSQL fold pass runs in one REPEATABLE READ snapshot under an advisory lock, so every
table sees the same rows and concurrent folds never double count.

Reads are exact whatever the fold state: a report sums, in one SQL statement (one snapshot),
  day rollup rows for the whole UTC days inside its window (when its bucket cuts allow),
  hour rollup rows for the other whole hours,
  the detail rows above the watermark or in a gap (not folded yet), and
  the folded detail rows of the "ragged" hours its window or its day cuts split.
Folding first only makes that statement cheaper. Filters the rollups cannot answer (session,
user, or lead with agent/model breakdowns) read the detail table alone.

`prune()` deletes folded detail rows older than a cutoff (rounded down to the hour); the
rollups keep their sums, and cut points before the cutoff are rounded down to the hour. A lead
deleted from `leads` takes its lead rollup rows with it (a trigger, see the migration), as
`ON DELETE SET NULL` takes its lead_id off the detail rows. The rollups assume tracking rows are
not edited after they are written (only quality feedback is, which they do not hold).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from salesctl.reports.filters import CostFilters
from salesctl.timewindow import EPOCH

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select, Subquery, Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

STATE_NAME = "tracking"
FOLD_CHUNK = 500_000
"""Ids folded per transaction, so a first fold over millions of rows commits as it goes."""
GAP_SETTLE = timedelta(seconds=10)
"""How long after a gap is seen its xid horizon is taken (the owner has its xid by then)."""
FOLD_LOCK_KEY = 0x5A1E_C051
"""PostgreSQL advisory lock serialising folds and prunes."""
PRUNE_BATCH = 10_000
ANALYZE_AFTER = 50_000
"""Rows folded at once after which the rollups' planner statistics are refreshed."""
ID_BATCH = 1_000

Metric = Literal[
    "requests",
    "priced_requests",
    "unpriced_requests",
    "cost_usd",
    "estimated_requests",
    "estimated_cost_usd",
    "saved_usd",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "latency_ms_sum",
    "latency_count",
]
ALL_METRICS: tuple[Metric, ...] = get_args(Metric)
COUNT_METRICS: tuple[Metric, ...] = (
    "requests",
    "priced_requests",
    "unpriced_requests",
    "cost_usd",
    "estimated_requests",
    "estimated_cost_usd",
)
MONEY_METRICS = frozenset({"cost_usd", "estimated_cost_usd", "saved_usd"})
NULLABLE_DIMS = frozenset({"agent_mode", "user_id", "session_id"})
"""Detail columns that may be NULL; the rollups store them as ''."""
FILTER_COLUMNS = {
    "agents": "agent_type",
    "lead_id": "lead_id",
    "provider": "provider",
    "model": "model",
    "session_id": "session_id",
    "user_id": "user_id",
}


# --- sums ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sums:
    """The additive facts about a set of calls; every report figure derives from these."""

    requests: int = 0
    priced_requests: int = 0
    unpriced_requests: int = 0
    cost_usd: Decimal = Decimal(0)
    estimated_requests: int = 0
    """Calls whose cost is partly estimated (served without a usage report)."""
    estimated_cost_usd: Decimal = Decimal(0)
    """The part of `cost_usd` those calls make up."""
    saved_usd: Decimal = Decimal(0)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms_sum: int = 0
    latency_count: int = 0

    def add(self, other: Sums) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def known_cost(self) -> Decimal | None:
        """The priced calls' cost; None when every call that needed a price had none."""
        if self.unpriced_requests and not self.priced_requests:
            return None
        return self.cost_usd.normalize() if self.cost_usd else Decimal(0)

    @property
    def avg_latency_ms(self) -> float | None:
        return round(self.latency_ms_sum / self.latency_count, 1) if self.latency_count else None

    @property
    def avg_cost(self) -> Decimal | None:
        if not self.priced_requests:
            return None
        return (self.cost_usd / self.priced_requests).quantize(Decimal("1e-10")).normalize()

    @classmethod
    def from_row(cls, row: Any, metrics: Sequence[str]) -> Sums:
        sums = cls()
        for name in metrics:
            value = getattr(row, name)
            if value is None:
                continue
            setattr(sums, name, Decimal(value) if name in MONEY_METRICS else int(value))
        return sums


def total(items: Sequence[Sums]) -> Sums:
    result = Sums()
    for item in items:
        result.add(item)
    return result


# --- the rollup tables -----------------------------------------------------------------------


Grain = Literal["hour", "day"]
Scope = Literal["all", "leads", "sessions"]
"""Which detail rows a query (and a rollup) covers: every call, calls for a lead, chat calls."""


@dataclass(frozen=True)
class Rollup:
    """One aggregate table: its time grain, key dimensions, sums and the rows it covers."""

    table_name: str
    grain: Grain
    dims: tuple[str, ...]
    metrics: tuple[Metric, ...]
    scope: Scope = "all"

    @property
    def table(self) -> Table:
        from salesctl.db.base import Base
        from salesctl.db.models import analytics  # noqa: F401  (defines the rollup tables)

        return Base.metadata.tables[self.table_name]

    @property
    def time_key(self) -> str:
        return self.grain


def _needed_columns(filters: CostFilters, dims: Sequence[str], only: Any = None) -> set[str]:
    wanted = set(dims) | set(only or ())
    return wanted | {col for attr, col in FILTER_COLUMNS.items() if getattr(filters, attr)}


def pick_rollup(
    scope: Scope,
    grain: Grain,
    filters: CostFilters,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    only: Any = None,
) -> Rollup | None:
    """The smallest table of `grain` that covers `scope` and keeps every column needed."""
    needed = _needed_columns(filters, dims, only)
    fits = [
        r
        for r in ROLLUPS
        if r.scope == scope
        and r.grain == grain
        and needed <= set(r.dims)
        and set(metrics) <= set(r.metrics)
    ]
    return min(fits, key=lambda r: len(r.dims), default=None)


def scope_condition(scope: Scope, t: Table) -> ColumnElement[bool] | None:
    from sqlalchemy import or_

    if scope == "leads":
        return t.c.lead_id.is_not(None)
    if scope == "sessions":
        return or_(t.c.user_id.is_not(None), t.c.session_id.is_not(None))
    return None


AGENT_DIMS = ("agent_type", "agent_mode", "provider", "model", "status", "cache_hit")
HOURLY = Rollup("ai_cost_hourly", "hour", AGENT_DIMS, ALL_METRICS)
DAILY = Rollup("ai_cost_daily", "day", AGENT_DIMS, ALL_METRICS)
HOURLY_TOTALS = Rollup("ai_cost_hourly_totals", "hour", (), COUNT_METRICS)
LEAD_HOURLY = Rollup(
    "ai_cost_lead_hourly",
    "hour",
    ("lead_id", "agent_type", "provider", "model"),
    COUNT_METRICS,
    "leads",
)
LEAD_DAILY = Rollup("ai_cost_lead_daily", "day", ("lead_id",), COUNT_METRICS, "leads")
SESSION_HOURLY = Rollup(
    "ai_cost_session_hourly",
    "hour",
    ("user_id", "session_id", "agent_type"),
    COUNT_METRICS,
    "sessions",
)
ROLLUPS = (HOURLY, DAILY, HOURLY_TOTALS, LEAD_HOURLY, LEAD_DAILY, SESSION_HOURLY)
LEAD_TOTALS = "ai_cost_lead_totals"
FACETS = ("all", "agent_type", "provider", "model")
"""The lead totals' facets: every call of a lead, and its calls per value of one column."""


def can_serve(
    scope: Scope, filters: CostFilters, dims: Sequence[str], metrics: Sequence[Metric]
) -> bool:
    """Whether an hourly rollup holds every column a query needs (else: detail rows)."""
    return pick_rollup(scope, "hour", filters, dims, metrics) is not None


def _tracking() -> Table:
    from salesctl.db.models.tracking import AICostTracking

    return AICostTracking.__table__


def _state_table() -> Table:
    from salesctl.db.models.analytics import RollupState

    return RollupState.__table__


def _gap_table() -> Table:
    from salesctl.db.models.analytics import RollupGap

    return RollupGap.__table__


def hour_of(dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    """The UTC hour of a detail timestamp, as hours since the epoch."""
    from sqlalchemy import Integer, cast, extract, func, literal_column

    if dialect == "postgresql":
        seconds = extract("epoch", timestamp)
        return cast(func.floor(seconds / literal_column("3600")), Integer)
    return cast(func.strftime(literal_column("'%s'"), timestamp), Integer) // literal_column("3600")


def day_of(dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    """The UTC day of a detail timestamp, as days since the epoch."""
    from sqlalchemy import Integer, cast, extract, func, literal_column

    if dialect == "postgresql":
        seconds = extract("epoch", timestamp)
        return cast(func.floor(seconds / literal_column("86400")), Integer)
    return cast(func.strftime(literal_column("'%s'"), timestamp), Integer) // literal_column(
        "86400"
    )


def time_of(grain: Grain, dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    return hour_of(dialect, timestamp) if grain == "hour" else day_of(dialect, timestamp)


def money_units(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """SUM of a detail money column as integer 1e-10 USD units (how the rollups keep money)."""
    from sqlalchemy import BigInteger, cast, func, literal_column, type_coerce

    from salesctl.db.models.analytics import MONEY

    total: ColumnElement[Any] = func.coalesce(func.sum(column), literal_column("0"))
    if dialect == "postgresql":  # NUMERIC(20, 10) times 10**10 is an exact integer
        total = cast(total * literal_column("10000000000"), BigInteger)
    return type_coerce(total, MONEY)  # SQLite already stores these units


def detail_metric(name: Metric, t: Table, dialect: str) -> ColumnElement[Any]:
    """The SQL aggregate of one metric over detail rows, in the rollups' units."""
    from sqlalchemy import case, func, literal_column

    zero: ColumnElement[Any] = literal_column("0")
    if name == "requests":
        return func.count()
    if name == "priced_requests":
        return func.count(t.c.cost_usd)
    if name == "unpriced_requests":
        return func.coalesce(func.sum(case((t.c.unpriced, 1), else_=0)), zero)
    if name == "estimated_requests":
        return func.coalesce(func.sum(case((t.c.cost_estimated, 1), else_=0)), zero)
    if name == "estimated_cost_usd":
        return money_units(dialect, case((t.c.cost_estimated, t.c.cost_usd), else_=None))
    if name in MONEY_METRICS:
        return money_units(dialect, t.c[name])
    if name == "latency_ms_sum":
        return func.coalesce(func.sum(t.c.latency_ms), zero)
    if name == "latency_count":
        return func.count(t.c.latency_ms)
    return func.coalesce(func.sum(t.c[name]), zero)


def _key(t: Table, dim: str) -> ColumnElement[Any]:
    from sqlalchemy import func, literal_column

    column = t.c[dim]
    return func.coalesce(column, literal_column("''")) if dim in NULLABLE_DIMS else column


# --- folding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoldResult:
    """What one `fold()` did."""

    rows: int = 0
    watermark: int = 0
    gaps_open: int = 0
    skipped: bool = False
    seconds: float = 0.0


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def fold_statement(rollup: Rollup, dialect: str, rows: ColumnElement[bool]) -> Any:
    """INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE adding `rows` into `rollup`."""
    from sqlalchemy import select

    t = _tracking()
    when = time_of(rollup.grain, dialect, t.c.timestamp)
    keys = [when, *(_key(t, d) for d in rollup.dims)]
    scope = scope_condition(rollup.scope, t)
    conditions = [rows] + ([scope] if scope is not None else [])
    query = (
        select(
            when.label(rollup.time_key),
            *(k.label(d) for k, d in zip(keys[1:], rollup.dims, strict=True)),
            *(detail_metric(m, t, dialect).label(m) for m in rollup.metrics),
        )
        .where(*conditions)
        .group_by(*keys)
    )
    target = rollup.table
    columns = [rollup.time_key, *rollup.dims, *rollup.metrics]
    insert = _insert(dialect, target).from_select(columns, query, include_defaults=False)
    return insert.on_conflict_do_update(
        index_elements=[rollup.time_key, *rollup.dims],
        set_={m: target.c[m] + insert.excluded[m] for m in rollup.metrics},
    )


def lead_totals_fold_statement(dialect: str, rows: ColumnElement[bool]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding `rows` into the per-lead totals, every facet in
    one pass over the detail rows (first/last hours take the min/max, sums add)."""
    from sqlalchemy import case, column, func, literal_column, select, true, values

    from salesctl.db.models.analytics import LeadTotal

    t = _tracking()
    facets = (
        values(column("facet", LeadTotal.facet.type), name="facets")
        .data([(f,) for f in FACETS])
        .cte("facets")
    )
    value = case(
        (facets.c.facet == "agent_type", t.c.agent_type),
        (facets.c.facet == "provider", t.c.provider),
        (facets.c.facet == "model", t.c.model),
        else_=literal_column("''"),
    )
    query = (
        select(
            facets.c.facet,
            value.label("value"),
            t.c.lead_id,
            hour_of(dialect, func.min(t.c.timestamp)).label("first_hour"),
            hour_of(dialect, func.max(t.c.timestamp)).label("last_hour"),
            *(detail_metric(m, t, dialect).label(m) for m in COUNT_METRICS),
        )
        .select_from(t.join(facets, true()))
        .where(rows, t.c.lead_id.is_not(None))
        .group_by(facets.c.facet, value, t.c.lead_id)
    )
    target = LeadTotal.__table__
    names = ["facet", "value", "lead_id", "first_hour", "last_hour", *COUNT_METRICS]
    insert = _insert(dialect, target).from_select(names, query)
    least, greatest = (
        (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    )
    updates: dict[str, Any] = {m: target.c[m] + insert.excluded[m] for m in COUNT_METRICS}
    updates["first_hour"] = least(target.c.first_hour, insert.excluded.first_hour)
    updates["last_hour"] = greatest(target.c.last_hour, insert.excluded.last_hour)
    return insert.on_conflict_do_update(index_elements=["facet", "value", "lead_id"], set_=updates)


def fold_statements(dialect: str, rows: ColumnElement[bool]) -> list[Any]:
    """Every rollup's fold statement for the detail rows `rows`."""
    return [
        *(fold_statement(rollup, dialect, rows) for rollup in ROLLUPS),
        lead_totals_fold_statement(dialect, rows),
    ]


async def fold(
    engine: AsyncEngine,
    *,
    wait: bool = False,
    chunk: int = FOLD_CHUNK,
    gap_settle: timedelta = GAP_SETTLE,
) -> FoldResult:
    """Fold new detail rows into the rollups (own connection, commits per chunk).

    On PostgreSQL concurrent folds are serialised by an advisory lock; without `wait` a fold
    that finds the lock taken returns at once (reports stay exact, reading the tail instead).
    """
    import time

    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        result = await _fold_postgres(engine, wait=wait, chunk=chunk, gap_settle=gap_settle)
    else:
        result = await _fold_sqlite(engine, chunk=chunk)
    if result.rows >= ANALYZE_AFTER:
        await _analyze_rollups(engine)
    return FoldResult(
        rows=result.rows,
        watermark=result.watermark,
        gaps_open=result.gaps_open,
        skipped=result.skipped,
        seconds=time.perf_counter() - started,
    )


async def _analyze_rollups(engine: AsyncEngine) -> None:
    """Fresh planner statistics once a fold has grown the rollups noticeably; on PostgreSQL
    also a VACUUM, so the visibility map lets reads scan the rollups' indexes alone."""
    from sqlalchemy import text

    verb = "VACUUM (ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in (*(rollup.table_name for rollup in ROLLUPS), LEAD_TOTALS):
            await conn.execute(text(f"{verb} {name}"))


async def _fold_sqlite(engine: AsyncEngine, *, chunk: int) -> FoldResult:
    rows = 0
    async with engine.connect() as conn:
        while True:
            async with conn.begin():
                # The first statement writes, so the transaction holds SQLite's write lock
                # from here on and every read below sees one stable state.
                folded, watermark, done = await _fold_pass(conn, chunk=chunk)
            rows += folded
            if done:
                return FoldResult(rows=rows, watermark=watermark)


async def _fold_postgres(
    engine: AsyncEngine, *, wait: bool, chunk: int, gap_settle: timedelta
) -> FoldResult:
    from sqlalchemy import func, select

    rows = 0
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        lock = func.pg_advisory_lock if wait else func.pg_try_advisory_lock
        got = (await conn.execute(select(lock(FOLD_LOCK_KEY)))).scalar()
        await conn.commit()
        if got is False:
            return FoldResult(skipped=True)
        try:
            # One snapshot per pass: every rollup sees exactly the same detail rows.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            first = True
            while True:
                async with conn.begin():
                    if first:
                        rows += await _refold_gaps(conn, gap_settle=gap_settle)
                    folded, watermark, done = await _fold_pass(conn, chunk=chunk)
                    open_gaps = await _count_gaps(conn)
                first = False
                rows += folded
                if done:
                    return FoldResult(rows=rows, watermark=watermark, gaps_open=open_gaps)
        finally:
            if conn.in_transaction():
                await conn.rollback()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(select(func.pg_advisory_unlock(FOLD_LOCK_KEY)))
            await conn.commit()


async def _ensure_state(conn: AsyncConnection) -> int:
    """Create the state row if missing and return the watermark."""
    from sqlalchemy import select

    state = _state_table()
    dialect = conn.dialect.name
    await conn.execute(
        _insert(dialect, state)
        .values(name=STATE_NAME, folded_through_id=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    watermark = (
        await conn.execute(select(state.c.folded_through_id).where(state.c.name == STATE_NAME))
    ).scalar_one()
    return int(watermark)


async def _fold_pass(conn: AsyncConnection, *, chunk: int) -> tuple[int, int, bool]:
    """Fold up to `chunk` ids above the watermark: (rows folded, new watermark, done)."""
    from sqlalchemy import func, select, update

    t = _tracking()
    dialect = conn.dialect.name
    watermark = await _ensure_state(conn)
    max_id = (await conn.execute(select(func.max(t.c.id)))).scalar()
    if max_id is None or max_id <= watermark:
        return 0, watermark, True
    high = min(int(max_id), watermark + chunk)
    in_range = t.c.id > watermark, t.c.id <= high
    present = (await conn.execute(select(func.count()).where(*in_range))).scalar_one()
    from sqlalchemy import and_

    for statement in fold_statements(dialect, and_(*in_range)):
        await conn.execute(statement)
    if dialect == "postgresql" and present < high - watermark:
        await _record_gaps(conn, watermark, high)
    state = _state_table()
    await conn.execute(
        update(state)
        .where(state.c.name == STATE_NAME)
        .values(folded_through_id=high, folded_at=datetime.now(UTC))
    )
    return int(present), high, high >= max_id


async def _record_gaps(conn: AsyncConnection, watermark: int, high: int) -> None:
    """Store the ids in (watermark, high] that this snapshot does not show, as ranges."""
    from sqlalchemy import func, select

    t = _tracking()
    pairs = select(t.c.id.label("id"), func.lead(t.c.id).over(order_by=t.c.id).label("next_id"))
    ids = pairs.where(t.c.id > watermark, t.c.id <= high).subquery()
    inner = select(ids.c.id + 1, ids.c.next_id - 1).where(ids.c.next_id > ids.c.id + 1)
    ranges = [(int(lo), int(hi)) for lo, hi in (await conn.execute(inner)).all()]
    bounds = (
        await conn.execute(
            select(func.min(t.c.id), func.max(t.c.id)).where(t.c.id > watermark, t.c.id <= high)
        )
    ).one()
    if bounds[0] is None:
        ranges.append((watermark + 1, high))
    else:
        if bounds[0] > watermark + 1:
            ranges.append((watermark + 1, int(bounds[0]) - 1))
        if bounds[1] < high:
            ranges.append((int(bounds[1]) + 1, high))
    if ranges:
        now = datetime.now(UTC)
        await conn.execute(
            _gap_table().insert(), [{"lo": lo, "hi": hi, "found_at": now} for lo, hi in ranges]
        )


async def _refold_gaps(conn: AsyncConnection, *, gap_settle: timedelta) -> int:
    """Fold rows that appeared in gaps, split the ranges around them, drop settled gaps."""
    from sqlalchemy import and_, delete, select, text, update

    gaps = _gap_table()
    t = _tracking()
    open_gaps = (await conn.execute(select(gaps).order_by(gaps.c.lo))).all()
    if not open_gaps:
        return 0
    found = [
        int(i)
        for i in (
            await conn.execute(
                select(t.c.id)
                .join(gaps, and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi))
                .order_by(t.c.id)
            )
        ).scalars()
    ]
    for start in range(0, len(found), ID_BATCH):
        batch = found[start : start + ID_BATCH]
        for statement in fold_statements("postgresql", t.c.id.in_(batch)):
            await conn.execute(statement)
    if found:
        await _split_gaps(conn, open_gaps, found)
    snapshot = (
        await conn.execute(
            text(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
            )
        )
    ).one()
    xmin, xmax = int(snapshot[0]), int(snapshot[1])
    now = datetime.now(UTC)
    await conn.execute(
        delete(gaps).where(gaps.c.horizon_xid.is_not(None), gaps.c.horizon_xid < xmin)
    )
    await conn.execute(
        update(gaps)
        .where(gaps.c.horizon_xid.is_(None), gaps.c.found_at <= now - gap_settle)
        .values(horizon_xid=xmax)
    )
    return len(found)


async def _split_gaps(conn: AsyncConnection, open_gaps: Sequence[Any], found: list[int]) -> None:
    from sqlalchemy import delete

    gaps = _gap_table()
    found_set = set(found)
    for gap in open_gaps:
        inside = sorted(i for i in found_set if gap.lo <= i <= gap.hi)
        if not inside:
            continue
        pieces: list[tuple[int, int]] = []
        cursor = gap.lo
        for i in inside:
            if i > cursor:
                pieces.append((cursor, i - 1))
            cursor = i + 1
        if cursor <= gap.hi:
            pieces.append((cursor, gap.hi))
        await conn.execute(delete(gaps).where(gaps.c.lo == gap.lo))
        if pieces:
            await conn.execute(
                gaps.insert(),
                [
                    {"lo": lo, "hi": hi, "horizon_xid": gap.horizon_xid, "found_at": gap.found_at}
                    for lo, hi in pieces
                ],
            )


async def _count_gaps(conn: AsyncConnection) -> int:
    from sqlalchemy import func, select

    return int((await conn.execute(select(func.count()).select_from(_gap_table()))).scalar_one())


# --- pruning ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PruneResult:
    deleted: int
    cutoff: datetime
    kept_unfolded: int = 0


def floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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
    t = _tracking()
    state = _state_table()
    gaps = _gap_table()
    async with engine.begin() as conn:
        current = (
            await conn.execute(select(state.c.pruned_before).where(state.c.name == STATE_NAME))
        ).scalar()
        current = _aware(current)
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


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --- reading: the window plan ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoldState:
    watermark: int = 0
    pruned_before: datetime | None = None
    folded_at: datetime | None = None


async def read_state(session: AsyncSession) -> FoldState:
    from sqlalchemy import select

    state = _state_table()
    row = (
        await session.execute(
            select(state.c.folded_through_id, state.c.pruned_before, state.c.folded_at).where(
                state.c.name == STATE_NAME
            )
        )
    ).first()
    if row is None:
        return FoldState()
    return FoldState(int(row[0]), _aware(row[1]), _aware(row[2]))


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


# --- reading: the union of rollups and detail rows -------------------------------------------


Source = Literal["rollup", "detail"]


def _in_window(
    column: ColumnElement[Any], since: datetime | None, until: datetime | None
) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _filter_conditions(
    table: Table, filters: CostFilters, only: dict[str, Sequence[Any]] | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for attr, column in FILTER_COLUMNS.items():
        value = getattr(filters, attr)
        if not value:
            continue
        if attr == "agents":
            conditions.append(table.c[column].in_(value))
        else:
            conditions.append(table.c[column] == value)
    for column, values in (only or {}).items():
        conditions.append(table.c[column].in_(list(values)))
    return conditions


class _Unindexed:
    """A table's columns as `+column`: SQLite cannot answer a term on them from an index."""

    def __init__(self, table: Table) -> None:
        from sqlalchemy import literal_column

        self.c = _Columns(
            {
                column.name: literal_column(f"+{table.name}.{column.name}", type_=column.type)
                for column in table.columns
            }
        )


class _Columns(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _after_cut_terms(
    dialect: str, plan: WindowPlan, hour: ColumnElement[int], timestamp: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    """Conditions true for a row past the cut inside its (split) hour: one per cut offset.

    A zone's cuts sit at the same minute of their hour (:30 in Kolkata) except across some DST
    changes, so this stays one or two terms however many days the window spans.
    """
    from sqlalchemy import BigInteger, Integer, cast, extract, func, literal_column

    by_offset: dict[int, list[int]] = {}
    for split_hour, cut in plan.split_cuts:
        offset = int((cut - (EPOCH + timedelta(hours=split_hour))).total_seconds())
        by_offset.setdefault(offset, []).append(split_hour)
    if not by_offset:
        return []
    if dialect == "postgresql":
        seconds = cast(func.floor(extract("epoch", timestamp)), BigInteger)
    else:
        seconds = cast(func.strftime(literal_column("'%s'"), timestamp), Integer)
    into_hour = seconds % literal_column("3600")
    return [hour.in_(hours) & (into_hour >= offset) for offset, hours in sorted(by_offset.items())]


def _detail_branch(
    dialect: str,
    plan: WindowPlan,
    scope: Scope,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    conditions: list[Any],
    *,
    by_hour: bool,
    from_: Any = None,
    scope_columns: Any = None,
) -> Select[Any]:
    """Detail rows aggregated like rollup rows (NULL keys as '').

    `scope_columns` (an `_Unindexed`) states the scope and the group keys without offering an
    index (nor an index order) to SQLite's planner.
    """
    from sqlalchemy import case, literal_column, or_, select

    t = _tracking()
    keyed = scope_columns if scope_columns is not None else t
    groups = [_key(keyed, d) for d in dims]
    columns = [g.label(d) for g, d in zip(groups, dims, strict=True)]
    if by_hour:
        hour = hour_of(dialect, t.c.timestamp)
        splits = _after_cut_terms(dialect, plan, hour, t.c.timestamp)
        groups.append(hour)
        columns.append(hour.label("hour"))
        if splits:
            after = case((or_(*splits), 1), else_=0)
            groups.append(after)
            columns.append(after.label("after_cut"))
        else:
            columns.append(literal_column("0").label("after_cut"))
    in_scope = scope_condition(scope, scope_columns if scope_columns is not None else t)
    if in_scope is not None:
        conditions = [*conditions, in_scope]
    query = select(*columns, *(detail_metric(m, t, dialect).label(m) for m in metrics))
    query = query.where(*conditions)
    if from_ is not None:
        query = query.select_from(from_)
    return query.group_by(*groups) if groups else query


def _rollup_branch(
    rollup: Rollup,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    conditions: list[Any],
    *,
    by_hour: bool,
) -> Select[Any]:
    """A rollup's rows as they are (the outer query sums them once)."""
    from sqlalchemy import literal_column, select

    r = rollup.table
    columns = [r.c[d].label(d) for d in dims]
    if by_hour:
        hour = r.c.hour if rollup.grain == "hour" else r.c.day * literal_column("24")
        columns += [hour.label("hour"), literal_column("0").label("after_cut")]
    return select(*columns, *(r.c[m].label(m) for m in metrics)).where(*conditions)


def _hour_ranges(plan: WindowPlan, with_days: bool) -> list[tuple[int | None, int | None]]:
    """The hour ranges an hour rollup answers: the window's whole hours minus the whole days."""
    if not with_days:
        return [(plan.hour_lo, plan.hour_hi)]
    ranges: list[tuple[int | None, int | None]] = []
    if plan.day_lo is not None:
        ranges.append((plan.hour_lo, plan.day_lo * 24))
    if plan.day_hi is not None:
        ranges.append((plan.day_hi * 24, plan.hour_hi))
    return [(lo, hi) for lo, hi in ranges if lo is None or hi is None or lo < hi]


def union_query(
    dialect: str,
    plan: WindowPlan,
    filters: CostFilters,
    scope: Scope,
    dims: Sequence[str],
    *,
    source: Source,
    metrics: Sequence[Metric],
    by_hour: bool = False,
    only: dict[str, Sequence[Any]] | None = None,
) -> Subquery:
    """Per-group sums (dims [+ hour, after_cut] + metrics) of the calls in `plan`'s window.

    `source="rollup"`: day and hour rollup rows, plus unfolded and ragged detail rows, in one
    statement. `source="detail"` (or no rollup keeps the columns needed): detail rows alone.
    """
    from sqlalchemy import and_, func, not_, or_, select, union_all

    t = _tracking()
    detail_filters = _filter_conditions(t, filters, only)
    window = _in_window(t.c.timestamp, plan.since, plan.until)
    hourly = pick_rollup(scope, "hour", filters, dims, metrics, only)
    if source == "detail" or hourly is None:
        return _detail_branch(
            dialect, plan, scope, dims, metrics, [*window, *detail_filters], by_hour=by_hour
        ).subquery("facts")

    daily = pick_rollup(scope, "day", filters, dims, metrics, only) if plan.use_days else None
    branches: list[Select[Any]] = []
    if daily is not None:
        d = daily.table
        days = []
        if plan.day_lo is not None:
            days.append(d.c.day >= plan.day_lo)
        if plan.day_hi is not None:
            days.append(d.c.day < plan.day_hi)
        conditions = [*days, *_filter_conditions(d, filters, only)]
        branches.append(_rollup_branch(daily, dims, metrics, conditions, by_hour=by_hour))
    h = hourly.table
    spans = []
    unbounded = False
    for lo, hi in _hour_ranges(plan, daily is not None):
        bounds = ([h.c.hour >= lo] if lo is not None else []) + (
            [h.c.hour < hi] if hi is not None else []
        )
        if bounds:
            spans.append(and_(*bounds))
        else:
            unbounded = True
    if spans or unbounded:
        hours = [] if unbounded else [or_(*spans)]
        if plan.ragged_hours:
            hours.append(h.c.hour.not_in(plan.ragged_hours))
        conditions = [*hours, *_filter_conditions(h, filters, only)]
        branches.append(_rollup_branch(hourly, dims, metrics, conditions, by_hour=by_hour))

    state = _state_table()
    gaps = _gap_table()
    watermark = func.coalesce(
        select(state.c.folded_through_id).where(state.c.name == STATE_NAME).scalar_subquery(), 0
    )
    # Not folded yet: above the watermark (the literal lets the planner use the primary key;
    # the subquery keeps the statement exact if a fold committed since it was read).
    # SQLite picks indexes by rule, not by cost: it would answer these branches from whichever
    # index a filter names (every lead row via idx_lead_id, say). Unindexed columns keep the
    # tail on the rowid range and the ragged hours on idx_timestamp.
    plain = _Unindexed(t) if dialect == "sqlite" else None
    columns = plain if plain is not None else t
    unindexed_filters = _filter_conditions(columns, filters, only)  # type: ignore[arg-type]  # .c only
    tail = [
        t.c.id > plan.state.watermark,
        t.c.id > watermark,
        *_in_window(columns.c.timestamp, plan.since, plan.until),
        *unindexed_filters,
    ]
    branches.append(
        _detail_branch(
            dialect, plan, scope, dims, metrics, tail, by_hour=by_hour, scope_columns=plain
        )
    )
    in_gap = and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi)
    if dialect == "postgresql":
        # Driven from the (small) gap table into the primary key, never a scan of the window.
        gap_rows = [t.c.id <= watermark, *window, *detail_filters]
        branches.append(
            _detail_branch(
                dialect,
                plan,
                scope,
                dims,
                metrics,
                gap_rows,
                by_hour=by_hour,
                from_=gaps.join(t, in_gap),
            )
        )
    if plan.ragged:
        from sqlalchemy import exists

        # Ragged ranges as a VALUES list joined on the timestamp index: one range scan each,
        # rather than every candidate row tested against an OR of all the ranges.
        ranges = _ragged_values(plan)
        in_range = and_(t.c.timestamp >= ranges.c.lo, t.c.timestamp < ranges.c.hi)
        folded = [columns.c.id <= watermark]
        if dialect == "postgresql":
            folded.append(not_(exists().where(in_gap)))
        ragged = [*folded, *unindexed_filters]
        branches.append(
            _detail_branch(
                dialect,
                plan,
                scope,
                dims,
                metrics,
                ragged,
                by_hour=by_hour,
                from_=ranges.join(t, in_range),
                scope_columns=plain,
            )
        )
    return union_all(*branches).subquery("facts")


def _ragged_values(plan: WindowPlan) -> Any:
    from sqlalchemy import column, values

    from salesctl.db.base import UTCDateTime

    far_past, far_future = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)
    rows = [(lo or far_past, hi or far_future) for lo, hi in plan.ragged]
    ranges = values(column("lo", UTCDateTime()), column("hi", UTCDateTime()), name="ragged")
    return ranges.data(rows).cte("ragged")  # WITH ragged(lo, hi) AS (VALUES …): both dialects


def outer_sums(facts: Subquery, metrics: Sequence[Metric]) -> list[ColumnElement[Any]]:
    """SUM of each metric of a union; money comes back as Decimal from its integer units."""
    from sqlalchemy import func, type_coerce

    from salesctl.db.models.analytics import MONEY

    out: list[ColumnElement[Any]] = []
    for m in metrics:
        summed = func.sum(facts.c[m])
        out.append((type_coerce(summed, MONEY) if m in MONEY_METRICS else summed).label(m))
    return out


async def aggregate(
    session: AsyncSession,
    plan: WindowPlan,
    filters: CostFilters,
    scope: Scope,
    dims: Sequence[str],
    *,
    source: Source,
    metrics: Sequence[Metric],
    by_hour: bool = False,
    only: dict[str, Sequence[Any]] | None = None,
) -> list[tuple[tuple[Any, ...], Sums]]:
    """Sums per group: `((dim values…[, hour, after_cut]), Sums)`; '' keys come back as None."""
    from sqlalchemy import select

    dialect = session.get_bind().dialect.name
    facts = union_query(
        dialect,
        plan,
        filters,
        scope,
        dims,
        source=source,
        by_hour=by_hour,
        only=only,
        metrics=metrics,
    )
    keys = [facts.c[d] for d in dims] + ([facts.c.hour, facts.c.after_cut] if by_hour else [])
    query = select(*keys, *outer_sums(facts, metrics))
    if keys:
        query = query.group_by(*keys)
    result = []
    for row in (await session.execute(query)).all():
        key = tuple(_unkey(d, row[i]) for i, d in enumerate(dims))
        if by_hour:
            key += (int(row.hour), int(row.after_cut))
        result.append((key, Sums.from_row(row, metrics)))
    return result


def _unkey(dim: str, value: Any) -> Any:
    if dim in NULLABLE_DIMS and value == "":
        return None
    if dim == "cache_hit":
        return bool(value)
    return value
