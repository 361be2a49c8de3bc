"""Pricing: genai-prices at the call's timestamp, overrides, provider-reported cost, unknown.

Every expected figure is a hand computation from the published per-million prices, written
out so a wrong cache convention (the peers' most reported cost bug) shows as a wrong number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from salesctl.config import PriceOverride
from salesctl.llm.pricing import PriceBook
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
    price = PriceBook().price_of(usage, "claude", "claude-3-haiku-20240307", NOON)
    assert price.source == "genai-prices"
    assert price.cost_usd == per_mtok((1000, "0.25"), (500, "1.25"), (2000, "0.03"), (300, "0.30"))
    assert price.cost_usd == Decimal("0.001025")


def test_openai_cached_prompt_tokens_are_not_charged_twice() -> None:
    # The API said prompt_tokens=1200 of which cached_tokens=1000; the adapter normalised that
    # to 200 uncached + 1000 cache reads. gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out.
    usage = Usage(input_tokens=200, output_tokens=100, cache_read_tokens=1000)
    price = PriceBook().price_of(usage, "openai", "gpt-4o-mini", NOON)
    assert price.cost_usd == per_mtok((200, "0.15"), (1000, "0.075"), (100, "0.60"))
    assert price.cost_usd == Decimal("0.000165")


def test_gemini_prices_and_its_long_prompt_tier() -> None:
    # gemini-1.5-flash: $0.075 in, $0.01875 cached, $0.30 out; above 128k prompt tokens every
    # token costs the tier price ($0.15 in, $0.60 out).
    short = Usage(input_tokens=10_000, output_tokens=1000, cache_read_tokens=4000)
    assert PriceBook().price_of(short, "gemini", "gemini-1.5-flash", NOON).cost_usd == per_mtok(
        (10_000, "0.075"), (4000, "0.01875"), (1000, "0.30")
    )
    long = Usage(input_tokens=130_000, output_tokens=1000)
    assert PriceBook().price_of(long, "google", "gemini-1.5-flash", NOON).cost_usd == per_mtok(
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
    assert PriceBook().price_of(usage, "openrouter", model, before).cost_usd == Decimal("1.27")
    assert PriceBook().price_of(usage, "openrouter", model, after).cost_usd == Decimal("1.2861")


def test_cerebras_without_a_cache_price_charges_cached_tokens_as_input() -> None:
    usage = Usage(input_tokens=900, output_tokens=50, cache_read_tokens=100)
    assert PriceBook().price_of(usage, "cerebras", "llama3.1-8b", NOON).cost_usd == per_mtok(
        (1000, "0.10"), (50, "0.10")
    )


def test_cost_is_quantized_to_ten_places() -> None:
    price = PriceBook().price_of(
        Usage(input_tokens=1, output_tokens=0), "cerebras", "llama3.1-8b", NOON
    )
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
    price = PriceBook(overrides).price_of(usage, "claude", "claude-3-haiku-20240307", NOON)
    assert price.source == "override"
    # No cache-write price in the override: written tokens cost the input price.
    assert price.cost_usd == per_mtok((1000, "0.20"), (500, "1.00"), (2000, "0.02"), (300, "0.20"))


def test_provider_reported_cost_wins_over_everything() -> None:
    overrides = {
        "openrouter:deepseek/deepseek-chat": PriceOverride(
            input_per_mtok=Decimal(1), output_per_mtok=Decimal(1)
        )
    }
    price = PriceBook(overrides).price_of(
        Usage(input_tokens=10, output_tokens=10),
        "openrouter",
        "deepseek/deepseek-chat",
        NOON,
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


# --- one resolution: configured ids, served snapshots, aliases ------------------------------

SONNET_DEAL = PriceOverride(
    input_per_mtok=Decimal(2), output_per_mtok=Decimal(10), cache_write_1h_per_mtok=Decimal(4)
)


def test_an_override_under_the_configured_id_prices_every_snapshot_of_the_model() -> None:
    book = PriceBook({"claude:claude-sonnet-4-5": SONNET_DEAL})
    usage = Usage(input_tokens=1000, output_tokens=100)
    expected = per_mtok((1000, "2"), (100, "10"))
    # Asked for as configured and served dated; served dated alone (genai-prices lists the
    # dated id as the same model); and the configured id itself.
    for served, configured in [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", None),
        ("claude-sonnet-4-5", None),
    ]:
        price = book.price_of(usage, "claude", served, NOON, configured=configured)
        assert (price.cost_usd, price.source) == (expected, "override")
    rule = book.rule("claude", "claude-sonnet-4-5-20250929")
    assert rule.override_key == "claude:claude-sonnet-4-5"
    assert "listed by genai-prices as anthropic/claude-sonnet-4-5" in rule.matched
    # Another model of the family is not a snapshot of it.
    other = book.price_of(usage, "claude", "claude-sonnet-4-20250514", NOON)
    assert other.source == "genai-prices"


def test_the_most_specific_override_wins() -> None:
    cheap = PriceOverride(input_per_mtok=Decimal(1), output_per_mtok=Decimal(1))
    book = PriceBook(
        {
            "claude:claude-sonnet-4-5": SONNET_DEAL,
            "claude:claude-sonnet-4-5-20250929": cheap,
        }
    )
    usage = Usage(input_tokens=1000, output_tokens=100)
    served = book.price_of(
        usage, "claude", "claude-sonnet-4-5-20250929", NOON, configured="claude-sonnet-4-5"
    )
    assert served.cost_usd == per_mtok((1100, "1"))
    other_snapshot = book.price_of(usage, "claude", "claude-sonnet-4-5-20251201", NOON)
    assert other_snapshot.cost_usd == per_mtok((1000, "2"), (100, "10"))


def test_a_private_models_override_prices_the_snapshots_served_for_it() -> None:
    deal = PriceOverride(input_per_mtok=Decimal(3), output_per_mtok=Decimal(6))
    book = PriceBook({"openai:acme-ft-1": deal}, warn=lambda _m: None)
    usage = Usage(input_tokens=500, output_tokens=50)
    asked = book.price_of(usage, "openai", "acme-ft-1-2026-11-01", NOON, configured="acme-ft-1")
    assert (asked.cost_usd, asked.source) == (per_mtok((500, "3"), (50, "6")), "override")
    # Without knowing what was asked for, a private snapshot has no price.
    assert book.price_of(usage, "openai", "acme-ft-1-2026-11-01", NOON).cost_usd is None


def test_one_hour_cache_writes_and_reasoning_under_an_override() -> None:
    book = PriceBook({"claude:claude-sonnet-4-5": SONNET_DEAL})
    usage = Usage(
        input_tokens=100,
        output_tokens=300,
        cache_write_tokens=1000,
        cache_write_1h_tokens=400,
        reasoning_tokens=200,
    )
    price = book.price_of(usage, "claude", "claude-sonnet-4-5", NOON)
    # No 5-minute write price given: the input price; reasoning is output.
    assert price.cost_usd == per_mtok((100, "2"), (300, "10"), (600, "2"), (400, "4"))


def test_one_hour_cache_writes_at_genai_prices_own_rate() -> None:
    # claude-haiku-4-5: $1 in, $5 out, $1.25 5-minute writes, $2 1-hour writes per MTok.
    usage = Usage(
        input_tokens=100, output_tokens=10, cache_write_tokens=1000, cache_write_1h_tokens=600
    )
    price = PriceBook().price_of(usage, "claude", "claude-haiku-4-5-20251001", NOON)
    assert price.cost_usd == per_mtok((100, "1"), (10, "5"), (400, "1.25"), (600, "2"))


def test_the_fast_path_agrees_with_genai_prices_on_every_component() -> None:
    from genai_prices import Usage as GenAIUsage
    from genai_prices import calc_price

    usage = Usage(
        input_tokens=7001,
        output_tokens=3003,
        cache_read_tokens=2002,
        cache_write_tokens=1001,
        cache_write_1h_tokens=301,
        reasoning_tokens=1500,
    )
    for provider, model, genai in [
        ("claude", "claude-haiku-4-5", "anthropic"),
        ("openai", "gpt-4o-mini", "openai"),
        ("openai", "o4-mini", "openai"),
        ("cerebras", "gpt-oss-120b", "cerebras"),
    ]:
        book = PriceBook()
        ours = book.price_of(usage, provider, model, NOON)
        theirs = calc_price(
            GenAIUsage(
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cache_write_1h_tokens=usage.cache_write_1h_tokens,
                output_reasoning_tokens=usage.reasoning_tokens,
            ),
            model,
            provider_id=genai,
            genai_request_timestamp=NOON,
        ).total_price
        assert ours.cost_usd == theirs.quantize(Decimal("1e-10")), model


def test_openrouter_prices_the_model_asked_for_then_the_one_served() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    book = PriceBook()
    chat = book.price_of(
        usage,
        "openrouter",
        "deepseek/deepseek-chat-v3-0324",
        NOON,
        configured="deepseek/deepseek-chat",
    )
    assert (
        chat.cost_usd
        == PriceBook().price_of(usage, "openrouter", "deepseek/deepseek-chat", NOON).cost_usd
    )
    # An auto-router id OpenRouter does not list: the served model's price.
    auto = book.price_of(
        usage, "openrouter", "deepseek/deepseek-chat-v3-0324", NOON, configured="openrouter/auto"
    )
    served = PriceBook().price_of(usage, "openrouter", "deepseek/deepseek-chat-v3-0324", NOON)
    assert auto.cost_usd == served.cost_usd != chat.cost_usd


def test_pricing_show_and_list_resolve_as_calls_do() -> None:
    from salesctl.config import Settings
    from salesctl.llm.pricing import price_list, show_prices

    settings = Settings(pricing={"claude:claude-sonnet-4-5": SONNET_DEAL})
    shown = show_prices(settings, "anthropic", "claude-sonnet-4-5-20250929", at=NOON)
    assert (shown.source, shown.input_per_mtok, shown.cache_write_1h_per_mtok) == (
        "override",
        Decimal(2),
        Decimal(4),
    )
    assert shown.notes == ('from [pricing."claude:claude-sonnet-4-5"] in the config file',)
    listed = price_list(
        settings,
        at=NOON,
        served=[
            ("claude", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
            ("openrouter", "deepseek/deepseek-chat", "deepseek/deepseek-chat-v3-0324"),
        ],
    )
    by_id = {(e.provider, e.model, e.configured_model): e for e in listed.entries}
    snapshot = by_id[("claude", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    assert (snapshot.source, snapshot.input_per_mtok) == ("override", Decimal(2))
    configured = by_id[("openrouter", "deepseek/deepseek-chat", None)]
    served = by_id[("openrouter", "deepseek/deepseek-chat-v3-0324", "deepseek/deepseek-chat")]
    assert served.input_per_mtok == configured.input_per_mtok


def test_overrides_for_models_never_served_are_found() -> None:
    from salesctl.config import Settings
    from salesctl.llm.pricing import unserved_overrides

    deal = PriceOverride(input_per_mtok=Decimal(1), output_per_mtok=Decimal(1))
    settings = Settings(
        pricing={
            "claude:claude-sonnet-4-5": deal,  # genai-prices lists it
            "claude:claude-sonet-4-5": deal,  # a typo: nothing serves it
            "openai:acme-ft-1": deal,  # private: seen in tracked calls
            "cerebras:llama-negotiated": deal,  # private, never used
        }
    )
    served = [("openai", "acme-ft-1", "acme-ft-1-2026-11-01")]
    assert unserved_overrides(settings, served) == [
        "claude:claude-sonet-4-5",
        "cerebras:llama-negotiated",
    ]
