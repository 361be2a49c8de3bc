"""Cost truth end to end: every call priced as the provider bills it.

Real SDK adapters over HTTP to the provider simulator, which is scripted to report each usage
shape the providers bill (cache reads, Anthropic 5-minute and 1-hour cache writes, reasoning
and thinking output, long-context tiers, served dated ids, OpenRouter with and without
`usage.cost`). Each tracked cost is compared with genai-prices' own `extract_usage(...)
.calc_price()` on the very body the simulator sent.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from salesctl.config import PriceOverride, ProviderOptions, Settings
from salesctl.db.models import AICostTracking
from salesctl.errors import ProviderError
from salesctl.llm.gateway import CostOptimizedLLMProvider
from salesctl.llm.simulator import Simulator
from salesctl.llm.types import LLMConfig

pytestmark = pytest.mark.usefixtures("no_backoff")

GENAI = {
    "cerebras": ("cerebras", "chat"),
    "claude": ("anthropic", "default"),
    "gemini": ("google", "default"),
    "openai": ("openai", "chat"),
    "openrouter": ("openrouter", "chat"),
}
"""salesctl provider -> (genai-prices provider id, API flavour of its extractor)."""
MTOK = Decimal(1_000_000)


def make_gateway(engine: Any, **settings: Any) -> CostOptimizedLLMProvider:
    options = ProviderOptions(timeout_s=5, max_retries=2)
    return CostOptimizedLLMProvider(
        engine=engine,
        settings=Settings(providers={p: options for p in GENAI}, **settings),
        warn=lambda _message: None,
    )


async def tracked(engine: Any) -> list[AICostTracking]:
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        result = await session.execute(select(AICostTracking).order_by(AICostTracking.id))
        return list(result.scalars())


def genai_extracted_price(provider: str, body: dict[str, Any], at: Any) -> Decimal:
    """genai-prices' own price for a response body: its extractor, its model lookup."""
    from genai_prices import extract_usage

    provider_id, flavor = GENAI[provider]
    extracted = extract_usage(body, provider_id=provider_id, api_flavor=flavor)
    price = extracted.calc_price(genai_request_timestamp=at)
    return price.total_price.quantize(Decimal("1e-10"))


def config(provider: str, model: str) -> LLMConfig:
    return LLMConfig(agent_type="qualification", provider=provider, model=model, cache=False)


# --- every billed component, per provider, priced as genai-prices prices the raw body ------

COMPONENTS = [
    # (provider, model, shape): one billed component (or a mix) each.
    ("claude", "claude-sonnet-4-5", {}),
    ("claude", "claude-sonnet-4-5", {"prompt_tokens": 9000, "cache_read_tokens": 8000}),
    ("claude", "claude-sonnet-4-5", {"prompt_tokens": 9000, "cache_write_tokens": 8000}),
    (
        "claude",
        "claude-sonnet-4-5",
        {"prompt_tokens": 9000, "cache_write_tokens": 8000, "cache_write_1h_tokens": 8000},
    ),
    (
        "claude",
        "claude-sonnet-4-5",
        {
            "prompt_tokens": 12_000,
            "cache_read_tokens": 3000,
            "cache_write_tokens": 5000,
            "cache_write_1h_tokens": 2000,
        },
    ),
    ("claude", "claude-sonnet-4-5", {"reasoning_tokens": 700}),
    ("claude", "claude-sonnet-4-5", {"prompt_tokens": 210_000, "cache_read_tokens": 50_000}),
    (
        "claude",
        "claude-haiku-4-5",
        {"prompt_tokens": 6000, "cache_write_1h_tokens": 4000, "cache_write_tokens": 4000},
    ),
    ("openai", "gpt-4o-mini", {}),
    ("openai", "gpt-4o-mini", {"prompt_tokens": 5000, "cache_read_tokens": 3072}),
    ("openai", "gpt-4o-mini", {"reasoning_tokens": 900}),
    (
        "openai",
        "o4-mini",
        {"prompt_tokens": 4000, "cache_read_tokens": 2048, "reasoning_tokens": 1500},
    ),
    ("gemini", "gemini-1.5-flash", {}),
    ("gemini", "gemini-1.5-flash", {"prompt_tokens": 6000, "cache_read_tokens": 4096}),
    ("gemini", "gemini-1.5-flash", {"prompt_tokens": 140_000, "cache_read_tokens": 20_000}),
    ("gemini", "gemini-2.5-flash", {"reasoning_tokens": 1200}),
    ("gemini", "gemini-2.5-pro", {"prompt_tokens": 250_000, "reasoning_tokens": 800}),
    ("cerebras", "llama3.1-8b", {}),
    ("cerebras", "gpt-oss-120b", {"reasoning_tokens": 600}),
    ("openrouter", "openai/gpt-4o-mini", {"report_cost": False}),
    (
        "openrouter",
        "openai/gpt-4o-mini",
        {"prompt_tokens": 5000, "cache_read_tokens": 4096, "report_cost": False},
    ),
    (
        "openrouter",
        "anthropic/claude-3.5-haiku",
        {"prompt_tokens": 5000, "cache_write_tokens": 3000, "report_cost": False},
    ),
    ("openrouter", "deepseek/deepseek-r1", {"reasoning_tokens": 1000, "report_cost": False}),
]


@pytest.mark.parametrize(
    ("provider", "model", "shape"),
    COMPONENTS,
    ids=[f"{p}:{m}:{'+'.join(s) or 'plain'}" for p, m, s in COMPONENTS],
)
async def test_each_billed_component_is_priced_as_genai_prices_prices_the_body(
    sim: Simulator, engine: Any, provider: str, model: str, shape: dict[str, Any]
) -> None:
    sim.shape_next(provider, **shape)
    llm = make_gateway(engine)
    result = await llm.complete(prompt="Qualify TechCorp Inc", config=config(provider, model))
    await llm.aclose()
    [served] = sim.ledger
    [row] = await tracked(engine)
    expected = genai_extracted_price(provider, served.body or {}, row.timestamp)
    assert expected > 0
    assert row.cost_usd == result.cost_usd == expected
    assert (row.price_source, row.cost_estimated, row.unpriced) == ("genai-prices", False, False)
    assert (row.model, row.configured_model) == (served.model, model)
    assert row.prompt_tokens == served.prompt_tokens
    assert row.completion_tokens == served.output_tokens + served.reasoning_tokens
    assert (row.cache_read_tokens, row.cache_write_tokens, row.cache_write_1h_tokens) == (
        served.cache_read_tokens,
        served.cache_write_tokens,
        served.cache_write_1h_tokens,
    )
    if provider != "claude":  # Anthropic counts thinking inside output_tokens, unreported
        assert row.reasoning_tokens == served.reasoning_tokens


async def test_one_hour_cache_writes_cost_more_than_five_minute_ones(
    sim: Simulator, engine: Any
) -> None:
    # claude-haiku-4-5: $1 input, $1.25 per MTok 5-minute writes, $2 per MTok 1-hour writes.
    llm = make_gateway(engine)
    for one_hour in (0, 4000):
        sim.shape_next(
            "claude", prompt_tokens=5000, cache_write_tokens=4000, cache_write_1h_tokens=one_hour
        )
        await llm.complete(prompt="Enrich TechCorp", config=config("claude", "claude-haiku-4-5"))
    await llm.aclose()
    five_minutes, one_hour_row = await tracked(engine)
    output = five_minutes.completion_tokens * Decimal(5)
    assert five_minutes.cost_usd == (1000 * Decimal(1) + 4000 * Decimal("1.25") + output) / MTOK
    assert one_hour_row.cost_usd == (1000 * Decimal(1) + 4000 * Decimal(2) + output) / MTOK
    assert one_hour_row.cache_write_1h_tokens == 4000


@pytest.mark.parametrize(
    ("provider", "model", "shape"),
    [
        (
            "claude",
            "claude-sonnet-4-5",
            {"prompt_tokens": 9000, "cache_write_tokens": 8000, "cache_write_1h_tokens": 3000},
        ),
        (
            "openai",
            "gpt-4o-mini",
            {"prompt_tokens": 5000, "cache_read_tokens": 3072, "reasoning_tokens": 300},
        ),
        (
            "gemini",
            "gemini-2.5-flash",
            {"prompt_tokens": 3000, "cache_read_tokens": 1024, "reasoning_tokens": 300},
        ),
        ("cerebras", "gpt-oss-120b", {"reasoning_tokens": 250}),
    ],
    ids=["claude", "openai", "gemini", "cerebras"],
)
async def test_a_streamed_call_costs_what_the_same_plain_call_costs(
    sim: Simulator, engine: Any, provider: str, model: str, shape: dict[str, Any]
) -> None:
    llm = make_gateway(engine)
    sim.shape_next(provider, times=2, **shape)
    plain = await llm.complete(prompt="Qualify TechCorp Inc", config=config(provider, model))
    stream = await llm.complete(
        prompt="Qualify TechCorp Inc", config=config(provider, model), stream=True
    )
    await stream.text()
    await llm.aclose()
    assert stream.result is not None
    assert stream.result.cost_usd == plain.cost_usd
    first, second = await tracked(engine)
    assert first.cost_usd == second.cost_usd
    assert first.cache_write_1h_tokens == second.cache_write_1h_tokens
    assert first.reasoning_tokens == second.reasoning_tokens


# --- overrides keyed the way users think ------------------------------------------------------

DATED = [
    ("claude", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("gemini", "gemini-1.5-flash", "gemini-1.5-flash-002"),
    ("openrouter", "deepseek/deepseek-chat", "deepseek/deepseek-chat-v3-0324"),
]
NEGOTIATED = PriceOverride(
    input_per_mtok=Decimal("0.5"),
    output_per_mtok=Decimal("2"),
    cache_read_per_mtok=Decimal("0.05"),
    cache_write_per_mtok=Decimal("0.6"),
    cache_write_1h_per_mtok=Decimal("1"),
)


def negotiated(prompt: int, output: int, read: int = 0, write: int = 0, hour: int = 0) -> Decimal:
    return (
        (prompt - read - write) * Decimal("0.5")
        + output * Decimal(2)
        + read * Decimal("0.05")
        + (write - hour) * Decimal("0.6")
        + hour * Decimal(1)
    ) / MTOK


@pytest.mark.parametrize(("provider", "configured", "dated"), DATED, ids=[d[0] for d in DATED])
async def test_an_override_under_the_configured_id_prices_the_dated_snapshot_served(
    sim: Simulator, engine: Any, provider: str, configured: str, dated: str
) -> None:
    from salesctl.llm.pricing import show_prices

    overrides = {f"{provider}:{configured}": NEGOTIATED}
    llm = make_gateway(engine, pricing=overrides)
    sim.shape_next(provider, report_cost=False)  # OpenRouter: no usage.cost to win instead
    result = await llm.complete(prompt="Grow TechCorp", config=config(provider, configured))
    await llm.aclose()
    [served] = sim.ledger
    [row] = await tracked(engine)
    assert served.model == dated
    assert (row.model, row.configured_model, row.price_source) == (dated, configured, "override")
    expected = negotiated(row.prompt_tokens, row.completion_tokens, row.cache_read_tokens)
    assert row.cost_usd == result.cost_usd == expected
    # `pricing show` says the same, for the configured id and the served one alike.
    settings = Settings(pricing=overrides)
    asked = [(configured, None), (dated, configured)]
    if provider != "openrouter":  # genai-prices lists the dated id as the same model
        asked.append((dated, None))
    for model, asked_as in asked:
        shown = show_prices(settings, provider, model, configured=asked_as)
        assert (shown.source, shown.input_per_mtok) == ("override", Decimal("0.5"))


async def test_an_override_for_a_private_model_prices_its_dated_calls(
    sim: Simulator, engine: Any
) -> None:
    overrides = {"claude:acme-sales-1": NEGOTIATED}
    llm = make_gateway(engine, pricing=overrides)
    sim.shape_next(
        "claude",
        served_model="acme-sales-1-20261101",
        prompt_tokens=9000,
        cache_write_tokens=6000,
        cache_write_1h_tokens=2000,
    )
    await llm.complete(prompt="Enrich TechCorp", config=config("claude", "acme-sales-1"))
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.model, row.configured_model) == ("acme-sales-1-20261101", "acme-sales-1")
    assert (row.price_source, row.unpriced) == ("override", False)
    assert row.cost_usd == negotiated(9000, row.completion_tokens, 0, 6000, 2000)


async def test_unpriced_means_no_price_known_and_is_counted(sim: Simulator, engine: Any) -> None:
    from salesctl.reports.costs import ReportOptions, cost_report
    from salesctl.reports.filters import build_filters

    llm = make_gateway(engine)
    await llm.complete(prompt="Qualify", config=config("cerebras", "llama-unlisted-9000"))
    await llm.complete(prompt="Qualify", config=config("cerebras", "llama3.1-8b"))
    await llm.aclose()
    unknown, known = await tracked(engine)
    assert (unknown.cost_usd, unknown.unpriced, unknown.price_source) == (None, True, "unknown")
    assert (known.unpriced, known.cost_estimated) == (False, False)
    filters = build_filters(settings=Settings(), since="2000-01-01")
    report = await cost_report(engine, filters, ReportOptions(top=0))
    assert (report.total_requests, report.unpriced_requests) == (2, 1)
    assert report.total_cost_usd == known.cost_usd


# --- OpenRouter, as OpenRouter bills ----------------------------------------------------------


async def test_openrouter_asks_for_its_cost_on_every_call_and_that_figure_wins(
    sim: Simulator, engine: Any
) -> None:
    llm = make_gateway(engine)
    growth = config("openrouter", "deepseek/deepseek-chat")
    await llm.complete(prompt="Market analysis for TechCorp", config=growth)
    stream = await llm.complete(prompt="Market analysis for TechCorp", config=growth, stream=True)
    await stream.text()
    await llm.aclose()
    for served, row in zip(sim.ledger, await tracked(engine), strict=True):
        assert served.cost_usd_reported is not None  # asked for: the simulator only sends it then
        assert row.price_source == "provider-reported"
        assert row.cost_usd == Decimal(str(served.cost_usd_reported))


async def test_openrouter_without_its_cost_is_priced_from_openrouters_own_list(
    sim: Simulator, engine: Any
) -> None:
    from salesctl.llm.pricing import PriceBook

    llm = make_gateway(engine)
    sim.shape_next("openrouter", report_cost=False)
    await llm.complete(
        prompt="Market analysis", config=config("openrouter", "deepseek/deepseek-chat")
    )
    # A model OpenRouter does not list: unpriced, never DeepSeek's direct (time-of-day) price.
    sim.shape_next("openrouter", report_cost=False)
    await llm.complete(
        prompt="Market analysis", config=config("openrouter", "deepseek/deepseek-reasoner")
    )
    await llm.aclose()
    listed, unlisted = await tracked(engine)
    # Billed as the model page asked for, deepseek/deepseek-chat, not the version served.
    listed_price = PriceBook().prices_for("openrouter", "deepseek/deepseek-chat")
    assert listed_price is not None
    assert listed_price.input_per_mtok is not None
    assert listed_price.output_per_mtok is not None
    assert (listed.model, listed.price_source) == ("deepseek/deepseek-chat-v3-0324", "genai-prices")
    assert (
        listed.cost_usd
        == (
            listed.prompt_tokens * listed_price.input_per_mtok
            + listed.completion_tokens * listed_price.output_per_mtok
        )
        / MTOK
    )
    assert (unlisted.cost_usd, unlisted.unpriced) == (None, True)


# --- nothing served is priced at zero ---------------------------------------------------------

STREAMERS = [
    ("openai", "gpt-4o-mini"),
    ("openrouter", "deepseek/deepseek-chat"),
    ("cerebras", "llama3.1-8b"),
    ("gemini", "gemini-1.5-flash"),
    ("claude", "claude-3-haiku-20240307"),
]


@pytest.mark.parametrize(("provider", "model"), STREAMERS, ids=[p for p, _ in STREAMERS])
async def test_a_stream_cut_at_a_byte_is_priced_on_an_estimate(
    sim: Simulator, engine: Any, provider: str, model: str
) -> None:
    sim.shape_next(provider, output_tokens=400)
    sim.fail_next(provider, kind="cut_stream", after_bytes=900)
    llm = make_gateway(engine)
    stream = await llm.complete(
        prompt="Write the opening of a long call script for TechCorp Inc",
        config=config(provider, model),
        stream=True,
    )
    received: list[str] = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ProviderError) as caught:
        await read()
    await llm.aclose()
    assert caught.value.error_type == "stream_interrupted"
    [served] = sim.ledger
    [row] = await tracked(engine)
    assert (row.status, row.error_type) == ("error", "stream_interrupted")
    assert (row.cost_estimated, row.unpriced, row.price_source) == (True, False, "genai-prices")
    assert row.cost_usd is not None
    assert row.cost_usd > 0
    assert row.completion_text == "".join(received)
    # The prompt as counted locally (or as reported, on Anthropic); the output as received.
    if served.usage_reported:
        assert row.prompt_tokens == served.prompt_tokens
    assert abs(row.prompt_tokens - served.billed_prompt_tokens) <= served.billed_prompt_tokens / 4
    assert 0 < row.completion_tokens <= served.billed_output_tokens + 4


async def test_a_stream_cut_after_its_final_usage_is_exact(sim: Simulator, engine: Any) -> None:
    """Cut just before `[DONE]`: the usage chunk arrived, so nothing needs estimating."""
    llm = make_gateway(engine)
    stream = await llm.complete(
        prompt="Qualify TechCorp", config=config("openai", "gpt-4o-mini"), stream=True
    )
    assert await stream.text()
    sim.fail_next("openai", kind="cut_stream", after_bytes=-3)  # into the closing [DONE]
    stream = await llm.complete(
        prompt="Qualify TechCorp", config=config("openai", "gpt-4o-mini"), stream=True
    )
    with pytest.raises(ProviderError):
        await stream.text()
    await llm.aclose()
    whole_row, cut_row = await tracked(engine)
    assert (cut_row.status, cut_row.cost_estimated) == ("error", False)
    assert cut_row.cost_usd == whole_row.cost_usd


async def test_a_timeout_after_the_request_was_sent_is_priced_on_an_estimate(
    sim: Simulator, engine: Any
) -> None:
    sim.fail_next("openai", kind="timeout", delay=2.0, times=2)
    options = ProviderOptions(timeout_s=0.3, max_retries=1)
    llm = CostOptimizedLLMProvider(
        engine=engine, settings=Settings(providers={"openai": options}), warn=lambda _m: None
    )
    with pytest.raises(ProviderError) as caught:
        await llm.complete(prompt="Qualify TechCorp Inc", config=config("openai", "gpt-4o-mini"))
    await llm.aclose()
    assert caught.value.error_type == "timeout"
    [row] = await tracked(engine)
    first, second = sim.ledger
    assert (row.attempts, row.cost_estimated) == (2, True)
    # Each attempt reached the provider, which read its prompt: billed twice.
    assert row.prompt_tokens == first.billed_prompt_tokens + second.billed_prompt_tokens
    assert row.cost_usd == row.prompt_tokens * Decimal("0.15") / MTOK


async def test_a_call_cancelled_in_flight_is_priced_on_an_estimate_and_counted(
    sim: Simulator, engine: Any
) -> None:
    from salesctl.reports.costs import ReportOptions, cost_report
    from salesctl.reports.filters import build_filters

    sim.fail_next("cerebras", kind="slow", delay=5.0)
    llm = make_gateway(engine)
    call = asyncio.ensure_future(
        llm.complete(prompt="Qualify TechCorp Inc", config=config("cerebras", "llama3.1-8b"))
    )
    for _ in range(500):  # until the simulator has the request (it takes the fault)
        if not sim.pending_faults:
            break
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await llm.aclose()
    [row] = await tracked(engine)
    assert (row.status, row.error_type) == ("error", "cancelled")
    assert (row.cost_estimated, row.unpriced) == (True, False)
    assert row.cost_usd is not None
    assert row.cost_usd > 0
    filters = build_filters(settings=Settings(), since="2000-01-01")
    report = await cost_report(engine, filters, ReportOptions(top=0))
    assert report.total_cost_usd == report.estimated_cost_usd == row.cost_usd
    assert report.estimated_requests == 1
