"""The cost report behind `salesctl costs`, `costs --json` and the analytics HTTP API.

Its first six fields are the seed's analytics response, key for key; the rest are extras.
Figures come from the rollups plus the detail rows they do not hold yet (see `rollups`); the
detail table alone answers where filters need columns the rollups do not keep (session, user).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from salesctl.reports.filters import CostFilters
from salesctl.reports.rollups import (
    AGENT_DIMS,
    ALL_METRICS,
    COUNT_METRICS,
    FoldState,
    Metric,
    Scope,
    Source,
    Sums,
    WindowPlan,
    aggregate,
    bucket_index,
    can_serve,
    outer_sums,
    plan_window,
    read_state,
    total,
    union_query,
)
from salesctl.timewindow import Granularity, local_date, local_midnight, next_period, period_start

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

DEFAULT_TOP = 10
GroupBy = Literal["day", "week", "month", "user"]


@dataclass(frozen=True, slots=True)
class ModelShare:
    """One model's part of an agent's calls (a router agent has several)."""

    provider: str
    model: str
    total_requests: int
    total_cost_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class AgentCost:
    agent_type: str
    agent_mode: str | None
    total_requests: int
    total_cost_usd: Decimal | None
    avg_cost_per_request: Decimal | None
    avg_latency_ms: float | None
    primary_provider: str | None
    primary_model: str | None
    unpriced_requests: int = 0
    failed_requests: int = 0
    cache_hits: int = 0
    success_rate: float | None = None
    estimated_requests: int = 0
    estimated_cost_usd: Decimal = Decimal(0)
    models: list[ModelShare] = field(default_factory=list)
    """Every model the agent's calls went to, most spent first (an extra to the seed's keys)."""


@dataclass(frozen=True, slots=True)
class LeadCost:
    lead_id: int
    company_name: str | None
    total_cost_usd: Decimal | None
    total_requests: int
    agents_used: list[str]
    unpriced_requests: int = 0


@dataclass(frozen=True, slots=True)
class CacheStats:
    total_requests: int
    cache_hits: int
    cache_hit_rate: float
    estimated_savings_usd: Decimal


@dataclass(frozen=True, slots=True)
class TimePoint:
    date: str
    total_cost_usd: Decimal | None
    total_requests: int
    unpriced_requests: int = 0


@dataclass(frozen=True, slots=True)
class ProviderModelCost:
    provider: str
    model: str
    total_requests: int
    total_cost_usd: Decimal | None
    unpriced_requests: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    estimated_requests: int = 0
    estimated_cost_usd: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SessionCost:
    session_id: str | None
    total_cost_usd: Decimal | None
    total_requests: int


@dataclass(frozen=True, slots=True)
class UserCost:
    """One rep's chat spend (`costs --by user`)."""

    user_id: str
    total_cost_usd: Decimal | None
    total_requests: int
    sessions: int
    unpriced_requests: int
    top_sessions: list[SessionCost]


@dataclass(frozen=True, slots=True)
class AgentPercentiles:
    """Nearest-rank percentiles over the detail rows (`costs --percentiles`)."""

    agent_type: str
    agent_mode: str | None
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    cost_p50_usd: Decimal | None
    cost_p95_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int
    completion: int
    cache_read: int
    cache_write: int


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime | None
    until: datetime | None
    timezone: str
    granularity: Granularity


@dataclass(frozen=True)
class CostReport:
    """The full cost report; `--json` prints it as is (seed keys first)."""

    total_cost_usd: Decimal | None
    total_requests: int
    by_agent: list[AgentCost]
    by_lead: list[LeadCost]
    cache_stats: CacheStats
    time_series: list[TimePoint]
    window: Window
    filters: dict[str, Any]
    timezone: str
    unpriced_requests: int
    failed_requests: int
    refused_requests: int
    tokens: Tokens
    by_provider_model: list[ProviderModelCost]
    leads_total: int
    by_user: list[UserCost] | None = None
    percentiles: list[AgentPercentiles] | None = None
    source: Source = "rollup"
    notes: list[str] = field(default_factory=list)
    estimated_requests: int = 0
    """Calls priced partly on an estimate: served without a usage report (a cut stream, a
    timeout after the request was sent, a call cancelled in flight)."""
    estimated_cost_usd: Decimal = Decimal(0)
    """The part of `total_cost_usd` those calls make up."""


@dataclass(frozen=True, slots=True)
class ReportOptions:
    granularity: Granularity = "day"
    top: int = DEFAULT_TOP
    by_user: bool = False
    percentiles: bool = False


# --- buckets -----------------------------------------------------------------------------


def bucket_starts(
    since: datetime, end: datetime, zone_name: str, granularity: Granularity
) -> list[date]:
    """Local period starts from the one holding `since` to the one holding `end`."""
    from salesctl.timewindow import load_zone

    zone = load_zone(zone_name)
    first = period_start(local_date(since, zone), granularity)
    last = local_date(end - timedelta(microseconds=1), zone) if end > since else first
    starts = [first]
    while True:
        following = next_period(starts[-1], granularity)
        if following > last:
            return starts
        starts.append(following)


def cut_points(starts: Sequence[date], zone_name: str) -> list[datetime]:
    """The UTC instants where each bucket after the first begins."""
    from salesctl.timewindow import load_zone

    zone = load_zone(zone_name)
    return [local_midnight(day, zone) for day in starts[1:]]


# --- the report --------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _source_for(
    scope: Scope,
    filters: CostFilters,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    forced: Source,
) -> Source:
    if forced == "detail" or not can_serve(scope, filters, dims, metrics):
        return "detail"
    return "rollup"


async def read_cost_report(
    session: AsyncSession,
    filters: CostFilters,
    options: ReportOptions = ReportOptions(),
    *,
    source: Source = "rollup",
    now: datetime | None = None,
) -> CostReport:
    """The report from what is in the database now (reads only; fold first for speed)."""
    from salesctl.reports.filters import verify_agents

    filters = await verify_agents(session, filters)
    now = now or datetime.now(UTC)
    if filters.since is None:
        raise ValueError("a cost report needs a start (CostFilters.since)")
    state = await read_state(session)
    end = filters.until or now
    starts = bucket_starts(
        filters.since, max(end, filters.since), filters.timezone, options.granularity
    )
    plan = plan_window(filters.since, filters.until, state)
    series_plan = plan_window(
        filters.since, filters.until, state, cut_points(starts, filters.timezone)
    )
    main_source = _source_for("all", filters, AGENT_DIMS, ALL_METRICS, source)
    groups = await aggregate(
        session, plan, filters, "all", AGENT_DIMS, source=main_source, metrics=ALL_METRICS
    )
    series = await aggregate(
        session,
        series_plan,
        filters,
        "all",
        (),
        source=main_source,
        by_hour=True,
        metrics=COUNT_METRICS,
    )
    leads, leads_total = await _top_leads(session, plan, filters, options.top, source)
    report_source: Source = "detail" if main_source == "detail" else "rollup"
    by_user = (
        await _by_user(session, plan, filters, options.top, source) if options.by_user else None
    )
    percentiles = await _percentiles(session, plan, filters) if options.percentiles else None
    overall = total([s for _, s in groups])
    status_counts: dict[str, int] = defaultdict(int)
    for key, sums in groups:
        status_counts[key[4]] += sums.requests
    return CostReport(
        total_cost_usd=overall.known_cost,
        total_requests=overall.requests,
        by_agent=_by_agent(groups),
        by_lead=leads,
        cache_stats=_cache_stats(groups, overall),
        time_series=_time_series(series, series_plan, starts),
        window=Window(filters.since, filters.until, filters.timezone, options.granularity),
        filters=filters.echo(),
        timezone=filters.timezone,
        unpriced_requests=overall.unpriced_requests,
        failed_requests=status_counts.get("error", 0),
        refused_requests=status_counts.get("refused", 0),
        tokens=Tokens(
            overall.prompt_tokens,
            overall.completion_tokens,
            overall.cache_read_tokens,
            overall.cache_write_tokens,
        ),
        by_provider_model=_by_provider_model(groups),
        leads_total=leads_total,
        by_user=by_user,
        percentiles=percentiles,
        source=report_source,
        notes=_notes(plan, state, filters, main_source, options),
        estimated_requests=overall.estimated_requests,
        estimated_cost_usd=_money_or_zero(overall.estimated_cost_usd),
    )


async def cost_report(
    engine: AsyncEngine,
    filters: CostFilters,
    options: ReportOptions = ReportOptions(),
    *,
    now: datetime | None = None,
) -> CostReport:
    """Fold new tracking rows into the rollups, then read the report."""
    from salesctl.db.session import session_factory
    from salesctl.reports.rollups import fold

    await fold(engine)
    async with session_factory(engine)() as session, session.begin():
        return await read_cost_report(session, filters, options, now=now)


def _by_agent(groups: list[tuple[tuple[Any, ...], Sums]]) -> list[AgentCost]:
    per_agent: dict[tuple[str, str | None], list[tuple[tuple[Any, ...], Sums]]] = defaultdict(list)
    for key, sums in groups:
        per_agent[(key[0], key[1])].append((key, sums))
    agents = []
    for (agent_type, agent_mode), rows in per_agent.items():
        sums = total([s for _, s in rows])
        by_model: dict[tuple[str, str], int] = defaultdict(int)
        model_sums: dict[tuple[str, str], Sums] = defaultdict(Sums)
        failed = ok = hits = 0
        for key, s in rows:
            by_model[(key[2], key[3])] += s.requests
            model_sums[(key[2], key[3])].add(s)
            failed += s.requests if key[4] == "error" else 0
            ok += s.requests if key[4] == "ok" else 0
            hits += s.requests if key[5] else 0
        provider, model = min(by_model, key=lambda pm: (-by_model[pm], pm))
        agents.append(
            AgentCost(
                agent_type=agent_type,
                agent_mode=agent_mode,
                total_requests=sums.requests,
                total_cost_usd=sums.known_cost,
                avg_cost_per_request=sums.avg_cost,
                avg_latency_ms=sums.avg_latency_ms,
                primary_provider=provider,
                primary_model=model,
                unpriced_requests=sums.unpriced_requests,
                failed_requests=failed,
                cache_hits=hits,
                success_rate=round(ok / sums.requests, 4) if sums.requests else None,
                estimated_requests=sums.estimated_requests,
                estimated_cost_usd=_money_or_zero(sums.estimated_cost_usd),
                models=sorted(
                    (
                        ModelShare(p, m, ms.requests, ms.known_cost)
                        for (p, m), ms in model_sums.items()
                    ),
                    key=lambda share: (
                        -(share.total_cost_usd or 0),
                        -share.total_requests,
                        share.provider,
                        share.model,
                    ),
                ),
            )
        )
    agents.sort(key=lambda a: (-(a.total_cost_usd or 0), -a.total_requests, a.agent_type))
    return agents


def _by_provider_model(groups: list[tuple[tuple[Any, ...], Sums]]) -> list[ProviderModelCost]:
    per_model: dict[tuple[str, str], Sums] = defaultdict(Sums)
    for key, sums in groups:
        per_model[(key[2], key[3])].add(sums)
    rows = [
        ProviderModelCost(
            provider=provider,
            model=model,
            total_requests=s.requests,
            total_cost_usd=s.known_cost,
            unpriced_requests=s.unpriced_requests,
            prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens,
            cache_read_tokens=s.cache_read_tokens,
            cache_write_tokens=s.cache_write_tokens,
            estimated_requests=s.estimated_requests,
            estimated_cost_usd=_money_or_zero(s.estimated_cost_usd),
        )
        for (provider, model), s in per_model.items()
    ]
    rows.sort(key=lambda r: (-(r.total_cost_usd or 0), -r.total_requests, r.provider, r.model))
    return rows


def _cache_stats(groups: list[tuple[tuple[Any, ...], Sums]], overall: Sums) -> CacheStats:
    hits = total([s for key, s in groups if key[5]])
    rate = round(hits.requests / overall.requests, 4) if overall.requests else 0.0
    saved = hits.saved_usd.normalize() if hits.saved_usd else Decimal(0)
    return CacheStats(overall.requests, hits.requests, rate, saved)


def _time_series(
    series: list[tuple[tuple[Any, ...], Sums]], plan: WindowPlan, starts: list[date]
) -> list[TimePoint]:
    buckets = [Sums() for _ in starts]
    for (hour, after_cut), sums in series:
        index = min(bucket_index(plan, hour, after_cut), len(buckets) - 1)
        buckets[index].add(sums)
    return [
        TimePoint(day.isoformat(), s.known_cost, s.requests, s.unpriced_requests)
        for day, s in zip(starts, buckets, strict=True)
    ]


WALK_FIRST = 64
"""Lead totals read by the first step of the top-leads walk (then twice as many each step)."""
WALK_MAX_ROWS = 20_000
EXACT_MAX = 2_000
"""Past these (lead totals walked, leads summed one by one) the walk gives way to one
aggregate over every lead active in the window, which is then the cheaper plan."""


@dataclass(frozen=True, slots=True)
class _RankedLead:
    lead_id: int
    company_name: str | None
    sums: Sums


def _rank_key(item: tuple[int, Sums]) -> tuple[Decimal, int, int]:
    """The report's lead order: cost, then calls (both descending), then lead id."""
    lead_id, sums = item
    return (-sums.cost_usd, -sums.requests, lead_id)


async def _top_leads(
    session: AsyncSession, plan: WindowPlan, filters: CostFilters, top: int, forced: Source
) -> tuple[list[LeadCost], int]:
    """The `top` leads by cost (all when top <= 0), and how many leads had calls."""
    source = _source_for("leads", filters, ("lead_id",), COUNT_METRICS, forced)
    facet = _lead_facet(filters)
    walked = None
    if source == "rollup" and top > 0 and facet is not None and plan.since is not None:
        walked = await _TopLeadsWalk(session, plan, filters, top, facet).run()
    if walked is None:
        walked = await _sum_top_leads(session, plan, filters, top, source)
    ranked, leads_total = walked
    if not ranked:
        return [], 0
    ids = [lead.lead_id for lead in ranked]
    agents: dict[int, set[str]] = defaultdict(set)
    pair = ("lead_id", "agent_type")
    used = await aggregate(
        session,
        plan,
        filters,
        "leads",
        pair,
        source=_source_for("leads", filters, pair, ("requests",), forced),
        only={"lead_id": ids},
        metrics=("requests",),
    )
    for (lead_id, agent_type), _ in used:
        agents[int(lead_id)].add(agent_type)
    result = [
        LeadCost(
            lead_id=lead.lead_id,
            company_name=lead.company_name,
            total_cost_usd=lead.sums.known_cost,
            total_requests=lead.sums.requests,
            agents_used=sorted(agents[lead.lead_id]),
            unpriced_requests=lead.sums.unpriced_requests,
        )
        for lead in ranked
    ]
    return result, leads_total


async def _sum_top_leads(
    session: AsyncSession, plan: WindowPlan, filters: CostFilters, top: int, source: Source
) -> tuple[list[_RankedLead], int]:
    """Sum every lead active in the window, then rank them (any filters, any `top`)."""
    from sqlalchemy import func, select

    from salesctl.db.models.crm import Lead

    facts = union_query(
        _dialect(session),
        plan,
        filters,
        "leads",
        ("lead_id",),
        source=source,
        metrics=COUNT_METRICS,
    )
    per_lead = (
        select(facts.c.lead_id, *outer_sums(facts, COUNT_METRICS))
        .group_by(facts.c.lead_id)
        .cte("per_lead")
    )
    ranked = (
        select(per_lead, select(func.count()).select_from(per_lead).scalar_subquery().label("n"))
        .order_by(per_lead.c.cost_usd.desc(), per_lead.c.requests.desc(), per_lead.c.lead_id)
        .limit(top if top > 0 else None)
        .subquery("ranked")
    )
    # Names for the listed leads only; a lead deleted meanwhile drops out (its rollup rows go
    # with it, see the migration's trigger), as its calls' lead_id is cleared in the detail.
    leads = Lead.__table__
    query = (
        select(ranked, leads.c.company_name)
        .join(leads, leads.c.id == ranked.c.lead_id)
        .order_by(ranked.c.cost_usd.desc(), ranked.c.requests.desc(), ranked.c.lead_id)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return [], 0
    result = [
        _RankedLead(int(r.lead_id), r.company_name, Sums.from_row(r, COUNT_METRICS)) for r in rows
    ]
    return result, int(rows[0].n)


def _lead_facet(filters: CostFilters) -> tuple[str, str] | None:
    """Which lead totals answer these filters: all calls, or one agent, provider or model."""
    if filters.lead_id is not None or filters.session_id or filters.user_id:
        return None
    if len(filters.agents) > 1:
        return None
    chosen = [
        (facet, value)
        for facet, value in (
            ("agent_type", filters.agents[0] if filters.agents else None),
            ("provider", filters.provider),
            ("model", filters.model),
        )
        if value
    ]
    if len(chosen) > 1:
        return None
    return chosen[0] if chosen else ("all", "")


class _TopLeadsWalk:
    """The top leads from the per-lead totals, touching few rows whatever the window.

    A lead's cost in the window is at most its total (costs are never negative), and equals it
    when all its folded calls lie in whole hours inside the window. So the totals are read in
    descending order; leads whose calls straddle the window's edges, or have unfolded calls,
    are summed exactly; the walk stops once the `top`-th lead found beats the next total.
    How many leads had calls is counted from the first and last hours the same way. `run()`
    gives None when the walk would grow past its limits (the caller then sums every lead
    instead).
    """

    def __init__(
        self,
        session: AsyncSession,
        plan: WindowPlan,
        filters: CostFilters,
        top: int,
        facet: tuple[str, str],
    ) -> None:
        import math

        from salesctl.db.models.analytics import LeadTotal
        from salesctl.timewindow import hours_since_epoch

        assert plan.since is not None
        self.session = session
        self.plan = plan
        self.filters = filters
        self.top = top
        self.lt = LeadTotal.__table__
        self.sqlite = _dialect(session) == "sqlite"
        self.of_facet = [self.lt.c.facet == facet[0], self.lt.c.value == facet[1]]
        self.hour_lo = (
            plan.hour_lo if plan.hour_lo is not None else math.ceil(hours_since_epoch(plan.since))
        )
        self.hour_hi = plan.hour_hi
        self.lo_any = math.floor(hours_since_epoch(plan.since))
        self.hi_any = math.ceil(hours_since_epoch(plan.until)) if plan.until is not None else None

    async def run(self) -> tuple[list[_RankedLead], int] | None:
        """The ranked top leads and how many leads had calls; None past the walk's limits."""
        start = await self._edge_leads()
        if start is None:
            return None
        checked, found, leads_total = start
        best = await self._walk(checked, found)
        if best is None:
            return None
        if not best:
            return [], leads_total
        return await self._named(best), leads_total

    # --- the window's hours, on ints and on columns ---------------------------------------

    def _plain(self, column: Any) -> Any:
        """The column, kept off SQLite's index choice (it picks indexes by rule: keep the walk
        on the ranking index)."""
        from sqlalchemy import literal_column

        if self.sqlite:
            return literal_column(f"+{self.lt.name}.{column.name}", type_=column.type)
        return column

    def _whole(self, hour: Any) -> Any:
        """The hour is a whole hour inside the window (works on ints and columns)."""
        if self.hour_hi is not None:
            return (hour >= self.hour_lo) & (hour < self.hour_hi)
        return hour >= self.hour_lo

    def _touching(self, first: Any, last: Any) -> list[Any]:
        terms = [last >= self.lo_any]
        if self.hi_any is not None:
            terms.append(first < self.hi_any)
        return terms

    def _certain(self, first: int, last: int) -> bool:
        return bool(self._whole(first)) or bool(self._whole(last))

    def _inside(self, first: int, last: int) -> bool:
        return first >= self.hour_lo and (self.hour_hi is None or last < self.hour_hi)

    # --- the steps ------------------------------------------------------------------------

    async def _exact(self, ids: Sequence[int]) -> dict[int, Sums]:
        if not ids:
            return {}
        rows = await aggregate(
            self.session,
            self.plan,
            self.filters,
            "leads",
            ("lead_id",),
            source="rollup",
            only={"lead_id": list(ids)},
            metrics=COUNT_METRICS,
        )
        return {int(key[0]): sums for key, sums in rows if sums.requests}

    async def _edge_leads(self) -> tuple[set[int], dict[int, Sums], int] | None:
        """Leads with calls the rollups do not hold yet, and leads whose calls straddle an edge
        without a whole hour inside the window: summed exactly, for the count and the ranking.
        Returns them (checked, and their sums) with how many leads had calls."""
        tail = await _unfolded_leads(self.session, self.plan, self.filters)
        if len(tail) > EXACT_MAX:
            return None
        uncertain = await self._uncertain_leads()
        if len(tail) + len(uncertain) > EXACT_MAX:
            return None
        counted = await self._count_certain(tail)
        checked = set(tail) | set(uncertain)
        found = await self._exact(sorted(checked))
        return checked, found, counted + len(found)

    async def _uncertain_leads(self) -> list[int]:
        """Leads touching the window with no whole hour inside it (at most `EXACT_MAX` + 1)."""
        from sqlalchemy import or_, select

        lt = self.lt
        query = (
            select(lt.c.lead_id)
            .where(
                *self.of_facet,
                *self._touching(lt.c.first_hour, lt.c.last_hour),
                ~or_(self._whole(lt.c.first_hour), self._whole(lt.c.last_hour)),
            )
            .limit(EXACT_MAX + 1)
        )
        return [int(i) for i in (await self.session.execute(query)).scalars()]

    async def _count_certain(self, tail: set[int]) -> int:
        """Leads certain to have calls in the window from their totals alone, less those in
        `tail` (they are counted from their exact sums)."""
        from sqlalchemy import and_, func, or_, select

        lt = self.lt
        certain_sql = (
            and_(*self.of_facet, lt.c.last_hour >= self.hour_lo)  # the same, open-ended window
            if self.hour_hi is None
            else and_(
                *self.of_facet,
                *self._touching(lt.c.first_hour, lt.c.last_hour),
                or_(self._whole(lt.c.first_hour), self._whole(lt.c.last_hour)),
            )
        )
        counted = int(
            (
                await self.session.execute(select(func.count()).select_from(lt).where(certain_sql))
            ).scalar_one()
        )
        if tail:
            tail_in_totals = await self.session.execute(
                select(lt.c.lead_id, lt.c.first_hour, lt.c.last_hour).where(
                    *self.of_facet, lt.c.lead_id.in_(sorted(tail))
                )
            )
            counted -= sum(
                1 for row in tail_in_totals if self._certain(row.first_hour, row.last_hour)
            )
        return counted

    async def _walk(
        self, checked: set[int], found: dict[int, Sums]
    ) -> list[tuple[int, Sums]] | None:
        """Read the totals in descending order, in growing steps, until no lead further down
        can reach the top; the best `top` (lead id, sums), or None past the walk's limits."""
        from sqlalchemy import select

        lt, top = self.lt, self.top
        walk = (
            select(
                lt.c.lead_id,
                lt.c.first_hour,
                lt.c.last_hour,
                *(lt.c[m] for m in COUNT_METRICS),
            )
            .where(
                *self.of_facet,
                *self._touching(self._plain(lt.c.first_hour), self._plain(lt.c.last_hour)),
            )
            .order_by(lt.c.cost_usd.desc(), lt.c.requests.desc(), lt.c.lead_id.desc())
        )
        offset, step = 0, max(WALK_FIRST, 4 * top)
        while True:
            rows = (await self.session.execute(walk.limit(step).offset(offset))).all()
            if not await self._take(rows, checked, found):
                return None
            if len(rows) < step:
                break  # every lead that could have calls in the window has been seen
            if self._beats(sorted(found.items(), key=_rank_key)[:top], rows[-1]):
                break  # no lead further down can reach the top
            offset += step
            step *= 2
            if offset > WALK_MAX_ROWS:
                return None
        return sorted(found.items(), key=_rank_key)[:top]

    async def _take(self, rows: Sequence[Any], checked: set[int], found: dict[int, Sums]) -> bool:
        """One step's totals into `found`: whole when all the lead's calls lie inside the
        window, else summed exactly. False when that would sum too many leads one by one."""
        pending = []
        for row in rows:
            lead_id = int(row.lead_id)
            if lead_id in checked:
                continue
            if self._inside(row.first_hour, row.last_hour):
                found[lead_id] = Sums.from_row(row, COUNT_METRICS)
            else:
                pending.append(lead_id)
        if pending:
            if len(checked) + len(pending) > EXACT_MAX:
                return False
            checked.update(pending)
            found.update(await self._exact(pending))
        return True

    def _beats(self, best: list[tuple[int, Sums]], bound: Any) -> bool:
        """The `top`-th lead found ranks above `bound`, the last total read (and so above
        every lead further down)."""
        if len(best) != self.top:
            return False
        kth = best[-1][1]
        return (kth.cost_usd, kth.requests) > (Decimal(bound.cost_usd), int(bound.requests))

    async def _named(self, best: list[tuple[int, Sums]]) -> list[_RankedLead]:
        """The best leads with their company names; a lead deleted meanwhile drops out."""
        from sqlalchemy import select

        from salesctl.db.models.crm import Lead

        leads = Lead.__table__
        names = dict(
            (
                await self.session.execute(
                    select(leads.c.id, leads.c.company_name).where(
                        leads.c.id.in_([lead_id for lead_id, _ in best])
                    )
                )
            ).all()
        )
        return [
            _RankedLead(lead_id, names[lead_id], sums) for lead_id, sums in best if lead_id in names
        ]


async def _unfolded_leads(
    session: AsyncSession, plan: WindowPlan, filters: CostFilters
) -> set[int]:
    """Leads with calls in the window that are not folded yet (above the watermark, in a gap)."""
    from sqlalchemy import and_, func, select, union_all

    from salesctl.db.models.analytics import RollupGap, RollupState
    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.rollups import STATE_NAME, _filter_conditions, _in_window, _Unindexed

    t = AICostTracking.__table__
    state = RollupState.__table__
    gaps = RollupGap.__table__
    watermark = func.coalesce(
        select(state.c.folded_through_id).where(state.c.name == STATE_NAME).scalar_subquery(), 0
    )
    # SQLite picks indexes by rule: keep the tail on the rowid range, as the report does.
    columns: Any = _Unindexed(t) if _dialect(session) == "sqlite" else t
    conditions = [
        columns.c.lead_id.is_not(None),
        *_in_window(columns.c.timestamp, plan.since, plan.until),
        *_filter_conditions(columns, filters, None),
    ]
    queries = [
        select(columns.c.lead_id.label("lead_id")).where(
            t.c.id > plan.state.watermark, t.c.id > watermark, *conditions
        )
    ]
    if _dialect(session) == "postgresql":
        queries.append(
            select(t.c.lead_id)
            .select_from(gaps.join(t, and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi)))
            .where(t.c.id <= watermark, *conditions)
        )
    query = union_all(*queries) if len(queries) > 1 else queries[0]
    return {int(i) for i in (await session.execute(query)).scalars()}


async def _by_user(
    session: AsyncSession, plan: WindowPlan, filters: CostFilters, top: int, forced: Source
) -> list[UserCost]:
    """Each user's spend, session count and most expensive sessions."""
    from sqlalchemy import func, select

    dims = ("user_id", "session_id")
    source = _source_for("sessions", filters, dims, COUNT_METRICS, forced)
    facts = union_query(
        _dialect(session), plan, filters, "sessions", dims, source=source, metrics=COUNT_METRICS
    )
    sessions = (
        select(facts.c.user_id, facts.c.session_id, *outer_sums(facts, COUNT_METRICS))
        .where(facts.c.user_id != "")
        .group_by(facts.c.user_id, facts.c.session_id)
        .subquery("sessions")
    )
    per_user = (
        select(
            sessions.c.user_id,
            func.count(func.nullif(sessions.c.session_id, "")).label("sessions"),
            *outer_sums(sessions, COUNT_METRICS),
        )
        .group_by(sessions.c.user_id)
        .order_by(func.sum(sessions.c.cost_usd).desc(), sessions.c.user_id)
    )
    if top > 0:
        per_user = per_user.limit(top)
    users = (await session.execute(per_user)).all()
    if not users:
        return []
    ranked = select(
        sessions,
        func.row_number()
        .over(
            partition_by=sessions.c.user_id,
            order_by=(
                sessions.c.cost_usd.desc(),
                sessions.c.requests.desc(),
                sessions.c.session_id,
            ),
        )
        .label("rank"),
    ).where(sessions.c.user_id.in_([u.user_id for u in users]), sessions.c.session_id != "")
    ranked_q = ranked.subquery("ranked")
    top_rows = (
        await session.execute(
            select(ranked_q)
            .where(ranked_q.c.rank <= 3)
            .order_by(ranked_q.c.user_id, ranked_q.c.rank)
        )
    ).all()
    tops: dict[str, list[SessionCost]] = defaultdict(list)
    for row in top_rows:
        s = Sums.from_row(row, COUNT_METRICS)
        tops[row.user_id].append(SessionCost(row.session_id, s.known_cost, s.requests))
    result = []
    for row in users:
        s = Sums.from_row(row, COUNT_METRICS)
        result.append(
            UserCost(
                user_id=row.user_id,
                total_cost_usd=s.known_cost,
                total_requests=s.requests,
                sessions=int(row.sessions),
                unpriced_requests=s.unpriced_requests,
                top_sessions=tops[row.user_id],
            )
        )
    return result


async def _percentiles(
    session: AsyncSession, plan: WindowPlan, filters: CostFilters
) -> list[AgentPercentiles]:
    """p50/p95 of latency and cost per agent, nearest rank, from the detail rows."""
    from sqlalchemy import func, literal_column, or_, select

    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.rollups import _filter_conditions, _in_window

    t = AICostTracking.__table__
    mode = func.coalesce(t.c.agent_mode, literal_column("''"))
    found: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(dict)
    for name, column in (("latency", t.c.latency_ms), ("cost", t.c.cost_usd)):
        part = (t.c.agent_type, mode)
        ranked = (
            select(
                t.c.agent_type,
                mode.label("agent_mode"),
                column.label("value"),
                func.row_number().over(partition_by=part, order_by=column).label("rn"),
                func.count().over(partition_by=part).label("n"),
            )
            .where(
                column.is_not(None),
                *_in_window(t.c.timestamp, plan.since, plan.until),
                *_filter_conditions(t, filters, None),
            )
            .subquery()
        )
        rank = {p: (ranked.c.n * p + 99) // 100 for p in (50, 95)}
        query = select(
            ranked.c.agent_type, ranked.c.agent_mode, ranked.c.value, ranked.c.rn, ranked.c.n
        ).where(or_(ranked.c.rn == rank[50], ranked.c.rn == rank[95]))
        for row in (await session.execute(query)).all():
            key = (row.agent_type, row.agent_mode or None)
            n, rn = int(row.n), int(row.rn)
            for p in (50, 95):
                if rn == (n * p + 99) // 100:
                    found[key][f"{name}_p{p}"] = row.value
    result = [
        AgentPercentiles(
            agent_type=agent_type,
            agent_mode=agent_mode,
            latency_p50_ms=values.get("latency_p50"),
            latency_p95_ms=values.get("latency_p95"),
            cost_p50_usd=_money(values.get("cost_p50")),
            cost_p95_usd=_money(values.get("cost_p95")),
        )
        for (agent_type, agent_mode), values in found.items()
    ]
    result.sort(key=lambda p: (p.agent_type, p.agent_mode or ""))
    return result


def _money_or_zero(value: Decimal) -> Decimal:
    return value.normalize() if value else Decimal(0)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).normalize()


def _notes(
    plan: WindowPlan,
    state: FoldState,
    filters: CostFilters,
    source: Source,
    options: ReportOptions,
) -> list[str]:
    notes = []
    pruned = state.pruned_before
    if plan.rounded and pruned is not None:
        notes.append(
            f"detail rows before {pruned.isoformat()} were pruned: times before it are "
            "rounded down to the hour"
        )
    reaches_pruned = pruned is not None and (filters.since is None or filters.since < pruned)
    if pruned is not None and reaches_pruned and (source == "detail" or options.percentiles):
        notes.append(
            f"figures read from detail rows cover only calls since {pruned.isoformat()} "
            "(older rows were pruned)"
        )
    return notes
