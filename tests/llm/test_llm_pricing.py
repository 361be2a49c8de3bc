"""Pricing: genai-prices at the call's timestamp, overrides, provider-reported cost, unknown.

Every expected figure is a hand computation from the published per-million prices, written
out so a wrong cache convention (the peers' most reported cost bug) shows as a wrong number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from salesctl.config import PriceOverride
from salesctl.llm.pricing import PriceBook, price_of
from salesctl.llm.types import Usage

NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MTOK = Decimal(1_000_000)


def per_mtok(*terms: tuple[int, str]) -> Decimal:
    """Sum of tokens × USD-per-million prices."""
    return sum((tokens * Decimal(price) for tokens, price in terms), Decimal(0)) / MTOK


def test_anthropic_cache_reads_and_writes_are_priced_at_their_own_rates() -> None:
    # claude-3-haiku: $0.25 in, $1.25 out, $0.03 cache read, $0.30 cache write per MTok.
    usage = Usage(
        input_tokens=1000, output_tokens=500, cache_read_tokens=2000, cache_write_tokens=300
    )
    price = price_of(usage, "claude", "claude-3-haiku-20240307", NOON)
    assert price.source == "genai-prices"
    assert price.cost_usd == per_mtok((1000, "0.25"), (500, "1.25"), (2000, "0.03"), (300, "0.30"))
    assert price.cost_usd == Decimal("0.001025")


def test_openai_cached_prompt_tokens_are_not_charged_twice() -> None:
    # The API said prompt_tokens=1200 of which cached_tokens=1000; the adapter normalised that
    # to 200 uncached + 1000 cache reads. gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out.
    usage = Usage(input_tokens=200, output_tokens=100, cache_read_tokens=1000)
    price = price_of(usage, "openai", "gpt-4o-mini", NOON)
    assert price.cost_usd == per_mtok((200, "0.15"), (1000, "0.075"), (100, "0.60"))
    assert price.cost_usd == Decimal("0.000165")


def test_gemini_prices_and_its_long_prompt_tier() -> None:
    # gemini-1.5-flash: $0.075 in, $0.01875 cached, $0.30 out; above 128k prompt tokens every
    # token costs the tier price ($0.15 in, $0.60 out).
    short = Usage(input_tokens=10_000, output_tokens=1000, cache_read_tokens=4000)
    assert price_of(short, "gemini", "gemini-1.5-flash", NOON).cost_usd == per_mtok(
        (10_000, "0.075"), (4000, "0.01875"), (1000, "0.30")
    )
    long = Usage(input_tokens=130_000, output_tokens=1000)
    assert price_of(long, "google", "gemini-1.5-flash", NOON).cost_usd == per_mtok(
        (130_000, "0.15"), (1000, "0.60")
    )


def test_openrouter_is_never_priced_from_another_vendors_table() -> None:
    # OpenRouter does not list deepseek-reasoner under its own name. DeepSeek's direct table
    # does (with time-of-day prices), but OpenRouter does not bill by it: unpriced.
    usage = Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=500)
    warnings: list[str] = []
    book = PriceBook(warn=warnings.append)
    price = book.price_of(usage, "openrouter", "deepseek/deepseek-reasoner", NOON)
    assert (price.cost_usd, price.source) == (None, "unknown")
    assert book.prices_for("openrouter", "deepseek/deepseek-reasoner", NOON) is None
    assert "'openrouter:deepseek/deepseek-reasoner'" in warnings[0]


def test_historic_prices_apply_at_the_calls_own_timestamp() -> None:
    # OpenRouter's deepseek/deepseek-chat input price went $0.38 → $0.32 (2026-10-19) →
    # $0.2574 with output $1.0287 (2026-10-20).
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    before = datetime(2026, 10, 1, tzinfo=UTC)
    after = datetime(2026, 10, 25, tzinfo=UTC)
    model = "deepseek/deepseek-chat"
    assert price_of(usage, "openrouter", model, before).cost_usd == Decimal("1.27")
    assert price_of(usage, "openrouter", model, after).cost_usd == Decimal("1.2861")


def test_cerebras_without_a_cache_price_charges_cached_tokens_as_input() -> None:
    usage = Usage(input_tokens=900, output_tokens=50, cache_read_tokens=100)
    assert price_of(usage, "cerebras", "llama3.1-8b", NOON).cost_usd == per_mtok(
        (1000, "0.10"), (50, "0.10")
    )


def test_cost_is_quantized_to_ten_places() -> None:
    price = price_of(Usage(input_tokens=1, output_tokens=0), "cerebras", "llama3.1-8b", NOON)
    assert price.cost_usd == Decimal("0.0000001000")
    assert price.cost_usd is not None
    assert price.cost_usd.as_tuple().exponent == -10


def test_override_beats_genai_prices_and_prices_cache_tokens() -> None:
    overrides = {
        "claude:claude-3-haiku-20240307": PriceOverride(
            input_per_mtok=Decimal("0.20"),
            output_per_mtok=Decimal("1.00"),
            cache_read_per_mtok=Decimal("0.02"),
        )
    }
    usage = Usage(
        input_tokens=1000, output_tokens=500, cache_read_tokens=2000, cache_write_tokens=300
    )
    price = price_of(usage, "claude", "claude-3-haiku-20240307", NOON, overrides=overrides)
    assert price.source == "override"
    # No cache-write price in the override: written tokens cost the input price.
    assert price.cost_usd == per_mtok((1000, "0.20"), (500, "1.00"), (2000, "0.02"), (300, "0.20"))


def test_provider_reported_cost_wins_over_everything() -> None:
    overrides = {
        "openrouter:deepseek/deepseek-chat": PriceOverride(
            input_per_mtok=Decimal(1), output_per_mtok=Decimal(1)
        )
    }
    price = price_of(
        Usage(input_tokens=10, output_tokens=10),
        "openrouter",
        "deepseek/deepseek-chat",
        NOON,
        overrides=overrides,
        reported_cost_usd=Decimal("0.00001234"),
    )
    assert (price.cost_usd, price.source) == (Decimal("0.00001234"), "provider-reported")


def test_unknown_model_is_unpriced_never_zero_and_warned_about_once() -> None:
    warnings: list[str] = []
    book = PriceBook(warn=warnings.append)
    for _ in range(3):
        price = book.price_of(Usage(100, 10), "cerebras", "llama-9000-secret", NOON)
        assert price.cost_usd is None
        assert price.unpriced
        assert price.source == "unknown"
    book.price_of(Usage(100, 10), "openai", "gpt-unknown", NOON)
    assert len(warnings) == 2
    assert "'cerebras:llama-9000-secret'" in warnings[0]
    assert '[pricing."cerebras:llama-9000-secret"]' in warnings[0]


@pytest.mark.parametrize(
    ("provider", "model", "listed_as"),
    [
        ("claude", "claude-3-haiku-20240307", ("anthropic", "claude-3-haiku")),
        ("gemini", "gemini-1.5-flash", ("google", "gemini-1.5-flash")),
        ("cerebras", "llama3.1-8b", ("cerebras", "llama3.1-8b")),
        ("openai", "gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("openrouter", "deepseek/deepseek-chat", ("openrouter", "deepseek/deepseek-chat")),
        (
            "openrouter",
            "deepseek/deepseek-chat-v3-0324",
            ("openrouter", "deepseek/deepseek-chat-v3-0324"),
        ),
    ],
)
def test_provider_ids_map_to_the_catalogue(
    provider: str, model: str, listed_as: tuple[str, str]
) -> None:
    prices = PriceBook().prices_for(provider, model, NOON)
    assert prices is not None
    assert (prices.catalogue_provider, prices.catalogue_model) == listed_as
