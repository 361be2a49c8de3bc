"""`costs savings`: what the smart router and the cache saved, against what was spent.

The router's saving is measured against one assumption, stated with the report: without the
router, every routed call would have gone to the premium tier's model (`router.complex[0]`).
So every smart-router call whose tier the router chose (answered by a provider, not the
cache) is re-priced there from its token counts. Calls whose model the agent's configuration
pinned, or that a hard budget limit stepped down to a cheaper tier, are not the router's doing
and are left out (their routing record says `chosen_by`). Every cache hit counts at its
original price (`saved_usd`, recorded by the gateway). Pricing is linear in tokens, so the
re-pricing works on the rollups' token sums; tiered long-context prices use their base tier.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.reports.filters import CostFilters
from salesctl.reports.rollups import AGENT_DIMS, ALL_METRICS, Sums

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from salesctl.config import Settings
    from salesctl.llm.pricing import ModelPrices

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class AgentSavings:
    agent_type: str
    spent_usd: Decimal | None
    router_saved_usd: Decimal | None
    cache_saved_usd: Decimal
    without_router_usd: Decimal | None
    without_cache_usd: Decimal | None
    routed_requests: int
    cache_hits: int


@dataclass(frozen=True)
class SavingsReport:
    since: datetime | None
    until: datetime | None
    premium_provider: str
    premium_model: str
    total: AgentSavings
    by_agent: list[AgentSavings]
    notes: list[str] = field(default_factory=list)
    not_router_chosen: int = 0
    """Smart-router calls left out: the model was pinned by config or a budget stepped it down."""
    assumption: str = ""


def assumption(provider: str, model: str) -> str:
    """What the router's saving is measured against, in words (shown with the report)."""
    return (
        "Router savings assume every call the router routed would otherwise have gone to the "
        f"premium tier, {provider}:{model}; only calls whose tier the router chose count. "
        "Cache hits count at their original price."
    )


def premium_cost(sums: Sums, prices: ModelPrices) -> Decimal | None:
    """What these tokens would have cost on the premium model."""
    if prices.input_per_mtok is None or prices.output_per_mtok is None:
        return None
    uncached = sums.prompt_tokens - sums.cache_read_tokens - sums.cache_write_tokens
    read = prices.cache_read_per_mtok if prices.cache_read_per_mtok is not None else None
    write = prices.cache_write_per_mtok if prices.cache_write_per_mtok is not None else None
    total = (
        uncached * prices.input_per_mtok
        + sums.completion_tokens * prices.output_per_mtok
        + sums.cache_read_tokens * (read if read is not None else prices.input_per_mtok)
        + sums.cache_write_tokens * (write if write is not None else prices.input_per_mtok)
    )
    return (total / MILLION).quantize(Decimal("1e-10"))


def _premium(settings: Settings) -> tuple[str, str]:
    from salesctl.config import canonical_provider

    choice = settings.router.complex[0] if settings.router.complex else "claude:claude-sonnet-4-5"
    provider, _, model = choice.partition(":")
    return canonical_provider(provider), model


def _norm(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.normalize() if value else Decimal(0)


async def read_savings(
    session: AsyncSession,
    filters: CostFilters,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> SavingsReport:
    from salesctl.llm.pricing import PriceBook
    from salesctl.reports.filters import verify_agents
    from salesctl.reports.rollups import aggregate, plan_window, read_state

    filters = await verify_agents(session, filters)
    now = now or datetime.now(UTC)
    provider, model = _premium(settings)
    prices = PriceBook.from_settings(settings, warn=lambda _m: None).prices_for(
        provider, model, now
    )
    state = await read_state(session)
    plan = plan_window(filters.since, filters.until, state)
    groups = await aggregate(
        session, plan, filters, "all", AGENT_DIMS, source="rollup", metrics=ALL_METRICS
    )
    not_chosen = await _not_router_chosen(session, filters)
    notes: list[str] = []
    if prices is None or prices.input_per_mtok is None:
        notes.append(f"no price known for {provider}:{model}: router savings are unknown")
    per_agent: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"all": Sums(), "routed": Sums(), "repriced": Decimal(0), "hits": Sums()}
    )
    unpriced_routed = 0
    for (agent_type, mode, g_provider, g_model, status, cache_hit), sums in groups:
        entry = per_agent[agent_type]
        entry["all"].add(sums)
        if cache_hit:
            entry["hits"].add(sums)
        elif mode == "smart_router" and status == "ok":
            if sums.unpriced_requests:
                # A model without a price: its calls cannot be compared (the whole group, since
                # a model is unpriced for all its calls unless a price arrived mid-window).
                unpriced_routed += sums.requests
                continue
            entry["routed"].add(sums)
            if (g_provider, g_model) == (provider, model):
                entry["repriced"] += sums.cost_usd
            elif prices is not None:
                entry["repriced"] += premium_cost(sums, prices) or Decimal(0)
    left_out = 0
    for (agent_type, g_provider, g_model), sums in not_chosen:
        if sums.unpriced_requests:
            continue  # already left out with the unpriced groups
        entry = per_agent[agent_type]
        left_out += sums.requests
        entry["routed"].add(_negated(sums))
        if (g_provider, g_model) == (provider, model):
            entry["repriced"] -= sums.cost_usd
        elif prices is not None:
            entry["repriced"] -= premium_cost(sums, prices) or Decimal(0)
    if left_out:
        notes.append(
            f"{left_out} smart-router call(s) whose model was pinned by config or stepped down "
            "by a budget limit are not counted as router savings"
        )
    pruned = state.pruned_before
    if pruned is not None and (filters.since is None or filters.since < pruned):
        notes.append(
            "calls pruned from the detail table (before "
            f"{pruned:%Y-%m-%d %H:%M} UTC) count as chosen by the router"
        )
    if unpriced_routed:
        notes.append(
            f"{unpriced_routed} routed call(s) on models without a price are left out of the "
            "router savings"
        )
    rows = [_row(name, e, prices) for name, e in sorted(per_agent.items())]
    rows.sort(key=lambda r: (-(r.router_saved_usd or 0) - r.cache_saved_usd, r.agent_type))
    return SavingsReport(
        since=filters.since,
        until=filters.until,
        premium_provider=provider,
        premium_model=model,
        total=_sum_rows(rows, prices is not None and prices.input_per_mtok is not None),
        by_agent=rows,
        notes=notes,
        not_router_chosen=left_out,
        assumption=assumption(provider, model),
    )


def _negated(sums: Sums) -> Sums:
    """`sums` with every fact's sign turned, to take those calls out of a total."""
    from dataclasses import fields

    return Sums(**{f.name: -getattr(sums, f.name) for f in fields(sums)})


async def _not_router_chosen(
    session: AsyncSession, filters: CostFilters
) -> list[tuple[tuple[str, str, str], Sums]]:
    """Answered smart-router calls whose tier the router did not choose, per agent and model
    (read from the detail rows, whose routing record says who chose)."""
    from sqlalchemy import Integer, cast, func, select

    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.rollups import _filter_conditions, _in_window

    t = AICostTracking.__table__
    chosen_by = t.c.routing["chosen_by"].as_string()
    unpriced = cast(t.c.unpriced, Integer)
    query = (
        select(
            t.c.agent_type,
            t.c.provider,
            t.c.model,
            func.count().label("requests"),
            func.sum(1 - unpriced).label("priced_requests"),
            func.sum(unpriced).label("unpriced_requests"),
            func.coalesce(func.sum(t.c.cost_usd), 0).label("cost_usd"),
            func.sum(t.c.prompt_tokens).label("prompt_tokens"),
            func.sum(t.c.completion_tokens).label("completion_tokens"),
            func.sum(t.c.cache_read_tokens).label("cache_read_tokens"),
            func.sum(t.c.cache_write_tokens).label("cache_write_tokens"),
        )
        .where(
            t.c.agent_mode == "smart_router",
            t.c.status == "ok",
            t.c.cache_hit.is_(False),
            chosen_by.in_(("config", "budget")),
            *_in_window(t.c.timestamp, filters.since, filters.until),
            *_filter_conditions(t, filters, None),
        )
        .group_by(t.c.agent_type, t.c.provider, t.c.model)
    )
    metrics = (
        "requests",
        "priced_requests",
        "unpriced_requests",
        "cost_usd",
        "prompt_tokens",
        "completion_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    )
    return [
        ((row.agent_type, row.provider, row.model), Sums.from_row(row, metrics))
        for row in await session.execute(query)
    ]


def _row(name: str, entry: dict[str, Any], prices: ModelPrices | None) -> AgentSavings:
    spent = entry["all"].known_cost
    routed: Sums = entry["routed"]
    known = prices is not None and prices.input_per_mtok is not None
    router_saved = (entry["repriced"] - routed.cost_usd) if known else None
    if not routed.requests:
        router_saved = Decimal(0)
    cache_saved = entry["hits"].saved_usd
    return AgentSavings(
        agent_type=name,
        spent_usd=_norm(spent),
        router_saved_usd=_norm(router_saved),
        cache_saved_usd=_norm(cache_saved) or Decimal(0),
        without_router_usd=_norm(spent + router_saved)
        if spent is not None and router_saved is not None
        else None,
        without_cache_usd=_norm(spent + cache_saved) if spent is not None else None,
        routed_requests=routed.requests,
        cache_hits=entry["hits"].requests,
    )


def _sum_rows(rows: list[AgentSavings], priced: bool) -> AgentSavings:
    def add(values: list[Decimal | None]) -> Decimal | None:
        if any(v is None for v in values):
            return None
        return _norm(sum((v for v in values if v is not None), Decimal(0)))

    return AgentSavings(
        agent_type="total",
        spent_usd=add([r.spent_usd for r in rows]),
        router_saved_usd=add([r.router_saved_usd for r in rows]) if priced or not rows else None,
        cache_saved_usd=add([r.cache_saved_usd for r in rows]) or Decimal(0),
        without_router_usd=add([r.without_router_usd for r in rows]),
        without_cache_usd=add([r.without_cache_usd for r in rows]),
        routed_requests=sum(r.routed_requests for r in rows),
        cache_hits=sum(r.cache_hits for r in rows),
    )


async def savings_report(
    engine: AsyncEngine, filters: CostFilters, *, settings: Settings
) -> SavingsReport:
    """Fold, then read the savings."""
    from salesctl.db.session import session_factory
    from salesctl.reports.rollups import fold

    await fold(engine)
    async with session_factory(engine)() as session, session.begin():
        return await read_savings(session, filters, settings)
