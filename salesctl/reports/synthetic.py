"""Realistic synthetic tracking rows, for tests and `bench/report_bench.py`.

Each agent calls the model salesctl's defaults give it, with token counts, latencies and
prices of the right order; a share of calls are cache hits (cost 0, `saved_usd` set), failures
(`status='error'`, no cost) or unpriced (`cost_usd` NULL).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.vocabulary import CHAT_AGENT_TYPES, LEAD_AGENT_TYPES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Profile:
    """How one agent calls: mode, model, price per million tokens, typical size and speed."""

    mode: str
    provider: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


PROFILES: dict[str, Profile] = {
    "qualification": Profile(
        "passthrough", "cerebras", "llama3.1-8b", Decimal("0.10"), Decimal("0.10"), 450, 120, 633
    ),
    "enrichment": Profile(
        "passthrough",
        "claude",
        "claude-3-haiku-20240307",
        Decimal("0.25"),
        Decimal("1.25"),
        900,
        300,
        1400,
    ),
    "growth": Profile(
        "passthrough",
        "openrouter",
        "deepseek/deepseek-chat",
        Decimal("0.14"),
        Decimal("0.28"),
        1200,
        500,
        2600,
    ),
    "marketing": Profile(
        "passthrough",
        "claude",
        "claude-sonnet-4-5",
        Decimal("3"),
        Decimal("15"),
        800,
        600,
        4200,
    ),
    "bdr": Profile(
        "passthrough",
        "claude",
        "claude-3-haiku-20240307",
        Decimal("0.25"),
        Decimal("1.25"),
        600,
        250,
        1100,
    ),
    "conversation": Profile(
        "passthrough",
        "claude",
        "claude-3-haiku-20240307",
        Decimal("0.25"),
        Decimal("1.25"),
        400,
        150,
        900,
    ),
    "sr_bdr": Profile(
        "smart_router",
        "gemini",
        "gemini-1.5-flash",
        Decimal("0.075"),
        Decimal("0.30"),
        700,
        200,
        1823,
    ),
    "pipeline_manager": Profile(
        "smart_router",
        "claude",
        "claude-3-haiku-20240307",
        Decimal("0.25"),
        Decimal("1.25"),
        1500,
        400,
        2100,
    ),
    "customer_success": Profile(
        "smart_router",
        "gemini",
        "gemini-1.5-flash",
        Decimal("0.075"),
        Decimal("0.30"),
        600,
        250,
        1700,
    ),
}


def price(profile: Profile, prompt_tokens: int, completion_tokens: int) -> Decimal:
    cost = (
        prompt_tokens * profile.input_per_mtok + completion_tokens * profile.output_per_mtok
    ) / MILLION
    return cost.quantize(Decimal("1e-10"))


def make_call(
    *,
    agent_type: str = "qualification",
    timestamp: datetime | None = None,
    lead_id: int | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    latency_ms: int | None = None,
    cost_usd: Decimal | str | bool | None = True,
    cache_hit: bool = False,
    status: str = "ok",
    cost_estimated: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One `ai_cost_tracking` row as a dict (`cost_usd=True`: priced from the profile).

    `cost_usd=None` makes it unpriced; `status='error'` has no cost; a cache hit costs 0 and
    saves what the call would have cost; `cost_estimated` marks a priced cost as estimated.
    """
    profile = PROFILES.get(agent_type, PROFILES["qualification"])
    prompt = profile.prompt_tokens if prompt_tokens is None else prompt_tokens
    completion = profile.completion_tokens if completion_tokens is None else completion_tokens
    full_price = price(profile, prompt, completion)
    unpriced = cost_usd is None and status == "ok"
    saved = None
    if status != "ok":
        cost, completion = None, 0
    elif cache_hit:
        cost, saved = Decimal(0), full_price
    elif cost_usd is True:
        cost = full_price
    elif cost_usd is None or cost_usd is False:
        cost = None
    else:
        cost = Decimal(str(cost_usd))
    row: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "timestamp": timestamp or datetime.now(UTC),
        "agent_type": agent_type,
        "agent_mode": profile.mode,
        "lead_id": lead_id,
        "session_id": session_id,
        "user_id": user_id,
        "prompt_text": None,
        "prompt_tokens": prompt,
        "prompt_complexity": "simple" if profile.mode == "smart_router" else None,
        "completion_text": None,
        "completion_tokens": completion,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "provider": provider or profile.provider,
        "model": model or profile.model,
        "cost_usd": cost,
        "saved_usd": saved,
        "price_source": None if cost is None else "genai-prices",
        "unpriced": unpriced,
        "latency_ms": (0 if cache_hit else profile.latency_ms)
        if latency_ms is None
        else latency_ms,
        "cache_hit": cache_hit,
        "status": status,
        "error_type": "provider_error" if status == "error" else None,
        "attempts": 1,
        "simulated": True,
        "cost_estimated": cost_estimated and cost is not None,
        "configured_model": None,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
    }
    row.update(extra)
    return row


def synthetic_calls(
    count: int,
    *,
    start: datetime,
    days: int = 90,
    leads: int = 1000,
    users: int = 50,
    seed: int = 0,
    texts: bool = False,
) -> Iterator[dict[str, Any]]:
    """`count` calls spread over `days` from `start`, in time order.

    About two thirds come from the lead agents, in bursts per lead (a lead is worked on a
    few days after it arrives); the rest are chat sessions of `users` reps. Some 20 % of lead
    calls are cache hits, 2 % fail, 0.5 % are unpriced, 0.5 % are priced on an estimate;
    latencies vary log-normally.
    """
    rng = random.Random(seed)
    span = timedelta(days=days).total_seconds()
    lead_arrival = [rng.random() * span for _ in range(leads)]
    order = sorted(range(leads), key=lead_arrival.__getitem__)
    session_serial = 0
    session_left = 0
    session: tuple[str, str, str] = ("", "", "")
    for offset in _sorted_offsets(count, span, rng):
        timestamp = start + timedelta(seconds=offset)
        if rng.random() < 0.66 and leads:
            # A lead that has arrived by now, most likely a recent one.
            position = _recent_index(lead_arrival, order, offset, rng)
            agent: str = rng.choices(LEAD_AGENT_TYPES, weights=(40, 20, 10, 8, 12, 10))[0]
            lead_id, session_id, user_id = order[position] + 1, None, None
        else:
            if session_left <= 0:
                session_serial += 1
                session_left = rng.randint(2, 12)
                user = f"rep_{rng.randint(1, max(users, 1)):03d}"
                agent_name = rng.choices(CHAT_AGENT_TYPES, weights=(60, 25, 15))[0]
                session = (agent_name, f"sess_{seed}_{session_serial:07d}", user)
            session_left -= 1
            agent, session_id, user_id = session
            lead_id = None
        profile = PROFILES[agent]
        roll = rng.random()
        status = "error" if roll < 0.02 else "ok"
        cache_hit = status == "ok" and agent in LEAD_AGENT_TYPES and roll > 0.8
        cost: Any = None if 0.02 <= roll < 0.025 else True
        prompt = max(1, int(rng.gauss(profile.prompt_tokens, profile.prompt_tokens / 4)))
        completion = max(
            1, int(rng.gauss(profile.completion_tokens, profile.completion_tokens / 4))
        )
        latency = int(profile.latency_ms * rng.lognormvariate(0, 0.35))
        model = profile.model
        provider = profile.provider
        if profile.mode == "smart_router" and rng.random() < 0.2:
            provider, model = "claude", "claude-sonnet-4-5"
        if cost is None:  # a model no price list knows yet: all its calls are unpriced
            model = f"{profile.model}-preview"
        row = make_call(
            agent_type=agent,
            timestamp=timestamp,
            lead_id=lead_id,
            session_id=session_id,
            user_id=user_id,
            provider=provider,
            model=model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            latency_ms=0 if cache_hit else latency,
            cost_usd=cost,
            cache_hit=cache_hit,
            status=status,
            cost_estimated=0.025 <= roll < 0.03,
        )
        if model == "claude-sonnet-4-5" and profile.model != model:  # routed up a tier
            if row["cost_usd"] is not None:
                row["cost_usd"] = price(PROFILES["marketing"], prompt, completion)
            row["prompt_complexity"] = "complex"
        if texts:
            row["prompt_text"] = f"{agent} prompt for lead {lead_id or session_id}"
        yield row


def _sorted_offsets(count: int, span: float, rng: random.Random) -> Iterator[float]:
    """`count` uniform offsets in [0, span), ascending, a slice at a time (constant memory)."""
    slices = max(1, count // 50_000)
    base, extra = divmod(count, slices)
    width = span / slices
    for index in range(slices):
        n = base + (1 if index < extra else 0)
        yield from sorted(index * width + rng.random() * width for _ in range(n))


def _recent_index(arrival: list[float], order: list[int], offset: float, rng: random.Random) -> int:
    """Index into `order` of a lead already arrived at `offset`, biased to recent arrivals."""
    lo, hi = 0, len(order)
    while lo < hi:
        mid = (lo + hi) // 2
        if arrival[order[mid]] <= offset:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0
    back = min(lo - 1, int(rng.expovariate(1 / 40)))
    return lo - 1 - back


async def insert_calls(engine: AsyncEngine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert tracking rows as given (one transaction, executemany)."""
    from sqlalchemy import insert

    from salesctl.db.models.tracking import AICostTracking

    if rows:
        async with engine.begin() as conn:
            await conn.execute(insert(AICostTracking.__table__), list(rows))


async def insert_leads(engine: AsyncEngine, names: Sequence[str], **values: Any) -> list[int]:
    """Insert leads by company name; returns their ids in order."""
    from sqlalchemy import insert

    from salesctl.db.models.crm import Lead

    now = datetime.now(UTC)
    rows = [{"company_name": n, "created_at": now, "updated_at": now, **values} for n in names]
    async with engine.begin() as conn:
        table = Lead.__table__
        query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = await conn.execute(query, rows)
        return [int(i) for i in result.scalars()]
