"""Hard budget limits, enforced by the gateway before a call reaches a provider.

Each call reserves the most it can cost (its prompt's tokens, estimated high, plus
`max_tokens` of output, at the model's price) and settles at what it was tracked to cost. A
call that fits under a limit on what is spent but not beside the reservations of calls in
flight waits for them to settle (they usually settle lower); a call that cannot fit on what is
spent alone is refused. So the calls of one gateway never overshoot a limit beyond the error
of the input estimate. A model without a known price cannot be bounded: it reserves nothing,
and is refused once the spend has reached the limit.

What is spent comes from the database (the rollup-backed queries the reports use), read when
the guard is first needed and then kept current from this gateway's own settled calls. It is
read again when a reservation would leave less than `NEAR_FACTOR` times the call's maximum
under a limit, when the figure is older than `STALE_AFTER_S`, and when the local day changes.
Settled calls the database does not show yet (the tracking writer inserts in the background)
are added on top; each re-read checks, in the same snapshot as the spend, which of them have
landed, so none is counted twice.

Other processes (cron jobs, a second terminal) do not see each other's reservations: each
sees the others' settled calls at its next re-read. Two processes near a limit can therefore
both start a call the limit only had room for once; the overshoot is bounded by the calls in
flight elsewhere plus what they settled since this process last read the spend (at most
`STALE_AFTER_S` ago far from the limit, at the previous call near it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from salesctl.errors import BudgetExceeded, DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from salesctl.config import BudgetSettings
    from salesctl.llm.pricing import PriceBook
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
LANDED_CHUNK = 500
"""Request ids checked per statement when asking which settled calls the database has."""

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


# --- the guard -------------------------------------------------------------------------------


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


@dataclass(slots=True, eq=False)
class Reservation:
    """A call's maximum cost, held against the limits until the call settles."""

    agent: str
    amount: Decimal
    generation: int
    open: bool = True


@dataclass(frozen=True, slots=True)
class _Unlanded:
    """A settled call with a cost that the database did not show at the last read."""

    agent: str
    day: date
    cost: Decimal


@dataclass(frozen=True, slots=True)
class SpendView:
    """What the guard counts against each limit right now."""

    day: date | None
    daily_usd: Decimal
    monthly_usd: Decimal
    by_agent_usd: dict[str, Decimal]
    reserved_usd: Decimal
    unlanded_calls: int


class BudgetGuard:
    """Reservations against the hard limits of one gateway (see the module docstring)."""

    def __init__(
        self,
        budget: BudgetSettings,
        *,
        timezone: str,
        engine: Callable[[], AsyncEngine],
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from salesctl.reports.filters import load_zone

        self.daily = budget.hard_daily_usd
        self.monthly = budget.hard_monthly_usd
        self.per_agent = dict(budget.hard_per_agent_daily_usd)
        self.timezone = timezone
        self._zone = load_zone(timezone)
        self._engine = engine
        self._warn = warn or log.warning
        self._day: date | None = None
        self._read_at = 0.0
        self._db_daily = Decimal(0)
        self._db_monthly = Decimal(0)
        self._db_agent: dict[str, Decimal] = {}
        self._unlanded: dict[str, _Unlanded] = {}
        self._own_daily = Decimal(0)
        self._own_monthly = Decimal(0)
        self._own_agent: dict[str, Decimal] = {}
        self._held = Decimal(0)
        self._held_agent: dict[str, Decimal] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0
        self._changed: asyncio.Event | None = None
        self._reading: asyncio.Task[None] | None = None
        self._read_failed = False

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
        """Hold `amount` (the call's maximum cost; None: unknown) against `agent`'s limits.

        Returns None when no limit applies to the agent. Waits while the call fits on what is
        spent but not beside calls in flight; raises `BudgetExceeded` when it cannot fit.
        """
        limits = self.limits_for(agent)
        if not limits:
            return None
        self._adopt_loop()
        cost = amount if amount is not None else Decimal(0)
        deadline = time.monotonic() + WAIT_LIMIT_S
        while True:
            if self._needs_read(limits, cost):
                await self.refresh()
            crowded: Limit | None = None
            for limit in limits:
                spent = self._spent(limit)
                if spent + cost > limit.usd or (amount is None and spent >= limit.usd):
                    raise self._refusal(limit, spent, amount, target)
                if spent + self._reserved(limit) + cost > limit.usd:
                    crowded = limit
            if crowded is None:
                hold = Reservation(agent, cost, self._generation)
                self._held += cost
                self._held_agent[agent] = self._held_agent.get(agent, Decimal(0)) + cost
                return hold
            if not await self._wait_for_change(deadline):
                held = _usd(self._reserved(crowded))
                raise self._refusal(
                    crowded,
                    self._spent(crowded),
                    amount,
                    target,
                    note=f" after waiting {WAIT_LIMIT_S:.0f} s for calls in flight ({held})",
                )

    def settle(
        self, hold: Reservation, request_id: str, cost: Decimal | None, at: datetime
    ) -> None:
        """The call is over: release its reservation and count what it cost."""
        if not hold.open:
            return
        hold.open = False
        if hold.generation == self._generation:
            self._held -= hold.amount
            self._held_agent[hold.agent] -= hold.amount
        if cost:
            day = at.astimezone(self._zone).date()
            self._unlanded[request_id] = _Unlanded(hold.agent, day, cost)
            self._count_own(hold.agent, day, cost)
        self._signal()

    def view(self) -> SpendView:
        """The figures the next admission starts from."""
        agents = set(self._db_agent) | set(self._own_agent)
        return SpendView(
            day=self._day,
            daily_usd=self._db_daily + self._own_daily,
            monthly_usd=self._db_monthly + self._own_monthly,
            by_agent_usd={
                a: self._db_agent.get(a, Decimal(0)) + self._own_agent.get(a, Decimal(0))
                for a in sorted(agents)
            },
            reserved_usd=self._held,
            unlanded_calls=len(self._unlanded),
        )

    # --- bookkeeping ------------------------------------------------------------------------

    def _spent(self, limit: Limit) -> Decimal:
        if limit.kind == "daily":
            return self._db_daily + self._own_daily
        if limit.kind == "monthly":
            return self._db_monthly + self._own_monthly
        agent = limit.agent or ""
        return self._db_agent.get(agent, Decimal(0)) + self._own_agent.get(agent, Decimal(0))

    def _reserved(self, limit: Limit) -> Decimal:
        if limit.kind == "agent_daily":
            return self._held_agent.get(limit.agent or "", Decimal(0))
        return self._held

    def _count_own(self, agent: str, day: date, cost: Decimal) -> None:
        if self._day is None:
            return
        if day == self._day:
            self._own_daily += cost
            self._own_agent[agent] = self._own_agent.get(agent, Decimal(0)) + cost
        if day >= self._day.replace(day=1):
            self._own_monthly += cost

    def _recount(self) -> None:
        self._own_daily = self._own_monthly = Decimal(0)
        self._own_agent = {}
        for item in self._unlanded.values():
            self._count_own(item.agent, item.day, item.cost)

    def _needs_read(self, limits: Iterable[Limit], cost: Decimal) -> bool:
        if self._day is None or time.monotonic() - self._read_at > STALE_AFTER_S:
            return True
        if datetime.now(UTC).astimezone(self._zone).date() != self._day:
            return True
        margin = NEAR_FACTOR * cost
        return any(
            limit.usd - self._spent(limit) - self._reserved(limit) - cost < margin
            for limit in limits
        )

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
        """Waiters and reads belong to one event loop; reservations of a finished loop are
        gone with it (its calls can no longer settle)."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        self._loop = loop
        self._generation += 1
        self._changed = None
        self._reading = None
        self._held = Decimal(0)
        self._held_agent = {}

    def _signal(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_for_change(self, deadline: float) -> bool:
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), max(deadline - time.monotonic(), 0))
        except TimeoutError:
            return False
        return True

    # --- reading the spend ------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the spend from the database (one read at a time; callers share it)."""
        self._adopt_loop()
        reading = self._reading
        if reading is None or reading.done():
            reading = self._reading = asyncio.get_running_loop().create_task(self._read())
            reading.add_done_callback(_retrieve)
        await asyncio.shield(reading)

    async def _read(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from salesctl.db.session import describe_db_error

        first = self._day is None
        today = datetime.now(UTC).astimezone(self._zone).date()
        try:
            daily, monthly, by_agent, landed = await self._query(today, fold_first=first)
        except (SQLAlchemyError, OSError) as exc:
            reason = describe_db_error(exc)
            if first:
                raise DatabaseError(
                    f"cannot read today's spend for the hard budget limits: {reason}"
                ) from exc
            self._read_at = time.monotonic()
            if not self._read_failed:
                self._read_failed = True
                self._warn(
                    f"hard budget limits: re-reading the spend failed ({reason}); "
                    "counting this process's own calls on top of the last figure read"
                )
            return
        self._read_failed = False
        self._day = today
        self._read_at = time.monotonic()
        self._db_daily, self._db_monthly, self._db_agent = daily, monthly, by_agent
        month = today.replace(day=1)
        for request_id in landed:
            self._unlanded.pop(request_id, None)
        for request_id in [r for r, item in self._unlanded.items() if item.day < month]:
            del self._unlanded[request_id]  # an earlier month no limit looks at any more
        self._recount()
        self._signal()

    async def _query(
        self, today: date, *, fold_first: bool
    ) -> tuple[Decimal, Decimal, dict[str, Decimal], set[str]]:
        """Today's and this month's spend (by agent where a per-agent limit needs it) and
        which unlanded calls the database has, all from one snapshot."""
        from salesctl.db.session import session_factory
        from salesctl.reports.rollups import fold

        engine = self._engine()
        if fold_first:
            await fold(engine)  # later reads then scan only what was tracked since
        if engine.dialect.name == "postgresql":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        async with session_factory(engine)() as session, session.begin():
            by_agent = await self._spend(session, today, today + timedelta(days=1))
            daily = sum(by_agent.values(), Decimal(0))
            monthly = daily
            if self.monthly is not None and today.day > 1:
                earlier = await self._spend(session, today.replace(day=1), today, totals=True)
                monthly += sum(earlier.values(), Decimal(0))
            # Read after the spend, so any call settled while it ran is checked too.
            landed = await _landed(session, list(self._unlanded))
        return daily, monthly, (by_agent if self.per_agent else {}), landed

    async def _spend(
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


async def _landed(session: AsyncSession, request_ids: list[str]) -> set[str]:
    """Which of these tracked calls are in the database."""
    from sqlalchemy import select

    from salesctl.db.models import AICostTracking

    found: set[str] = set()
    column = AICostTracking.request_id
    for start in range(0, len(request_ids), LANDED_CHUNK):
        chunk = request_ids[start : start + LANDED_CHUNK]
        found.update((await session.execute(select(column).where(column.in_(chunk)))).scalars())
    return found


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a shared read's failure as seen (every caller awaiting it gets it raised)."""
    if not task.cancelled():
        task.exception()


def _usd(value: Decimal) -> str:
    from salesctl.reports.render import usd

    return usd(value)
