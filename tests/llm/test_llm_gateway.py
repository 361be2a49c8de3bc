"""The gateway core against a scripted in-memory provider, on SQLite and PostgreSQL.

The provider is the narrow seam here: everything above it (validation, routing, cache,
pricing, the tracking writer, the database) is real. End-to-end tests through the real SDKs
and the simulator live in test_llm_gateway_e2e.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from salesctl.config import Settings
from salesctl.db.models import AICostTracking, Lead
from salesctl.errors import ConfigError, InvalidModelOutput, MissingAPIKey, ProviderError
from salesctl.llm.gateway import CostOptimizedLLMProvider
from salesctl.llm.types import LLMConfig, ProviderResponse, TextDelta, ToolCall, ToolSpec, Usage

MTOK = Decimal(1_000_000)
QUALIFY = LLMConfig(
    agent_type="qualification",
    lead_id=123,
    mode="passthrough",
    provider="cerebras",
    model="llama3.1-8b",
)
SR_BDR = LLMConfig(
    agent_type="sr_bdr", session_id="sess_abc123", user_id="rep_456", mode="smart_router"
)


async def tracked(engine) -> list[AICostTracking]:  # type: ignore[no-untyped-def]
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        result = await session.execute(select(AICostTracking).order_by(AICostTracking.id))
        return list(result.scalars())


@pytest.fixture
async def lead_123(engine) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session, session.begin():
        session.add(Lead(id=123, company_name="TechCorp Inc"))


def gateway(engine, *providers: Any, **settings: Any) -> CostOptimizedLLMProvider:  # type: ignore[no-untyped-def]
    return CostOptimizedLLMProvider(
        engine=engine,
        settings=Settings(**settings),
        providers={p.name: p for p in providers},
    )


async def test_passthrough_call_lands_one_exact_row(
    session, engine, lead_123, scripted, reply
) -> None:  # type: ignore[no-untyped-def]
    cerebras = scripted(
        "cerebras",
        reply("Score: 82 (hot)", model="llama3.1-8b", input_tokens=1000, output_tokens=50),
    )
    llm = CostOptimizedLLMProvider(session, settings=Settings(), providers={"cerebras": cerebras})
    result = await llm.complete(
        prompt="Qualify TechCorp Inc as a lead...", config=QUALIFY, max_tokens=1000
    )
    await llm.aclose()

    expected = (1000 * Decimal("0.10") + 50 * Decimal("0.10")) / MTOK
    assert result.text == "Score: 82 (hot)"
    assert (result.provider, result.model) == ("cerebras", "llama3.1-8b")
    assert (result.prompt_tokens, result.completion_tokens) == (1000, 50)
    assert result.cost_usd == expected
    assert result.price_source == "genai-prices"
    assert result.complexity is None
    assert result.cache_hit is False
    assert cerebras.requests[0].max_tokens == 1000
    assert cerebras.requests[0].messages[-1].content == "Qualify TechCorp Inc as a lead..."

    [row] = await tracked(engine)
    assert row.request_id == result.tracking_id
    assert (row.agent_type, row.agent_mode, row.lead_id) == ("qualification", "passthrough", 123)
    assert (row.provider, row.model, row.status) == ("cerebras", "llama3.1-8b", "ok")
    assert (row.prompt_tokens, row.completion_tokens) == (1000, 50)
    assert row.cost_usd == expected
    assert (row.price_source, row.unpriced, row.cache_hit) == ("genai-prices", False, False)
    assert row.latency_ms == result.latency_ms
    assert row.latency_ms is not None
    assert (row.prompt_complexity, row.routing) == (None, None)
    assert row.prompt_text == "Qualify TechCorp Inc as a lead..."
    assert row.completion_text == "Score: 82 (hot)"
    assert cerebras.closed is False  # injected providers belong to the caller


async def test_router_call_is_tagged_with_its_decision(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    gemini = scripted("gemini", reply("1. Acme 2. Globex 3. Initech", model="gemini-1.5-flash"))
    llm = gateway(engine, gemini)
    result = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()

    assert (result.provider, result.model, result.complexity) == (
        "gemini",
        "gemini-1.5-flash",
        "simple",
    )
    [row] = await tracked(engine)
    assert (row.agent_type, row.agent_mode) == ("sr_bdr", "smart_router")
    assert (row.session_id, row.user_id, row.lead_id) == ("sess_abc123", "rep_456", None)
    assert row.prompt_complexity == "simple"
    assert row.routing is not None
    assert row.routing["tier"] == "simple"
    assert row.routing["chosen"] == "gemini:gemini-1.5-flash"
    assert row.routing["attempted"] == "gemini:gemini-1.5-flash"
    assert row.routing["fallbacks"] == ["openai:gpt-4o-mini"]
    assert row.routing["router_version"].startswith("shipped-")
    assert row.routing["chosen_by"] == "router"
    assert row.routing["reasons"]
    assert row.cost_usd == (100 * Decimal("0.075") + 20 * Decimal("0.30")) / MTOK


async def test_missing_key_falls_back_and_tracks_both_attempts(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    gemini = scripted("gemini", MissingAPIKey("gemini", "GOOGLE_API_KEY"))
    openai = scripted("openai", reply("Top leads: …", model="gpt-4o-mini-2024-07-18"))
    llm = gateway(engine, gemini, openai)
    result = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()

    assert (result.provider, result.model) == ("openai", "gpt-4o-mini-2024-07-18")
    failed, answered = await tracked(engine)
    assert (failed.provider, failed.model, failed.status) == ("gemini", "gemini-1.5-flash", "error")
    assert (failed.error_type, failed.attempts, failed.cost_usd) == ("missing_api_key", 0, None)
    assert failed.routing is not None
    assert failed.routing["attempted"] == "gemini:gemini-1.5-flash"
    assert (answered.provider, answered.model, answered.status) == (
        "openai",
        "gpt-4o-mini-2024-07-18",  # the model the provider says it served
        "ok",
    )
    assert answered.routing is not None
    assert answered.routing["attempted"] == "openai:gpt-4o-mini"
    assert answered.request_id == result.tracking_id
    assert answered.cost_usd == (100 * Decimal("0.15") + 20 * Decimal("0.60")) / MTOK


async def test_when_every_choice_lacks_a_key_the_error_names_the_variables(
    engine, scripted
) -> None:  # type: ignore[no-untyped-def]
    llm = gateway(
        engine,
        scripted("gemini", MissingAPIKey("gemini", "GOOGLE_API_KEY")),
        scripted("openai", MissingAPIKey("openai", "OPENAI_API_KEY")),
    )
    with pytest.raises(ProviderError, match="set GOOGLE_API_KEY or OPENAI_API_KEY") as caught:
        await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()
    assert caught.value.error_type == "missing_api_key"
    assert [(r.provider, r.status) for r in await tracked(engine)] == [
        ("gemini", "error"),
        ("openai", "error"),
    ]


async def test_passthrough_failure_is_tracked_and_raised(engine, scripted) -> None:  # type: ignore[no-untyped-def]
    error = ProviderError(
        "rate limited", provider="cerebras", error_type="rate_limited", attempts=3
    )
    llm = gateway(engine, scripted("cerebras", error))
    with pytest.raises(ProviderError, match="rate limited"):
        await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.status, row.error_type, row.attempts) == ("error", "rate_limited", 3)
    assert (row.cost_usd, row.prompt_tokens, row.completion_tokens) == (None, 0, 0)
    assert row.lead_id is None  # lead 123 does not exist here: kept, untagged, not lost


async def test_streaming_yields_chunks_and_tracks_the_final_usage(engine, scripted) -> None:  # type: ignore[no-untyped-def]
    final = ProviderResponse(
        text="Hello there", usage=Usage(200, 2), model="claude-3-haiku-20240307"
    )
    claude = scripted("claude", [TextDelta("Hello"), TextDelta(" there"), final])
    llm = gateway(engine, claude)
    config = LLMConfig(
        agent_type="conversation", provider="anthropic", model="claude-3-haiku-20240307"
    )
    stream = await llm.complete(prompt="Say hello", config=config, stream=True)
    assert [chunk async for chunk in stream] == ["Hello", " there"]
    await llm.aclose()
    assert stream.result is not None
    assert stream.result.text == "Hello there"
    assert stream.result.cost_usd == (200 * Decimal("0.25") + 2 * Decimal("1.25")) / MTOK
    [row] = await tracked(engine)
    assert (row.provider, row.prompt_tokens, row.completion_tokens) == ("claude", 200, 2)
    assert row.cost_usd == stream.result.cost_usd


async def test_a_cut_stream_prices_the_usage_reported_before_the_cut(engine, scripted) -> None:  # type: ignore[no-untyped-def]
    partial = ProviderResponse(text="Hel", usage=Usage(200, 1), model="claude-3-haiku-20240307")
    cut = ProviderError(
        "stream broke", provider="claude", error_type="stream_interrupted", partial=partial
    )
    llm = gateway(engine, scripted("claude", [TextDelta("Hel"), cut]))
    config = LLMConfig(
        agent_type="conversation", provider="claude", model="claude-3-haiku-20240307"
    )
    stream = await llm.complete(prompt="Say hello", config=config, stream=True)
    received: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ProviderError, match="stream broke"):
        await read()
    await llm.aclose()
    assert received == ["Hel"]
    [row] = await tracked(engine)
    assert (row.status, row.error_type) == ("error", "stream_interrupted")
    assert (row.prompt_tokens, row.completion_tokens) == (200, 1)
    assert row.cost_usd == (200 * Decimal("0.25") + 1 * Decimal("1.25")) / MTOK
    assert row.completion_text == "Hel"


async def test_a_stream_abandoned_by_its_reader_is_tracked_as_cancelled(engine, scripted) -> None:  # type: ignore[no-untyped-def]
    final = ProviderResponse(text="a b c", usage=Usage(10, 3), model="llama3.1-8b")
    llm = gateway(engine, scripted("cerebras", [TextDelta("a"), TextDelta(" b"), final]))
    async with await llm.complete(prompt="x", config=QUALIFY, stream=True) as stream:
        async for _chunk in stream:
            break
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.status, row.error_type) == ("error", "cancelled")
    # The provider served what was read, and no usage report came: estimated, never free.
    # Prompt "x": 3 request + 4 message + 1 text tokens; output "a": 1 token.
    assert (row.prompt_tokens, row.completion_tokens, row.completion_text) == (8, 1, "a")
    assert (row.cost_estimated, row.unpriced) == (True, False)
    assert row.cost_usd == 9 * Decimal("0.10") / MTOK


async def test_database_cache_miss_then_hit_even_from_a_new_gateway(
    engine, scripted, reply
) -> None:  # type: ignore[no-untyped-def]
    first = gateway(engine, scripted("cerebras", reply("82", model="llama3.1-8b")))
    miss = await first.complete(prompt="Qualify TechCorp", config=QUALIFY)
    hit_same_run = await first.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await first.aclose()

    second = gateway(engine, scripted("cerebras"))  # no scripted answer: a call would fail
    hit_next_run = await second.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await second.aclose()

    for hit in (hit_same_run, hit_next_run):
        assert (hit.text, hit.cache_hit, hit.cost_usd) == ("82", True, Decimal(0))
        assert hit.saved_usd == miss.cost_usd
        assert (hit.prompt_tokens, hit.completion_tokens) == (100, 20)
    rows = await tracked(engine)
    assert [r.cache_hit for r in rows] == [False, True, True]
    assert [r.cost_usd for r in rows] == [miss.cost_usd, Decimal(0), Decimal(0)]
    assert [r.saved_usd for r in rows] == [None, miss.cost_usd, miss.cost_usd]
    assert rows[1].prompt_tokens == 100


@pytest.mark.redis
async def test_redis_cache_miss_then_hit(engine, scripted, reply, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    from salesctl.llm.cache import RedisCache

    url, prefix = redis_prefix
    cache = RedisCache(url, prefix=prefix)
    llm = CostOptimizedLLMProvider(
        engine=engine,
        settings=Settings(),
        providers={"cerebras": scripted("cerebras", reply("82", model="llama3.1-8b"))},
        cache=cache,
    )
    miss = await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await llm.flush()
    hit = await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await llm.aclose()
    await cache.aclose()  # an injected cache belongs to the caller
    assert (miss.cache_hit, hit.cache_hit) == (False, True)
    assert hit.saved_usd == miss.cost_usd
    [_, row_hit] = await tracked(engine)
    assert (row_hit.cache_hit, row_hit.cost_usd) == (True, Decimal(0))


async def test_chat_agents_do_not_cache_by_default(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    gemini = scripted(
        "gemini", reply("a", model="gemini-1.5-flash"), reply("b", model="gemini-1.5-flash")
    )
    llm = gateway(engine, gemini)
    first = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    second = await llm.complete(prompt="Show me top 3 leads", config=SR_BDR)
    await llm.aclose()
    assert (first.text, second.text) == ("a", "b")
    assert len(gemini.requests) == 2


async def test_errors_are_never_cached(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    cerebras = scripted(
        "cerebras",
        ProviderError("boom", provider="cerebras", error_type="server_error", attempts=3),
        reply("82", model="llama3.1-8b"),
    )
    llm = gateway(engine, cerebras)
    with pytest.raises(ProviderError):
        await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    result = await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await llm.aclose()
    assert (result.text, result.cache_hit) == ("82", False)


@pytest.mark.parametrize(
    ("mode", "prompt_text", "completion_text"),
    [
        ("full", "Email dana@acme.example about 415-555-0132", "Sent to dana@acme.example"),
        ("redacted", "Email [email] about [phone]", "Sent to [email]"),
        ("none", None, None),
    ],
)
async def test_store_prompts_modes(
    engine, scripted, reply, mode: str, prompt_text: str | None, completion_text: str | None
) -> None:  # type: ignore[no-untyped-def]
    llm = gateway(
        engine,
        scripted("cerebras", reply("Sent to dana@acme.example", model="llama3.1-8b")),
        store_prompts=mode,
    )
    await llm.complete(prompt="Email dana@acme.example about 415-555-0132", config=QUALIFY)
    await llm.flush()
    # Read before closing: a spool whose every line is committed is compacted away on close.
    spooled = (llm.settings.data_dir / "spool" / "tracking.jsonl").read_text()
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.prompt_text, row.completion_text) == (prompt_text, completion_text)
    if mode != "full":
        assert "dana@acme.example" not in spooled


async def test_decimal_sums_are_exact(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    answers = [
        reply(str(n), model="llama3.1-8b", input_tokens=n, output_tokens=1) for n in range(1, 41)
    ]
    llm = gateway(engine, scripted("cerebras", *answers))
    costs = []
    for n in range(1, 41):
        result = await llm.complete(prompt=f"call {n}", config=QUALIFY)
        costs.append(result.cost_usd)
    await llm.aclose()
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        total = (await session.execute(select(func.sum(AICostTracking.cost_usd)))).scalar_one()
    expected = sum((Decimal(n + 1) * Decimal("0.10") / MTOK for n in range(1, 41)), Decimal(0))
    assert sum(costs, Decimal(0)) == expected
    assert Decimal(total) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (LLMConfig(agent_type="qualification", provider="cerebras"), "needs provider= and model="),
        (LLMConfig(agent_type="qualification", model="llama3.1-8b"), "needs provider= and model="),
        (
            LLMConfig(agent_type="qualification", provider="mistral", model="small"),
            "unknown provider 'mistral'",
        ),
        (LLMConfig(agent_type="", provider="cerebras", model="x"), "non-empty identifier"),
        (LLMConfig(agent_type="lead scoring", provider="cerebras", model="x"), "identifier"),
        (LLMConfig(agent_type="x", mode="turbo", provider="cerebras", model="x"), "mode 'turbo'"),  # type: ignore[arg-type]
    ],
)
async def test_invalid_configs_fail_before_any_call(
    scripted, config: LLMConfig, message: str
) -> None:  # type: ignore[no-untyped-def]
    cerebras = scripted("cerebras")
    llm = gateway(None, cerebras)
    with pytest.raises(ConfigError, match=message):
        await llm.complete(prompt="x", config=config)
    await llm.aclose()
    assert cerebras.requests == []
    assert not (llm.settings.data_dir / "spool" / "tracking.jsonl").exists()


async def test_a_new_agent_type_and_an_alias_are_accepted(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    llm = gateway(engine, scripted("claude", reply(model="claude-3-haiku-20240307")))
    config = LLMConfig(agent_type="renewals", provider="anthropic", model="claude-3-haiku-20240307")
    result = await llm.complete(prompt="x", config=config)
    await llm.aclose()
    assert result.provider == "claude"
    [row] = await tracked(engine)
    assert (row.agent_type, row.provider) == ("renewals", "claude")


async def test_an_unpriced_model_is_tracked_with_unknown_cost(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    warnings: list[str] = []
    llm = CostOptimizedLLMProvider(
        engine=engine,
        settings=Settings(),
        providers={"cerebras": scripted("cerebras", *[reply(model="llama-9000")] * 2)},
        warn=warnings.append,
    )
    config = LLMConfig(
        agent_type="qualification", provider="cerebras", model="llama-9000", cache=False
    )
    first = await llm.complete(prompt="a", config=config)
    await llm.complete(prompt="b", config=config)
    await llm.aclose()
    assert first.cost_usd is None
    assert first.extra["unpriced"] is True
    assert len(warnings) == 1
    rows = await tracked(engine)
    assert [(r.cost_usd, r.unpriced, r.price_source) for r in rows] == [(None, True, "unknown")] * 2


async def test_provider_reported_cost_wins(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    answer = reply(model="deepseek/deepseek-chat", reported_cost_usd=Decimal("0.0000421"))
    llm = gateway(engine, scripted("openrouter", answer))
    config = LLMConfig(agent_type="growth", provider="openrouter", model="deepseek/deepseek-chat")
    result = await llm.complete(prompt="Market analysis for TechCorp", config=config)
    await llm.aclose()
    assert (result.cost_usd, result.price_source) == (Decimal("0.0000421"), "provider-reported")
    [row] = await tracked(engine)
    assert (row.cost_usd, row.price_source) == (Decimal("0.0000421"), "provider-reported")


class Score(BaseModel):
    score: int
    tier: str


async def test_structured_output_is_repaired_once(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    cerebras = scripted(
        "cerebras",
        reply("Sure! score is 82", model="llama3.1-8b"),
        reply('{"score": 82, "tier": "hot"}', model="llama3.1-8b"),
    )
    llm = gateway(engine, cerebras)
    result = await llm.complete(prompt="Qualify TechCorp", config=QUALIFY, response_schema=Score)
    await llm.aclose()
    assert result.json == {"score": 82, "tier": "hot"}
    assert cerebras.requests[0].response_schema == Score.model_json_schema()
    assert "not valid for the required JSON schema" in cerebras.requests[1].messages[-1].content
    rows = await tracked(engine)
    assert len(rows) == 2
    # One question from the caller: its result accounts for both tracked calls.
    assert result.cost_usd == sum(row.cost_usd for row in rows)
    assert result.completion_tokens == sum(row.completion_tokens for row in rows)


async def test_structured_output_in_a_code_fence_is_unwrapped(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    fenced = '```json\n{"score": 82, "tier": "hot"}\n```'
    llm = gateway(engine, scripted("cerebras", reply(fenced, model="llama3.1-8b")))
    result = await llm.complete(
        prompt="Qualify TechCorp", config=QUALIFY, response_schema={"type": "object"}
    )
    await llm.aclose()
    assert result.text == '{"score": 82, "tier": "hot"}'
    assert len(await tracked(engine)) == 1


async def test_structured_output_that_stays_invalid_raises(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    llm = gateway(
        engine,
        scripted(
            "cerebras", reply("nope", model="llama3.1-8b"), reply("still no", model="llama3.1-8b")
        ),
    )
    with pytest.raises(InvalidModelOutput, match="repair attempt") as failure:
        await llm.complete(
            prompt="Qualify TechCorp", config=QUALIFY, response_schema={"type": "object"}
        )
    await llm.aclose()
    rows = await tracked(engine)
    assert len(rows) == 2
    assert failure.value.spent_usd == sum(row.cost_usd for row in rows)


async def test_tools_go_in_and_tool_calls_come_out(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    call = ToolCall(id="call_1", name="get_top_leads", arguments={"limit": 3})
    gemini = scripted("gemini", reply("", model="gemini-1.5-flash", tool_calls=(call,)))
    llm = gateway(engine, gemini)
    tools = [
        {"name": "get_top_leads", "description": "Top leads", "parameters": {"type": "object"}}
    ]
    result = await llm.complete(
        prompt="Show me top 3 leads", config=SR_BDR, tools=tools, system="You are a sales aide."
    )
    await llm.aclose()
    assert result.tool_calls == (call,)
    request = gemini.requests[0]
    assert request.tools == (ToolSpec("get_top_leads", "Top leads", {"type": "object"}),)
    assert request.system == "You are a sales aide."
    [row] = await tracked(engine)
    assert json.loads(row.completion_text or "") == [
        {"id": "call_1", "name": "get_top_leads", "arguments": {"limit": 3}}
    ]


async def test_messages_then_prompt_and_explain(engine, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    gemini = scripted("claude", reply(model="claude-sonnet-4-5"))
    llm = gateway(engine, gemini)
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "We lost the Acme deal."},
        {"role": "assistant", "content": "Sorry to hear."},
    ]
    prompt = "Analyze this deal's blockers and recommend strategy..."
    decision = llm.explain(prompt, messages=history)
    assert (decision.complexity, decision.provider) == ("complex", "claude")
    result = await llm.complete(
        prompt=prompt,
        config=LLMConfig(agent_type="pipeline_manager", session_id="s", mode="smart_router"),
        messages=history,
    )
    await llm.aclose()
    request = gemini.requests[0]
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    assert request.messages[-1].content == prompt
    assert request.system == "Be brief."
    assert result.complexity == "complex"


async def test_gateway_is_usable_without_a_session(db_env, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import create_engine

    async with CostOptimizedLLMProvider(
        providers={"cerebras": scripted("cerebras", reply(model="llama3.1-8b"))}
    ) as llm:
        await llm.complete(prompt="x", config=QUALIFY)
    engine = create_engine(db_env)
    try:
        assert len(await tracked(engine)) == 1
    finally:
        await engine.dispose()


async def test_an_answer_without_usage_is_priced_on_an_estimate_not_zero(engine, scripted) -> None:  # type: ignore[no-untyped-def]
    warnings: list[str] = []
    blind = ProviderResponse(text="82", usage=Usage(), model="llama3.1-8b", usage_reported=False)
    llm = CostOptimizedLLMProvider(
        engine=engine,
        settings=Settings(),
        providers={"cerebras": scripted("cerebras", blind)},
        warn=warnings.append,
    )
    result = await llm.complete(prompt="Qualify TechCorp", config=QUALIFY)
    await llm.aclose()
    # Prompt: 3 request + 4 message + 4 text tokens counted locally; output "82": 1 token.
    expected = 12 * Decimal("0.10") / MTOK
    assert (result.cost_usd, result.cost_estimated) == (expected, True)
    [row] = await tracked(engine)
    assert (row.prompt_tokens, row.completion_tokens) == (11, 1)
    assert (row.cost_usd, row.cost_estimated) == (expected, True)
    # The model has a price: an estimate is not "unpriced".
    assert (row.unpriced, row.price_source) == (False, "genai-prices")
    assert len(warnings) == 1
    assert "without reporting token usage" in warnings[0]


async def test_the_cli_runtime_builds_one_gateway_and_closes_it(db_env, scripted, reply) -> None:  # type: ignore[no-untyped-def]
    from salesctl.cli._runtime import open_runtime
    from salesctl.errors import InvalidInput

    runtime = await open_runtime()
    gateway = runtime.gateway
    assert runtime.gateway is gateway
    assert gateway.engine is runtime.engine
    assert gateway.explain("Show me top 3 leads").complexity == "simple"
    await runtime.aclose()
    with pytest.raises(InvalidInput, match="closed"):
        await gateway.complete(prompt="x", config=QUALIFY)
