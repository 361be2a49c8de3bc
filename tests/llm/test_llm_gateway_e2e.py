"""The gateway end to end: real SDK adapters over HTTP to the provider simulator.

Each test checks the tracked rows against what the simulator says it served (its ledger):
tokens as reported, the model served, attempts, and cost equal to genai-prices' own price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from salesctl.config import ProviderOptions, Settings
from salesctl.db.models import AICostTracking
from salesctl.errors import ProviderError
from salesctl.llm.gateway import CostOptimizedLLMProvider
from salesctl.llm.simulator import Simulator
from salesctl.llm.types import LLMConfig

GENAI_PROVIDER = {
    "cerebras": "cerebras",
    "claude": "anthropic",
    "gemini": "google",
    "openai": "openai",
    "openrouter": "openrouter",
}
SR_BDR = LLMConfig(agent_type="sr_bdr", session_id="s1", mode="smart_router")
LONG_SYSTEM = "You are the qualification agent for an ICP of SaaS companies. " * 120


pytestmark = pytest.mark.usefixtures("no_backoff")


def make_gateway(engine: Any) -> CostOptimizedLLMProvider:
    options = ProviderOptions(timeout_s=5, max_retries=2)
    settings = Settings(providers={p: options for p in GENAI_PROVIDER})
    return CostOptimizedLLMProvider(engine=engine, settings=settings)


async def tracked(engine: Any) -> list[AICostTracking]:
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        result = await session.execute(select(AICostTracking).order_by(AICostTracking.id))
        return list(result.scalars())


def genai_price(row: AICostTracking) -> Decimal:
    from genai_prices import Usage, calc_price

    usage = Usage(
        input_tokens=row.prompt_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        output_tokens=row.completion_tokens,
    )
    price = calc_price(
        usage,
        row.model,
        provider_id=GENAI_PROVIDER[row.provider],
        genai_request_timestamp=row.timestamp,
    )
    return price.total_price.quantize(Decimal("1e-10"))


def assert_matches_ledger(row: AICostTracking, call: Any) -> None:
    assert (row.provider, row.model) == (call.provider, call.model)
    assert (row.prompt_tokens, row.completion_tokens) == (call.prompt_tokens, call.output_tokens)
    assert (row.cache_read_tokens, row.cache_write_tokens) == (
        call.cache_read_tokens,
        call.cache_write_tokens,
    )
    assert row.simulated is True


async def test_missing_key_falls_back_to_the_next_choice(
    sim: Simulator, engine, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GOOGLE_API_KEY")
    llm = make_gateway(engine)
    result = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()

    assert result.provider == "openai"
    [served] = sim.ledger
    failed, answered = await tracked(engine)
    assert (failed.provider, failed.status, failed.error_type, failed.attempts) == (
        "gemini",
        "error",
        "missing_api_key",
        0,
    )
    assert_matches_ledger(answered, served)
    assert answered.cost_usd == genai_price(answered)
    assert answered.prompt_complexity == "simple"


async def test_429_then_success_records_the_attempts(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    sim.fail_next("cerebras", 429, retry_after=0)
    llm = make_gateway(engine)
    config = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
    result = await llm.complete(prompt="Qualify TechCorp", config=config)
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.status, row.attempts) == ("ok", 2)
    assert_matches_ledger(row, sim.ledger[-1])
    assert row.cost_usd == result.cost_usd == genai_price(row)


async def test_router_falls_back_after_retries_fail(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    sim.fail_next("gemini", 500, times=3)
    llm = make_gateway(engine)
    result = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()
    assert result.provider == "openai"
    failed, answered = await tracked(engine)
    assert (failed.provider, failed.status, failed.attempts, failed.cost_usd) == (
        "gemini",
        "error",
        3,
        None,
    )
    assert failed.error_type == "server_error"
    assert (answered.provider, answered.status) == ("openai", "ok")


async def test_passthrough_failure_after_retries_is_tracked_and_raised(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    sim.fail_next("claude", 503, retry_after=0, times=3)
    llm = make_gateway(engine)
    config = LLMConfig(agent_type="enrichment", provider="claude", model="claude-3-haiku-20240307")
    with pytest.raises(ProviderError) as caught:
        await llm.complete(prompt="Enrich TechCorp", config=config)
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.status, row.error_type, row.attempts) == ("error", caught.value.error_type, 3)
    assert (row.cost_usd, row.prompt_tokens) == (None, 0)


async def test_streamed_call_is_tracked_from_the_final_usage(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine)
    config = LLMConfig(
        agent_type="conversation", provider="claude", model="claude-3-haiku-20240307"
    )
    stream = await llm.complete(prompt="Open the call with TechCorp", config=config, stream=True)
    chunks = [chunk async for chunk in stream]
    await llm.aclose()
    assert len(chunks) > 1
    assert stream.result is not None
    assert "".join(chunks) == stream.result.text
    [row] = await tracked(engine)
    assert_matches_ledger(row, sim.ledger[-1])
    assert row.cost_usd == stream.result.cost_usd == genai_price(row)


async def test_a_cut_stream_is_tracked_with_the_usage_reported_before_the_cut(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    sim.fail_next("claude", kind="cut_stream", after_chunks=2)
    llm = make_gateway(engine)
    config = LLMConfig(
        agent_type="conversation", provider="claude", model="claude-3-haiku-20240307"
    )
    stream = await llm.complete(prompt="Open the call with TechCorp", config=config, stream=True)
    received: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ProviderError):
        await read()
    await llm.aclose()
    [row] = await tracked(engine)
    served = sim.ledger[-1]
    assert (row.status, row.error_type) == ("error", "stream_interrupted")
    assert row.prompt_tokens == served.prompt_tokens
    assert row.completion_text == "".join(received)
    if served.usage_reported:
        assert row.cost_usd == genai_price(row)
    else:
        assert row.cost_usd is None


async def test_openrouter_reported_cost_wins(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine)
    config = LLMConfig(agent_type="growth", provider="openrouter", model="deepseek/deepseek-chat")
    result = await llm.complete(prompt="Market analysis for TechCorp", config=config)
    await llm.aclose()
    [row] = await tracked(engine)
    served = sim.ledger[-1]
    assert served.cost_usd_reported is not None
    assert row.price_source == "provider-reported"
    assert row.cost_usd == result.cost_usd == Decimal(str(served.cost_usd_reported))


async def test_openai_cached_prompt_tokens_are_priced_at_the_cache_rate(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine)
    config = LLMConfig(
        agent_type="qualification", provider="openai", model="gpt-4o-mini", cache=False
    )
    for company in ("TechCorp", "Globex"):
        await llm.complete(prompt=f"Qualify {company}", config=config, system=LONG_SYSTEM)
    await llm.aclose()
    first, second = await tracked(engine)
    assert first.cache_read_tokens == 0
    assert second.cache_read_tokens > 0
    for row, served in zip((first, second), sim.ledger, strict=True):
        assert_matches_ledger(row, served)
        assert row.cost_usd == genai_price(row)
    assert second.cost_usd is not None
    assert first.cost_usd is not None
    assert second.cost_usd < first.cost_usd


async def test_anthropic_cache_writes_and_reads_are_counted_and_priced(
    sim: Simulator, engine
) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine)
    config = LLMConfig(
        agent_type="enrichment", provider="claude", model="claude-3-haiku-20240307", cache=False
    )
    for company in ("TechCorp", "Globex"):
        await llm.complete(
            prompt=f"Enrich {company}", config=config, system=LONG_SYSTEM, cache_prompt=True
        )
    await llm.aclose()
    first, second = await tracked(engine)
    assert first.cache_write_tokens > 0
    assert second.cache_read_tokens > 0
    for row, served in zip((first, second), sim.ledger, strict=True):
        assert_matches_ledger(row, served)
        assert row.cost_usd == genai_price(row)


async def test_response_cache_hit_makes_no_second_request(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    llm = make_gateway(engine)
    config = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
    miss = await llm.complete(prompt="Qualify TechCorp", config=config)
    hit = await llm.complete(prompt="Qualify TechCorp", config=config)
    await llm.aclose()
    assert len(sim.ledger) == 1
    assert hit.text == miss.text
    assert (hit.cache_hit, hit.cost_usd, hit.saved_usd) == (True, Decimal(0), miss.cost_usd)
    assert [r.cache_hit for r in await tracked(engine)] == [False, True]


class Qualification(BaseModel):
    score: int
    tier: str
    reasoning: str


async def test_structured_output_through_the_sdk_with_a_repair(sim: Simulator, engine) -> None:  # type: ignore[no-untyped-def]
    sim.fail_next("gemini", kind="wrong_content")
    llm = make_gateway(engine)
    config = LLMConfig(agent_type="qualification", provider="gemini", model="gemini-1.5-flash")
    result = await llm.complete(
        prompt="Qualify TechCorp", config=config, response_schema=Qualification
    )
    await llm.aclose()
    parsed = Qualification.model_validate_json(result.text)
    assert isinstance(parsed.score, int)
    assert [r.status for r in await tracked(engine)] == ["ok", "ok"]
    assert len(sim.ledger) == 2
