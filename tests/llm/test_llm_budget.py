"""Hard budget limits in the gateway: real SDK adapters over HTTP to the provider simulator,
real SQLite and PostgreSQL. Refused calls never reach the simulator (its ledger says so)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from salesctl.config import ProviderOptions, Settings
from salesctl.db.models import AICostTracking, Lead
from salesctl.errors import BudgetExceeded
from salesctl.llm.gateway import CostOptimizedLLMProvider
from salesctl.llm.hard_limits import max_cost
from salesctl.llm.simulator import Simulator
from salesctl.llm.tracking import TrackingRecord, insert_rows
from salesctl.llm.types import LLMConfig, Message, ProviderRequest
from salesctl.timewindow import local_midnight, month_start

PROVIDERS = ("cerebras", "claude", "gemini", "openrouter", "openai")
QUALIFY = LLMConfig(
    agent_type="qualification", provider="cerebras", model="llama3.1-8b", cache=False
)
ROUTED = LLMConfig(agent_type="sr_bdr", session_id="s1", mode="smart_router")
COMPLEX_PROMPT = "Analyze this deal's blockers and recommend a negotiation strategy"
SONNET, HAIKU = "claude-sonnet-4-5", "claude-3-haiku-20240307"


def make_gateway(engine: Any, **budget: Any) -> CostOptimizedLLMProvider:
    options = ProviderOptions(timeout_s=5, max_retries=0)
    settings = Settings(providers={p: options for p in PROVIDERS}, budget=budget)
    return CostOptimizedLLMProvider(engine=engine, settings=settings)


def most(llm: CostOptimizedLLMProvider, prompt: str, max_tokens: int, model: str) -> Decimal:
    """What the guard reserves for a one-message call (the bound the tests hold it to)."""
    provider = "cerebras" if model == "llama3.1-8b" else "claude"
    request = ProviderRequest(
        model=model, messages=(Message(role="user", content=prompt),), max_tokens=max_tokens
    )
    cost = max_cost(llm.prices, provider, model, request, datetime.now(UTC))
    assert cost is not None
    return cost


async def rows(engine: Any) -> list[AICostTracking]:
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        result = await session.execute(select(AICostTracking).order_by(AICostTracking.id))
        return list(result.scalars())


async def spent_in_db(engine: Any) -> Decimal:
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        total = await session.scalar(select(func.sum(AICostTracking.cost_usd)))
    return Decimal(total or 0)


async def earlier_spend(
    engine: Any, cost: str, *, agent: str = "qualification", at: datetime | None = None
) -> None:
    """A call tracked by another process (already in the database)."""
    import uuid

    record = TrackingRecord(
        request_id=str(uuid.uuid4()),
        timestamp=at or datetime.now(UTC),
        agent_type=agent,
        agent_mode="passthrough",
        provider="cerebras",
        model="llama3.1-8b",
        prompt_tokens=1000,
        completion_tokens=100,
        cost_usd=Decimal(cost),
        price_source="genai-prices",
    )
    await insert_rows(engine, [record.to_row()])


async def test_without_hard_limits_the_gateway_has_no_guard(engine) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine, daily_usd="5")
    assert llm.budget is None
    await llm.aclose()


async def test_a_call_over_the_daily_limit_is_refused_before_the_provider(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    await earlier_spend(engine, "1.00")
    llm = make_gateway(engine, hard_daily_usd="1")
    with pytest.raises(BudgetExceeded) as refused:
        await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=200)
    stream = await llm.complete(
        prompt="Qualify Globex", config=QUALIFY, max_tokens=200, stream=True
    )
    with pytest.raises(BudgetExceeded):
        await stream.text()
    await llm.aclose()

    assert sim.ledger == []
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("hard daily budget of $1.00 would be exceeded: $1.00 spent today")
    assert "cerebras:llama3.1-8b" in message
    assert "budget.hard_daily_usd" in message
    assert (refused.value.scope, refused.value.limit_usd) == ("daily", Decimal(1))
    earlier, first, second = await rows(engine)
    assert earlier.status == "ok"
    for row in (first, second):
        assert (row.status, row.error_type) == ("refused", "budget_exceeded")
        assert (row.cost_usd, row.prompt_tokens, row.completion_tokens) == (0, 0, 0)
        assert (row.provider, row.model, row.attempts) == ("cerebras", "llama3.1-8b", 0)
    assert first.request_id == refused.value.tracking_id
    assert first.prompt_text == "Qualify TechCorp Inc"


async def test_a_cache_hit_is_served_while_over_budget(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    cached = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
    free = make_gateway(engine)
    first = await free.complete(prompt="Qualify TechCorp Inc", config=cached, max_tokens=100)
    await free.aclose()

    capped = make_gateway(engine, hard_daily_usd="0")
    again = await capped.complete(prompt="Qualify TechCorp Inc", config=cached, max_tokens=100)
    with pytest.raises(BudgetExceeded):
        await capped.complete(prompt="Qualify Initech", config=cached, max_tokens=100)
    await capped.aclose()

    assert (again.cache_hit, again.text, again.cost_usd) == (True, first.text, 0)
    assert len(sim.ledger) == 1
    assert [r.status for r in await rows(engine)] == ["ok", "ok", "refused"]


async def test_a_burst_of_concurrent_calls_never_overshoots_the_limit(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    prompts = [f"Qualify lead number {i:03d} of the imported list" for i in range(50)]
    probe = make_gateway(engine)
    one_call = most(probe, prompts[0], 20, "llama3.1-8b")  # answers fill max_tokens
    await probe.aclose()
    limit = (one_call * 10).quantize(Decimal("1e-10"))
    llm = make_gateway(engine, hard_daily_usd=str(limit))

    outcomes = await asyncio.gather(
        *(llm.complete(prompt=p, config=QUALIFY, max_tokens=20) for p in prompts),
        return_exceptions=True,
    )
    await llm.aclose()

    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BudgetExceeded)]
    assert len(answered) + len(refused) == 50
    assert len(answered) >= 10  # reservations settle lower than they hold, making room
    assert refused, "fifty calls cannot fit in ten calls' worth"
    spent = sum((r.cost_usd for r in answered), Decimal(0))  # type: ignore[misc]
    assert spent <= limit
    assert spent == await spent_in_db(engine)
    assert len(sim.ledger) == len(answered)
    tracked = await rows(engine)
    assert sum(r.status == "refused" for r in tracked) == len(refused)
    assert {r.request_id for r in tracked if r.status == "refused"} == {
        e.tracking_id for e in refused
    }


async def test_spend_from_other_processes_is_counted_and_reread_near_the_limit(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine, hard_daily_usd="0.01")
    one_call = most(llm, "Qualify TechCorp Inc", 10_000, "llama3.1-8b")
    assert Decimal("0.0009") < one_call < Decimal("0.0011")
    await earlier_spend(engine, "0.0065")  # before this process started

    first = await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=10_000)
    assert first.cost_usd is not None
    await llm.flush()  # its row lands, and its settlement with it
    await earlier_spend(engine, "0.003")  # another process, meanwhile (no limit set there)
    with pytest.raises(BudgetExceeded) as refused:
        await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=10_000)
    await llm.aclose()

    assert len(sim.ledger) == 1
    assert refused.value.spent_usd == Decimal("0.0095") + first.cost_usd


async def test_each_call_is_held_then_counted_once_re_reads_included(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    await earlier_spend(engine, "0.25")
    llm = make_gateway(engine, hard_daily_usd="100", hard_monthly_usd="1000")
    assert llm.budget is not None
    results = [
        await llm.complete(prompt=f"Qualify lead {i}", config=QUALIFY, max_tokens=50)
        for i in range(3)
    ]
    expected = Decimal("0.25") + sum((r.cost_usd for r in results), Decimal(0))  # type: ignore[misc]
    held = await llm.budget.view()
    assert held.daily_usd + held.reserved_usd >= expected  # in flight: held at their most

    await llm.flush()  # the rows land, each settling its hold in the same transaction
    settled = await llm.budget.view()
    await llm.budget.refresh()  # a re-read of the tracking table counts nothing twice
    reread = await llm.budget.view()
    await llm.aclose()

    for view in (settled, reread):
        assert (view.daily_usd, view.monthly_usd, view.reserved_usd) == (expected, expected, 0)
    assert expected == await spent_in_db(engine)


async def test_smart_router_steps_down_a_tier_near_the_limit(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine, hard_daily_usd="0.005")
    assert most(llm, COMPLEX_PROMPT, 1000, SONNET) > Decimal("0.005")
    assert most(llm, COMPLEX_PROMPT, 1000, HAIKU) < Decimal("0.005")
    result = await llm.complete(prompt=COMPLEX_PROMPT, config=ROUTED, max_tokens=1000)
    await llm.aclose()

    assert (result.provider, result.model, result.complexity) == ("claude", HAIKU, "complex")
    assert [c.model for c in sim.ledger] == [HAIKU]
    [row] = await rows(engine)
    assert row.status == "ok"
    assert row.routing is not None
    assert row.routing["chosen"] == f"claude:{HAIKU}"
    assert row.routing["chosen_by"] == "budget"  # not the router's saving (costs savings)
    assert any(
        "stepped down from the complex tier to medium" in r and "hard daily budget" in r
        for r in row.routing["reasons"]
    )


@pytest.mark.parametrize(
    ("config", "budget"),
    [
        (ROUTED, {"hard_daily_usd": "0.005", "step_down_near_limit": False}),
        (
            LLMConfig(agent_type="sr_bdr", provider="claude", model=SONNET),
            {"hard_daily_usd": "0.005"},
        ),
    ],
    ids=["step-down-off", "passthrough"],
)
async def test_without_step_down_the_premium_call_is_refused(
    sim: Simulator, engine, config: LLMConfig, budget: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine, **budget)
    with pytest.raises(BudgetExceeded, match=f"claude:{SONNET}"):
        await llm.complete(prompt=COMPLEX_PROMPT, config=config, max_tokens=1000)
    await llm.aclose()

    assert sim.ledger == []
    [row] = await rows(engine)
    assert (row.status, row.model) == ("refused", SONNET)


async def test_a_per_agent_limit_holds_only_that_agent(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    await earlier_spend(engine, "0.50", agent="enrichment")
    await earlier_spend(engine, "0.0099", agent="qualification")
    llm = make_gateway(engine, hard_per_agent_daily_usd={"qualification": "0.01"})
    with pytest.raises(BudgetExceeded) as refused:
        await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=10_000)
    enriched = await llm.complete(
        prompt="Enrich TechCorp Inc",
        config=LLMConfig(agent_type="enrichment", provider="cerebras", model="llama3.1-8b"),
        max_tokens=10_000,
    )
    await llm.aclose()

    assert str(refused.value).startswith(
        "hard agent 'qualification' daily budget of $0.01 would be exceeded: $0.0099 spent today"
    )
    assert "budget.hard_per_agent_daily_usd.qualification" in str(refused.value)
    assert enriched.cost_usd is not None
    assert [c.model for c in sim.ledger] == ["llama3.1-8b"]


async def test_the_monthly_limit_counts_this_month_only(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    await earlier_spend(engine, "0.004", at=now)
    await earlier_spend(engine, "0.002", at=local_midnight(today, zone) - timedelta(minutes=1))
    await earlier_spend(
        engine, "5", at=local_midnight(month_start(today), zone) - timedelta(hours=1)
    )
    this_month = Decimal("0.006") if today.day > 1 else Decimal("0.004")
    settings = Settings(
        providers={p: ProviderOptions(timeout_s=5, max_retries=0) for p in PROVIDERS},
        budget={"hard_monthly_usd": str(this_month + Decimal("0.0005"))},
        timezone="Europe/Berlin",
    )
    llm = CostOptimizedLLMProvider(engine=engine, settings=settings)
    with pytest.raises(BudgetExceeded) as refused:
        await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=10_000)
    small = await llm.complete(prompt="Qualify TechCorp Inc", config=QUALIFY, max_tokens=100)
    assert llm.budget is not None
    await llm.flush()
    view = await llm.budget.view()
    await llm.aclose()

    assert str(refused.value).startswith(
        f"hard monthly budget of ${this_month + Decimal('0.0005')} would be exceeded: "
        f"${this_month} spent this month (Europe/Berlin)"
    )
    assert small.cost_usd is not None
    assert view.monthly_usd == this_month + small.cost_usd  # the only limit set, so the
    # only figure the ledger keeps
    assert len(sim.ledger) == 1


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def two_leads(db_env: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> str:
    from salesctl.config import get_settings

    async def seed() -> None:
        from salesctl.db.session import create_engine, session_factory

        engine = create_engine(db_env)
        async with session_factory(engine)() as session, session.begin():
            session.add_all([Lead(company_name="TechCorp Inc"), Lead(company_name="Globex")])
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("SALESCTL_BUDGET__HARD_DAILY_USD", "0.0000001")
    get_settings.cache_clear()
    return db_env


def refused_rows(url: str) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        from salesctl.db.session import create_engine

        engine = create_engine(url)
        try:
            return [(r.status, r.error_type) for r in await rows(engine)]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_refused_lead_exits_1_with_one_line(two_leads: str, sim: Simulator) -> None:
    from salesctl.cli import app

    result = CliRunner().invoke(app, ["qualify", "--lead", "1"])

    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: hard daily budget of $0.0000001 would be exceeded: $0.00 spent")
    assert "budget.hard_daily_usd" in line
    assert sim.ledger == []
    assert refused_rows(two_leads) == [("refused", "budget_exceeded")]


def test_a_bulk_run_reports_the_refusal_and_stops(two_leads: str, sim: Simulator) -> None:
    import json

    from salesctl.cli import app

    result = CliRunner().invoke(app, ["qualify", "--all", "--concurrency", "1", "--json"])

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "error: run stopped: hard daily budget of $0.0000001" in result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["stopped_by"] == "fatal"
    assert [f["kind"] for f in summary["failures"]] == ["budget_exceeded"]
    assert sim.ledger == []


def test_a_refused_chat_turn_exits_1_with_the_reason(two_leads: str, sim: Simulator) -> None:
    from salesctl.cli import app

    result = CliRunner().invoke(app, ["chat", "sr-bdr"], input="Show me top 3 leads\n")

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: hard daily budget of $0.0000001 would be exceeded")
    )
    assert sim.ledger == []
    assert refused_rows(two_leads) == [("refused", "budget_exceeded")]
