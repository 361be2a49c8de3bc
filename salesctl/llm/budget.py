"""Hard budget limits, reserved in the database before a call reaches a provider, so they
hold across processes and machines.

Each call reserves the most it can cost (its prompt's tokens, estimated high, plus
`max_tokens` of output, at the model's price) against every limit that applies to it, and
settles at what it was tracked to cost. The reservation is one statement on the database
(`budget_ledger`, one row per limit and period): a conditional
`UPDATE … SET reserved_usd = reserved_usd + :most WHERE spent_usd + reserved_usd + :most <=
:limit`, with the call's hold row (`budget_holds`) inserted by the same statement on
PostgreSQL and under the same write lock on SQLite. Two processes can therefore never both
take the last room under a limit. The settlement moves the call from reserved to spent in the
transaction that inserts its tracking row (the tracking writer runs it), and since a call can
cost no more than its reservation, settling only ever makes room. Calls made without a hard
limit touch none of this.

What a ledger row counts as spent starts from the tracking table (read through the rollups
when the period's row is made) and is raised to it again (never lowered) when a reservation
comes within `NEAR_FACTOR` maximum costs of a limit, when the figure is older than
`STALE_AFTER_S`, and when the local day changes. That counts the calls tracked without this
limit (a process without the setting, a replayed spool). A re-read reads the rows and the
table in one snapshot and adds only the difference, so nothing is counted twice (see
`BudgetGuard._sync_rows`).

A call that fits under a limit beside what is spent but not beside the holds of calls in
flight waits for them to settle; a call that cannot fit beside what is spent alone is refused.
The hold of a process that died is released after `HOLD_TTL_S`. A model without a known price
cannot be bounded: it reserves nothing, and is refused once the spend has reached the limit.
Without the database, no call is made under a hard limit (`DatabaseError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from salesctl.errors import BudgetExceeded, DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

    from salesctl.config import BudgetSettings
    from salesctl.llm.pricing import PriceBook
    from salesctl.llm.tracking import TrackingWriter
    from salesctl.llm.types import ProviderRequest

log = logging.getLogger("salesctl.budget")

BYTES_PER_TOKEN = 3
"""Prompt bytes (UTF-8) per token assumed: English runs at about four characters a token and
most other scripts at fewer tokens per byte, so this errs high."""
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 16
NEAR_FACTOR = 4
"""Within this many maximum call costs of a limit, every admission re-reads the spend."""
STALE_AFTER_S = 30.0
"""Far from every limit, the spend figure is re-read when it is older than this."""
WAIT_LIMIT_S = 300.0
"""A call waiting for reservations in flight to settle is refused after this long."""
HOLD_TTL_S = 900.0
"""A hold not settled after this long belongs to a process that died: it is released."""
POLL_S = (0.05, 0.25)
"""First and longest wait between tries while calls in flight hold the room."""
KEEP_PERIODS = timedelta(days=62)
"""Ledger rows untouched for longer than this (periods long over) are deleted on a re-read."""
RESERVE_ATTEMPTS = 3
"""A reservation that hits a deadlock or a serialization failure is tried again."""

ScopeKind = Literal["daily", "monthly", "agent_daily"]


def has_hard_limits(budget: BudgetSettings) -> bool:
    """Whether any hard limit is set (without one the gateway has no guard at all)."""
    return (
        budget.hard_daily_usd is not None
        or budget.hard_monthly_usd is not None
        or bool(budget.hard_per_agent_daily_usd)
    )


# --- what a call can cost --------------------------------------------------------------------


def estimate_input_tokens(request: ProviderRequest) -> int:
    """An upper estimate of the prompt's tokens, from its size: every part the provider is
    sent (system prompt, turns, tool calls, tool and answer schemas) at `BYTES_PER_TOKEN`."""
    size = len(request.system.encode()) if request.system else 0
    for message in request.messages:
        size += len(message.content.encode())
        for call in message.tool_calls:
            size += len(call.name) + len(json.dumps(call.arguments))
    for tool in request.tools:
        size += len(tool.name) + len(tool.description.encode()) + len(json.dumps(tool.parameters))
    if request.response_schema is not None:
        size += len(json.dumps(request.response_schema))
    overhead = REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * (len(request.messages) + 1)
    return math.ceil(size / BYTES_PER_TOKEN) + overhead


def max_cost(
    prices: PriceBook, provider: str, model: str, request: ProviderRequest, at: datetime
) -> Decimal | None:
    """The most this request can cost on `provider:model` (None when its price is unknown).

    With explicit prompt caching the prompt may be written to the cache, which some providers
    charge above the input price: the higher of the two is taken.
    """
    from salesctl.llm.types import Usage

    tokens = estimate_input_tokens(request)
    price = prices.price_of(
        Usage(input_tokens=tokens, output_tokens=request.max_tokens), provider, model, at
    )
    if price.cost_usd is None or not request.cache_prompt:
        return price.cost_usd
    written = prices.price_of(
        Usage(cache_write_tokens=tokens, output_tokens=request.max_tokens), provider, model, at
    )
    return max(price.cost_usd, written.cost_usd or Decimal(0))


# --- limits and their periods ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    """One hard limit: daily, monthly, or one agent's daily."""

    kind: ScopeKind
    usd: Decimal
    agent: str | None = None

    @property
    def scope(self) -> str:
        return f"agent {self.agent!r} daily" if self.kind == "agent_daily" else self.kind

    @property
    def setting(self) -> str:
        if self.kind == "agent_daily":
            return f"budget.hard_per_agent_daily_usd.{self.agent}"
        return f"budget.hard_{self.kind}_usd"

    def key(self, day: date, timezone: str) -> str:
        """The ledger row of this limit's period containing the local `day`."""
        if self.kind == "monthly":
            return f"monthly:{timezone}:{day:%Y-%m}"
        if self.kind == "daily":
            return f"daily:{timezone}:{day.isoformat()}"
        return f"agent:{self.agent}:{timezone}:{day.isoformat()}"


@dataclass(slots=True, eq=False)
class Reservation:
    """A call's maximum cost, held against its limits' ledger rows until the call settles."""

    agent: str
    amount: Decimal
    hold_id: str | None
    """The `budget_holds` id (None: nothing held, the call's price is unknown)."""
    keys: tuple[str, ...]
    open: bool = True


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one finished call does to the ledger, in its tracking row's transaction."""

    hold_id: str | None
    keys: tuple[str, ...]
    cost: Decimal


@dataclass(frozen=True, slots=True)
class LedgerRow:
    spent: Decimal
    reserved: Decimal


@dataclass(frozen=True, slots=True)
class SpendView:
    """What the ledger counts against each limit of the current period."""

    day: date | None
    daily_usd: Decimal
    monthly_usd: Decimal
    by_agent_usd: dict[str, Decimal]
    reserved_usd: Decimal


@dataclass(slots=True)
class _Figures:
    """The spend read from the tracking table for one re-read."""

    daily: Decimal = Decimal(0)
    monthly: Decimal = Decimal(0)
    by_agent: dict[str, Decimal] = field(default_factory=dict)


# --- the guard -------------------------------------------------------------------------------


class BudgetGuard:
    """Reservations against the hard limits, in the database (see the module docstring)."""

    def __init__(
        self,
        budget: BudgetSettings,
        *,
        timezone: str,
        engine: Callable[[], AsyncEngine],
        writer: Callable[[], TrackingWriter] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from salesctl.reports.filters import load_zone

        self.daily = budget.hard_daily_usd
        self.monthly = budget.hard_monthly_usd
        self.per_agent = dict(budget.hard_per_agent_daily_usd)
        self.timezone = timezone
        self._zone = load_zone(timezone)
        self._engine = engine
        self._writer = writer
        self._warn = warn or log.warning
        self._day: date | None = None
        self._synced_at = -math.inf
        self._folded = False
        self._room: dict[str, Decimal] = {}
        """Room left under each ledger row after this process's last reservation on it."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._syncing: asyncio.Task[None] | None = None
        self._single_writer: asyncio.Lock | None = None

    # --- admission --------------------------------------------------------------------------

    def limits_for(self, agent: str) -> list[Limit]:
        limits = []
        if self.daily is not None:
            limits.append(Limit("daily", self.daily))
        if self.monthly is not None:
            limits.append(Limit("monthly", self.monthly))
        if agent in self.per_agent:
            limits.append(Limit("agent_daily", self.per_agent[agent], agent))
        return limits

    async def reserve(
        self, agent: str, amount: Decimal | None, *, target: str
    ) -> Reservation | None:
        """Hold `amount` (the call's maximum cost; None: unknown) against `agent`'s limits in
        the database.

        Returns None when no limit applies to the agent. Waits while the call fits beside what
        is spent but not beside calls in flight; raises `BudgetExceeded` when it cannot fit,
        `DatabaseError` when the database cannot be asked.
        """
        limits = self.limits_for(agent)
        if not limits:
            return None
        self._adopt_loop()
        today = self._today()
        keyed = [(limit, limit.key(today, self.timezone)) for limit in limits]
        keys = tuple(key for _, key in keyed)
        if self._needs_sync(today, keys, amount):
            await self.refresh()
        deadline = time.monotonic() + WAIT_LIMIT_S
        pause = POLL_S[0]
        nudged = False
        while True:
            if amount is None:
                found = await self._guarded(self._read, keys)
                if len(found) < len(keys):
                    await self.refresh(force=True)
                    continue
                for limit, key in keyed:
                    if found[key].spent >= limit.usd:
                        raise self._refusal(limit, found[key].spent, None, target)
                return Reservation(agent, Decimal(0), None, keys)
            hold = Reservation(agent, amount, str(uuid.uuid4()), keys)
            expires = datetime.now(UTC) + timedelta(seconds=HOLD_TTL_S)
            fitted = await self._guarded(
                self._try_reserve, hold, [(key, limit.usd) for limit, key in keyed], expires
            )
            if fitted is not None:
                for limit, key in keyed:
                    row = fitted[key]
                    self._room[key] = limit.usd - row.spent - row.reserved
                return hold
            found = await self._guarded(self._read, keys)
            if len(found) < len(keys):
                await self.refresh(force=True)  # a new period (or rows someone deleted)
                continue
            for limit, key in keyed:
                if found[key].spent + amount > limit.usd:
                    raise self._refusal(limit, found[key].spent, amount, target)
            if not nudged and self._writer is not None:
                nudged = True
                await self._writer().flush()  # this process's finished calls settle now
                continue
            nudged = False
            if await self._guarded(_expire_holds, datetime.now(UTC)):
                continue  # a dead process's holds were released: try again at once
            if time.monotonic() >= deadline:
                limit, key = next(
                    ((lim, k) for lim, k in keyed if _crowded(found[k], amount, lim)), keyed[0]
                )
                raise self._refusal(
                    limit,
                    found[key].spent,
                    amount,
                    target,
                    note=f" after waiting {WAIT_LIMIT_S:.0f} s for calls in flight "
                    f"({_usd(found[key].reserved)})",
                )
            await self._wait_for_change(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, POLL_S[1])

    def settle(
        self, hold: Reservation, request_id: str, cost: Decimal | None, at: datetime
    ) -> None:
        """The call is over: release its hold and count what it cost, in the transaction that
        inserts its tracking row (`request_id`, submitted to the tracking writer right after).

        `at` is when the call was made; its cost counts in the periods it was reserved in.
        """
        if not hold.open:
            return
        hold.open = False
        if hold.hold_id is None and not cost:
            return
        settlement = Settlement(hold.hold_id, hold.keys, cost or Decimal(0))
        if self._writer is not None:
            self._writer().attach(request_id, self._settle_batch, settlement)
        else:
            task = asyncio.get_running_loop().create_task(self._settle_alone(settlement))
            task.add_done_callback(_retrieve)
        self._signal()

    async def _settle_alone(self, settlement: Settlement) -> None:
        engine = self._engine()
        async with _writing(engine).begin() as conn:
            await self._settle_batch(conn, [settlement])

    async def _settle_batch(self, conn: AsyncConnection, items: list[Settlement]) -> None:
        await settle_holds(conn, items)
        self._signal()

    async def view(self) -> SpendView:
        """What the ledger counts now against each limit of the current period."""
        self._adopt_loop()
        today = self._today()
        limits = {limit.key(today, self.timezone): limit for limit in self._all_limits()}
        found = await self._guarded(self._read, tuple(limits))
        daily = monthly = reserved = Decimal(0)
        by_agent: dict[str, Decimal] = {}
        for key, row in found.items():
            limit = limits[key]
            reserved = max(reserved, row.reserved)
            if limit.kind == "daily":
                daily = row.spent
            elif limit.kind == "monthly":
                monthly = row.spent
            else:
                by_agent[limit.agent or ""] = row.spent
        return SpendView(today, daily, monthly, by_agent, reserved)

    # --- talking to the ledger ----------------------------------------------------------------

    async def _guarded(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Run a ledger operation; a database failure becomes one `DatabaseError` line."""
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        from salesctl.db.session import describe_db_error

        for attempt in range(1, RESERVE_ATTEMPTS + 1):
            try:
                return await operation(self._engine(), *args)
            except (SQLAlchemyError, OSError) as exc:
                if (
                    attempt < RESERVE_ATTEMPTS
                    and isinstance(exc, DBAPIError)
                    and _is_transient(exc)
                ):
                    continue
                raise DatabaseError(
                    f"cannot check the hard budget limits in the database "
                    f"({describe_db_error(exc)}); no call is made without that"
                ) from exc
        raise AssertionError("unreachable")

    async def _try_reserve(
        self,
        engine: AsyncEngine,
        hold: Reservation,
        limits: list[tuple[str, Decimal]],
        expires: datetime,
    ) -> dict[str, LedgerRow] | None:
        if engine.dialect.name == "postgresql":
            return await try_reserve(engine, hold.hold_id or "", hold.amount, limits, expires)
        # SQLite has one writer at a time: queue this process's reservations here rather
        # than in SQLite's busy handler, which sleeps up to 100 ms between tries.
        if self._single_writer is None:
            self._single_writer = asyncio.Lock()
        async with self._single_writer:
            return await try_reserve(engine, hold.hold_id or "", hold.amount, limits, expires)

    async def _read(self, engine: AsyncEngine, keys: Sequence[str]) -> dict[str, LedgerRow]:
        return await read_ledger(engine, keys)

    # --- re-reading the spend -------------------------------------------------------------

    def _all_limits(self) -> list[Limit]:
        limits = self.limits_for("")
        limits += [Limit("agent_daily", usd, agent) for agent, usd in self.per_agent.items()]
        return limits

    def _needs_sync(self, today: date, keys: Sequence[str], amount: Decimal | None) -> bool:
        if self._day != today or time.monotonic() - self._synced_at > STALE_AFTER_S:
            return True
        margin = NEAR_FACTOR * (amount or Decimal(0))
        return any(key not in self._room or self._room[key] < margin for key in keys)

    async def refresh(self, *, force: bool = False) -> None:
        """Raise each limit's ledger row for the current period to what the tracking table
        says was spent (one re-read at a time; callers share it)."""
        self._adopt_loop()
        syncing = self._syncing
        if syncing is None or syncing.done():
            syncing = self._syncing = asyncio.get_running_loop().create_task(self._sync())
            syncing.add_done_callback(_retrieve)
        await asyncio.shield(syncing)

    async def _sync(self) -> None:
        today = self._today()
        limits = self._all_limits()
        if not self._folded:
            from salesctl.reports.rollups import fold

            await self._guarded(fold)  # later reads then scan only what was tracked since
            self._folded = True
        rows = await self._guarded(self._sync_rows, today, limits)
        self._day = today
        self._synced_at = time.monotonic()
        for limit in limits:
            key = limit.key(today, self.timezone)
            row = rows[key]
            self._room[key] = limit.usd - row.spent - row.reserved
        self._signal()

    async def _sync_rows(
        self, engine: AsyncEngine, today: date, limits: list[Limit]
    ) -> dict[str, LedgerRow]:
        """Bring each row up to the tracking table without holding its lock while reading:
        the rows and the table are read in one snapshot, and a row is raised by what the
        table shows beyond it there, only if no settlement changed it since (the next re-read
        catches up otherwise). A settlement commits with its tracking row, so in any snapshot
        a row never counts a call the table does not show: nothing is counted twice."""
        from salesctl.db.session import session_factory

        keys = {limit.key(today, self.timezone): limit for limit in limits}
        snapshot = engine
        if engine.dialect.name == "postgresql":
            snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
        async with session_factory(snapshot)() as session, session.begin():
            await session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            before = await _read_rows(session, sorted(keys))
            figures = await self._spend(session, today)
        table = {key: _spent_for(limit, figures) for key, limit in keys.items()}
        now = datetime.now(UTC)
        async with session_factory(_writing(engine))() as session, session.begin():
            await _create_rows(session, {k: v for k, v in table.items() if k not in before}, now)
            await _catch_up(session, before, table, now)
            await _expire_holds_in(session, now)
            await _forget_old_periods(session, now - KEEP_PERIODS)
            return await _read_rows(session, sorted(keys))

    async def _spend(self, session: AsyncSession, today: date) -> _Figures:
        """Today's and this month's spend in the tracking table (by agent where a per-agent
        limit needs it)."""
        by_agent = await self._period_spend(session, today, today + timedelta(days=1))
        figures = _Figures(by_agent=by_agent if self.per_agent else {})
        figures.daily = figures.monthly = sum(by_agent.values(), Decimal(0))
        if self.monthly is not None and today.day > 1:
            earlier = await self._period_spend(session, today.replace(day=1), today, totals=True)
            figures.monthly += sum(earlier.values(), Decimal(0))
        return figures

    async def _period_spend(
        self, session: AsyncSession, first: date, stop: date, *, totals: bool = False
    ) -> dict[str, Decimal]:
        """Cost per agent of the calls on local days [first, stop) (in total, under '', when
        no per-agent limit needs the split or `totals`)."""
        from salesctl.reports.filters import CostFilters, local_midnight
        from salesctl.reports.rollups import aggregate, plan_window, read_state

        since, until = local_midnight(first, self._zone), local_midnight(stop, self._zone)
        dims = ("agent_type",) if self.per_agent and not totals else ()
        groups = await aggregate(
            session,
            plan_window(since, until, await read_state(session)),
            CostFilters(since=since, until=until, timezone=self.timezone),
            "all",
            dims,
            source="rollup",
            metrics=("cost_usd",),
        )
        return {(key[0] if dims else ""): sums.cost_usd for key, sums in groups}

    # --- refusing ---------------------------------------------------------------------------

    def _today(self) -> date:
        return datetime.now(UTC).astimezone(self._zone).date()

    def _refusal(
        self,
        limit: Limit,
        spent: Decimal,
        amount: Decimal | None,
        target: str,
        *,
        note: str = "",
    ) -> BudgetExceeded:
        period = "this month" if limit.kind == "monthly" else "today"
        if amount is None:
            call = f"{target} has no known price, so it runs only below the limit"
        else:
            call = f"this call to {target} may cost up to {_usd(amount)}"
        error = BudgetExceeded(
            f"hard {limit.scope} budget of {_usd(limit.usd)} would be exceeded: "
            f"{_usd(spent)} spent {period} ({self.timezone}), {call}; "
            f"refused{note} before calling the provider (setting {limit.setting})"
        )
        error.scope = limit.scope
        error.limit_usd = limit.usd
        error.spent_usd = spent
        error.max_cost_usd = amount
        return error

    # --- waiting for calls in flight --------------------------------------------------------

    def _adopt_loop(self) -> None:
        """Waiters and re-reads belong to one event loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._changed = None
            self._syncing = None
            self._single_writer = None

    def _signal(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_for_change(self, seconds: float) -> None:
        """Until a call of this process settles, or `seconds` pass (other processes' calls
        settle without telling us)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), seconds)


# --- the ledger's statements -------------------------------------------------------------------


def _writing(engine: AsyncEngine) -> AsyncEngine:
    """SQLite: take the write lock at BEGIN (every ledger transaction writes)."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def _units(value: Decimal) -> int:
    from salesctl.db.models.analytics import UNITS_PER_USD

    return int((value * UNITS_PER_USD).to_integral_value(rounding="ROUND_CEILING"))


RESERVE_POSTGRES = """
WITH wanted AS (
    SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:limits AS bigint[])) AS w(key, ceiling)
), reserved AS (
    UPDATE budget_ledger AS l
    SET reserved_usd = l.reserved_usd + :amount, updated_at = :now
    FROM wanted AS w
    WHERE l.key = w.key AND l.spent_usd + l.reserved_usd + :amount <= w.ceiling
    RETURNING l.key, l.spent_usd, l.reserved_usd
), held AS (
    INSERT INTO budget_holds (hold_id, key, amount_usd, expires_at)
    SELECT :hold, key, :amount, :expires FROM reserved
    WHERE (SELECT count(*) FROM reserved) = :count
)
SELECT key, spent_usd, reserved_usd FROM reserved
"""
"""One statement: the room is taken on every row or on none (a partial take is undone)."""


async def try_reserve(
    engine: AsyncEngine,
    hold_id: str,
    amount: Decimal,
    limits: list[tuple[str, Decimal]],
    expires: datetime,
) -> dict[str, LedgerRow] | None:
    """Hold `amount` on each ledger row (key, limit) if it fits under every limit; the rows
    as they are after, or None (nothing held) when it does not fit or a row is missing."""
    from sqlalchemy import bindparam, text

    from salesctl.db.base import UTCDateTime

    now = datetime.now(UTC)
    units = _units(amount)
    if engine.dialect.name == "postgresql":
        statement = text(RESERVE_POSTGRES).bindparams(
            bindparam("now", type_=UTCDateTime()), bindparam("expires", type_=UTCDateTime())
        )
        async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            result = await conn.execute(
                statement,
                {
                    "keys": [key for key, _ in limits],
                    "limits": [_units_floor(limit) for _, limit in limits],
                    "amount": units,
                    "now": now,
                    "hold": hold_id,
                    "expires": expires,
                    "count": len(limits),
                },
            )
            found = {row.key: _from_units(row.spent_usd, row.reserved_usd) for row in result}
            if 0 < len(found) < len(limits):
                # Some rows had room and one did not: give the room back.
                await conn.execute(
                    text(
                        "UPDATE budget_ledger SET reserved_usd = reserved_usd - :amount "
                        "WHERE key = ANY(CAST(:keys AS text[]))"
                    ),
                    {"amount": units, "keys": list(found)},
                )
                return None
            return found or None
    return await _try_reserve_sqlite(engine, hold_id, amount, limits, expires, now)


async def _try_reserve_sqlite(
    engine: AsyncEngine,
    hold_id: str,
    amount: Decimal,
    limits: list[tuple[str, Decimal]],
    expires: datetime,
    now: datetime,
) -> dict[str, LedgerRow] | None:
    """The same under SQLite's write lock (BEGIN IMMEDIATE): every row or none."""
    from sqlalchemy import BigInteger, insert, literal, update

    from salesctl.db.models.budget import BudgetHold, BudgetLedger

    ledger = BudgetLedger.__table__
    units = literal(_units(amount), BigInteger())
    found: dict[str, LedgerRow] = {}
    async with _writing(engine).connect() as conn:
        transaction = await conn.begin()
        for key, limit in sorted(limits):
            ceiling = literal(_units_floor(limit), BigInteger())
            taken = update(ledger).where(
                ledger.c.key == key,
                ledger.c.spent_usd + ledger.c.reserved_usd + units <= ceiling,
            )
            row = (
                await conn.execute(
                    taken.values(
                        reserved_usd=ledger.c.reserved_usd + units, updated_at=now
                    ).returning(ledger.c.spent_usd, ledger.c.reserved_usd)
                )
            ).first()
            if row is None:
                await transaction.rollback()
                return None
            found[key] = LedgerRow(row[0], row[1])
        await conn.execute(
            insert(BudgetHold.__table__),
            [
                {"hold_id": hold_id, "key": key, "amount_usd": amount, "expires_at": expires}
                for key in found
            ],
        )
        await transaction.commit()
    return found


async def read_ledger(engine: AsyncEngine, keys: Sequence[str]) -> dict[str, LedgerRow]:
    """The ledger rows that exist among `keys`."""
    async with engine.connect() as conn:
        return await _read_rows(conn, keys)


async def _read_rows(conn: Any, keys: Sequence[str]) -> dict[str, LedgerRow]:
    from sqlalchemy import select

    from salesctl.db.models.budget import BudgetLedger

    ledger = BudgetLedger.__table__
    query = select(ledger.c.key, ledger.c.spent_usd, ledger.c.reserved_usd).where(
        ledger.c.key.in_(list(keys))
    )
    return {key: LedgerRow(spent, reserved) for key, spent, reserved in await conn.execute(query)}


async def settle_holds(conn: AsyncConnection | AsyncSession, items: Sequence[Settlement]) -> None:
    """Release the holds of finished calls and count what they cost, on `conn` (the
    transaction that inserts their tracking rows). A hold that expired meanwhile releases
    nothing, but its call's cost still counts."""
    from sqlalchemy import bindparam, delete, update

    from salesctl.db.models.analytics import MONEY
    from salesctl.db.models.budget import BudgetHold, BudgetLedger

    holds, ledger = BudgetHold.__table__, BudgetLedger.__table__
    released: dict[str, Decimal] = {}
    hold_ids = [item.hold_id for item in items if item.hold_id is not None]
    if hold_ids:
        gone = await conn.execute(
            delete(holds)
            .where(holds.c.hold_id.in_(hold_ids))
            .returning(holds.c.key, holds.c.amount_usd)
        )
        for key, amount in gone:
            released[key] = released.get(key, Decimal(0)) + amount
    costs: dict[str, Decimal] = {}
    for item in items:
        for key in item.keys:
            costs[key] = costs.get(key, Decimal(0)) + item.cost
    keys = sorted(set(released) | set(costs))
    if not keys:
        return
    now = datetime.now(UTC)
    await conn.execute(
        update(ledger)
        .where(ledger.c.key == bindparam("row_key"))
        .values(
            reserved_usd=ledger.c.reserved_usd - bindparam("released", type_=MONEY),
            spent_usd=ledger.c.spent_usd + bindparam("cost", type_=MONEY),
            updated_at=now,
        ),
        [
            {
                "row_key": key,
                "released": released.get(key, Decimal(0)),
                "cost": costs.get(key, Decimal(0)),
            }
            for key in keys
        ],
    )


async def _create_rows(session: AsyncSession, spent: dict[str, Decimal], now: datetime) -> None:
    """Ledger rows for new periods, starting from what the tracking table shows (a row
    another process made meanwhile is left as it is)."""
    if not spent:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    from salesctl.db.models.budget import BudgetLedger

    values = [
        {"key": key, "spent_usd": value, "reserved_usd": Decimal(0), "updated_at": now}
        for key, value in sorted(spent.items())
    ]
    await session.execute(insert(BudgetLedger.__table__).on_conflict_do_nothing(), values)


async def _catch_up(
    session: AsyncSession,
    before: dict[str, LedgerRow],
    table: dict[str, Decimal],
    now: datetime,
) -> None:
    """Raise rows by what the table showed beyond them, where they are unchanged since."""
    from sqlalchemy import bindparam, update

    from salesctl.db.models.analytics import MONEY
    from salesctl.db.models.budget import BudgetLedger

    ledger = BudgetLedger.__table__
    behind = [
        {"row_key": key, "seen": row.spent, "gap": table[key] - row.spent}
        for key, row in sorted(before.items())
        if table.get(key, Decimal(0)) > row.spent
    ]
    if behind:
        await session.execute(
            update(ledger)
            .where(
                ledger.c.key == bindparam("row_key"),
                ledger.c.spent_usd == bindparam("seen", type_=MONEY),
            )
            .values(spent_usd=ledger.c.spent_usd + bindparam("gap", type_=MONEY), updated_at=now),
            behind,
        )


async def _expire_holds_in(session: AsyncSession, now: datetime) -> int:
    """Release holds past their expiry (their process died); how many."""
    from sqlalchemy import bindparam, delete, update

    from salesctl.db.models.analytics import MONEY
    from salesctl.db.models.budget import BudgetHold, BudgetLedger

    holds, ledger = BudgetHold.__table__, BudgetLedger.__table__
    gone = (
        await session.execute(
            delete(holds)
            .where(holds.c.expires_at <= now)
            .returning(holds.c.key, holds.c.amount_usd)
        )
    ).all()
    released: dict[str, Decimal] = {}
    for key, amount in gone:
        released[key] = released.get(key, Decimal(0)) + amount
    if released:
        await session.execute(
            update(ledger)
            .where(ledger.c.key == bindparam("row_key"))
            .values(reserved_usd=ledger.c.reserved_usd - bindparam("released", type_=MONEY)),
            [{"row_key": key, "released": amount} for key, amount in sorted(released.items())],
        )
        log.info("released %d budget holds of calls that never settled", len(gone))
    return len(gone)


async def _expire_holds(engine: AsyncEngine, now: datetime) -> int:
    from salesctl.db.session import session_factory

    async with session_factory(_writing(engine))() as session, session.begin():
        return await _expire_holds_in(session, now)


async def _forget_old_periods(session: AsyncSession, before: datetime) -> None:
    from sqlalchemy import delete

    from salesctl.db.models.budget import BudgetLedger

    ledger = BudgetLedger.__table__
    await session.execute(
        delete(ledger).where(ledger.c.updated_at < before, ledger.c.reserved_usd == 0)
    )


def _crowded(row: LedgerRow, amount: Decimal, limit: Limit) -> bool:
    return row.spent + row.reserved + amount > limit.usd


def _spent_for(limit: Limit, figures: _Figures) -> Decimal:
    if limit.kind == "daily":
        return figures.daily
    if limit.kind == "monthly":
        return figures.monthly
    return figures.by_agent.get(limit.agent or "", Decimal(0))


def _units_floor(value: Decimal) -> int:
    from salesctl.db.models.analytics import UNITS_PER_USD

    return int((value * UNITS_PER_USD).to_integral_value(rounding="ROUND_FLOOR"))


def _from_units(spent: int, reserved: int) -> LedgerRow:
    return LedgerRow(Decimal(int(spent)).scaleb(-10), Decimal(int(reserved)).scaleb(-10))


def _is_transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL), a busy database (SQLite)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(sign in text for sign in ("deadlock", "could not serialize", "database is locked"))


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a shared task's failure as seen (every caller awaiting it gets it raised)."""
    if not task.cancelled():
        task.exception()


def _usd(value: Decimal) -> str:
    from salesctl.money import usd

    return usd(value)
