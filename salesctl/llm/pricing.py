"""What a call cost: provider-reported figure > user override > genai-prices > unknown.

Prices are per million tokens and taken at the call's own timestamp, so historic prices and
time-of-day prices (DeepSeek's off-peak hours) apply. An unknown price is `None`, never zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from salesctl.llm.types import Usage

if TYPE_CHECKING:
    from salesctl.config import PriceOverride, Settings

PriceSource = Literal["provider-reported", "override", "genai-prices", "unknown"]

COST_QUANTUM = Decimal("1e-10")
"""Costs are kept to ten decimal places, the precision of the `cost_usd` column."""

MILLION = Decimal(1_000_000)

GENAI_PROVIDER: dict[str, str] = {
    "cerebras": "cerebras",
    "claude": "anthropic",
    "gemini": "google",
    "openrouter": "openrouter",
    "openai": "openai",
}
"""salesctl provider id -> genai-prices provider id."""

OPENROUTER_VENDORS: dict[str, str] = {"meta-llama": "meta", "mistralai": "mistral"}
"""OpenRouter model prefixes whose genai-prices provider id is spelled differently."""

log = logging.getLogger("salesctl.pricing")


@dataclass(frozen=True, slots=True)
class Price:
    """The cost of one call and where that figure came from."""

    cost_usd: Decimal | None
    source: PriceSource

    @property
    def unpriced(self) -> bool:
        return self.cost_usd is None


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """The per-million-token prices in force for one model at one moment."""

    provider: str
    model: str
    source: PriceSource
    input_per_mtok: Decimal | None
    output_per_mtok: Decimal | None
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    catalogue_provider: str | None = None
    """The genai-prices provider the price was found under (for `openrouter`, maybe a vendor)."""
    catalogue_model: str | None = None
    catalogue_name: str | None = None
    notes: tuple[str, ...] = ()


def quantize_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM)


def override_key(provider: str, model: str) -> str:
    return f"{provider}:{model}"


def _genai_usage(usage: Usage) -> Any:
    """genai-prices counts cached tokens INSIDE `input_tokens`; ours keeps them apart."""
    from genai_prices import Usage as GenAIUsage

    return GenAIUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        # Explicit zeros spare genai-prices inferring the finer buckets on every call.
        cache_write_5m_tokens=0,
        cache_write_1h_tokens=0,
    )


def _catalogue_refs(provider: str, model: str) -> list[tuple[str, str]]:
    """Where to look a model up in genai-prices, best first.

    OpenRouter lists most models under its own id (`deepseek/deepseek-chat`); a model it does
    not list is tried under its vendor (`deepseek` / `deepseek-chat`).
    """
    refs = [(GENAI_PROVIDER.get(provider, provider), model)]
    if provider == "openrouter" and "/" in model:
        vendor, _, vendor_model = model.partition("/")
        refs.append((OPENROUTER_VENDORS.get(vendor, vendor), vendor_model))
    return refs


def _find_catalogue_model(provider: str, model: str) -> tuple[Any, Any] | None:
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    for catalogue_provider, ref in _catalogue_refs(provider, model):
        try:
            return snapshot.find_provider_model(ref, None, catalogue_provider, None)
        except LookupError:
            continue
    return None


class PriceBook:
    """Prices calls for one run: applies overrides and warns once per unpriced model."""

    def __init__(
        self,
        overrides: Mapping[str, PriceOverride] | None = None,
        *,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.overrides = dict(overrides or {})
        self._warn = warn or log.warning
        self._warned: set[str] = set()
        self._rates: dict[int, _Rates] = {}
        self._catalogue: dict[tuple[str, str], tuple[Any, Any] | None] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, warn: Callable[[str], None] | None = None
    ) -> PriceBook:
        return cls(settings.pricing, warn=warn)

    def price_of(
        self,
        usage: Usage,
        provider: str,
        model: str,
        at: datetime,
        *,
        reported_cost_usd: Decimal | None = None,
    ) -> Price:
        """The cost of `usage` on `provider:model` at `at`; never raises, never invents zero."""
        if reported_cost_usd is not None:
            return Price(quantize_cost(reported_cost_usd), "provider-reported")
        override = self.overrides.get(override_key(provider, model))
        if override is not None:
            return Price(quantize_cost(_override_cost(usage, override)), "override")
        found = self._catalogue_model(provider, model)
        if found is not None:
            catalogue_provider, catalogue_model = found
            rates = self._rates_for(catalogue_model.get_prices(at))
            if rates.linear is not None:
                return Price(quantize_cost(rates.cost(usage)), "genai-prices")
            try:
                calculation = catalogue_model.calc_price(
                    _genai_usage(usage), catalogue_provider, genai_request_timestamp=at
                )
            except (ValueError, ArithmeticError) as exc:
                self._warn_unpriced(provider, model, f"genai-prices could not price it: {exc}")
                return Price(None, "unknown")
            return Price(quantize_cost(calculation.total_price), "genai-prices")
        self._warn_unpriced(provider, model, "genai-prices does not list it")
        return Price(None, "unknown")

    def prices_for(
        self, provider: str, model: str, at: datetime | None = None
    ) -> ModelPrices | None:
        """The per-million prices in force for `provider:model` (None when unknown)."""
        at = at or datetime.now(UTC)
        override = self.overrides.get(override_key(provider, model))
        if override is not None:
            return ModelPrices(
                provider=provider,
                model=model,
                source="override",
                input_per_mtok=override.input_per_mtok,
                output_per_mtok=override.output_per_mtok,
                cache_read_per_mtok=override.cache_read_per_mtok,
                cache_write_per_mtok=override.cache_write_per_mtok,
                notes=(f'from [pricing."{override_key(provider, model)}"] in the config file',),
            )
        found = _find_catalogue_model(provider, model)
        if found is None:
            return None
        catalogue_provider, catalogue_model = found
        return _catalogue_prices(provider, model, catalogue_provider, catalogue_model, at)

    def _catalogue_model(self, provider: str, model: str) -> tuple[Any, Any] | None:
        key = (provider, model)
        if key not in self._catalogue:
            self._catalogue[key] = _find_catalogue_model(provider, model)
        return self._catalogue[key]

    def _rates_for(self, model_price: Any) -> _Rates:
        rates = self._rates.get(id(model_price))
        if rates is None:
            rates = self._rates[id(model_price)] = _Rates.of(model_price)
        return rates

    def _warn_unpriced(self, provider: str, model: str, why: str) -> None:
        key = override_key(provider, model)
        if key in self._warned:
            return
        self._warned.add(key)
        self._warn(
            f"no price known for {key!r} ({why}); its calls are tracked with cost unknown. "
            f'Add [pricing."{key}"] with input_per_mtok and output_per_mtok to the config file.'
        )


_CALIBRATION = (
    Usage(),
    Usage(input_tokens=1_000_000),
    Usage(output_tokens=1_000_000),
    Usage(cache_read_tokens=1_000_000),
    Usage(cache_write_tokens=1_000_000),
)
_PROBE = Usage(
    input_tokens=123_457, output_tokens=6_553, cache_read_tokens=4_099, cache_write_tokens=257
)


@dataclass(frozen=True, slots=True)
class _Rates:
    """One genai-prices price table as what it is for token-priced models without tiers: a
    fixed part plus USD per million tokens of each kind, so a call's price is a few Decimal
    multiplications instead of genai-prices resolving and validating the table each time.

    The rates are genai-prices' own answers for a million tokens of each kind, and are only
    used when they reproduce its answer for a mixed probe exactly; otherwise (tiers, or
    anything not linear) `linear` is None and every call goes to genai-prices.
    """

    model_price: Any
    """Kept so the `id()` this is cached under cannot be reused by another table."""
    linear: tuple[Decimal, Decimal, Decimal, Decimal, Decimal] | None

    @classmethod
    def of(cls, model_price: Any) -> _Rates:
        from genai_prices.types import TieredPrices

        if any(isinstance(value, TieredPrices) for value in vars(model_price).values()):
            return cls(model_price, None)
        try:
            fixed, *per_mtok = (
                model_price.calc_price(_genai_usage(u))["total_price"] for u in _CALIBRATION
            )
            rates = cls(model_price, (fixed, *(price - fixed for price in per_mtok)))  # type: ignore[arg-type]
            exact = model_price.calc_price(_genai_usage(_PROBE))["total_price"]
        except (ValueError, ArithmeticError, TypeError, KeyError):
            return cls(model_price, None)
        return rates if rates.cost(_PROBE) == exact else cls(model_price, None)

    def cost(self, usage: Usage) -> Decimal:
        assert self.linear is not None
        fixed, input_rate, output_rate, read_rate, write_rate = self.linear
        return (
            fixed
            + usage.input_tokens * input_rate / MILLION
            + usage.output_tokens * output_rate / MILLION
            + usage.cache_read_tokens * read_rate / MILLION
            + usage.cache_write_tokens * write_rate / MILLION
        )


def _override_cost(usage: Usage, override: PriceOverride) -> Decimal:
    cache_read = override.cache_read_per_mtok
    cache_write = override.cache_write_per_mtok
    total = (
        usage.input_tokens * override.input_per_mtok
        + usage.output_tokens * override.output_per_mtok
        + usage.cache_read_tokens
        * (cache_read if cache_read is not None else override.input_per_mtok)
        + usage.cache_write_tokens
        * (cache_write if cache_write is not None else override.input_per_mtok)
    )
    return total / MILLION


def _base(value: Any) -> Decimal | None:
    from genai_prices.types import TieredPrices

    if value is None:
        return None
    return value.base if isinstance(value, TieredPrices) else value


def _catalogue_prices(
    provider: str, model: str, catalogue_provider: Any, catalogue_model: Any, at: datetime
) -> ModelPrices:
    from genai_prices.types import TieredPrices

    prices = catalogue_model.get_prices(at)
    notes: list[str] = []
    for key in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"):
        value = getattr(prices, key, None)
        if isinstance(value, TieredPrices):
            for tier in value.tiers:
                notes.append(
                    f"{key.removesuffix('_mtok').replace('_', ' ')}: ${tier.price}/MTok "
                    f"when the prompt exceeds {tier.start:,} tokens"
                )
    if isinstance(catalogue_model.prices, list) and len(catalogue_model.prices) > 1:
        notes.append("price varies by date or time of day; each call is priced at its own time")
    if provider == "openrouter":
        notes.append("OpenRouter reports each call's cost itself; that figure wins when present")
    return ModelPrices(
        provider=provider,
        model=model,
        source="genai-prices",
        input_per_mtok=_base(getattr(prices, "input_mtok", None)),
        output_per_mtok=_base(getattr(prices, "output_mtok", None)),
        cache_read_per_mtok=_base(getattr(prices, "cache_read_mtok", None)),
        cache_write_per_mtok=_base(getattr(prices, "cache_write_mtok", None)),
        catalogue_provider=catalogue_provider.id,
        catalogue_model=catalogue_model.id,
        catalogue_name=catalogue_model.name,
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class PriceList:
    """`pricing list`: the models salesctl is configured to call, with their prices."""

    at: datetime
    entries: list[ModelPrices | UnknownPrice] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UnknownPrice:
    provider: str
    model: str
    source: PriceSource = "unknown"


def configured_models(settings: Settings) -> list[tuple[str, str]]:
    """Every `provider:model` the settings can call: agent defaults, router tiers, overrides."""
    from salesctl.config import canonical_provider

    seen: dict[tuple[str, str], None] = {}
    for agent in settings.agents.values():
        seen[(canonical_provider(agent.provider), agent.model)] = None
    router = settings.router
    for choice in (*router.simple, *router.medium, *router.complex, *settings.pricing):
        provider, _, model = choice.partition(":")
        if model:
            seen[(canonical_provider(provider), model)] = None
    return list(seen)


def catalogue_models(providers: Iterable[str]) -> list[tuple[str, str]]:
    """Every model genai-prices lists for the given salesctl providers."""
    from genai_prices.data_snapshot import get_snapshot

    wanted = {GENAI_PROVIDER[p]: p for p in providers}
    return [
        (wanted[p.id], m.id) for p in get_snapshot().providers if p.id in wanted for m in p.models
    ]


def price_list(
    settings: Settings, *, everything: bool = False, at: datetime | None = None
) -> PriceList:
    """The prices in force now for the configured models (or every listed model)."""
    from salesctl.config import PROVIDER_IDS

    at = at or datetime.now(UTC)
    book = PriceBook.from_settings(settings, warn=lambda _message: None)
    models = configured_models(settings)
    if everything:
        models += [m for m in catalogue_models(PROVIDER_IDS) if m not in models]
    entries: list[ModelPrices | UnknownPrice] = []
    for provider, model in models:
        entries.append(book.prices_for(provider, model, at) or UnknownPrice(provider, model))
    return PriceList(at=at, entries=entries)


def price_of(
    usage: Usage,
    provider: str,
    model: str,
    at: datetime,
    *,
    overrides: Mapping[str, PriceOverride] | None = None,
    reported_cost_usd: Decimal | None = None,
) -> Price:
    """Price one call without a run's warn-once state (see `PriceBook` for that)."""
    return PriceBook(overrides).price_of(
        usage, provider, model, at, reported_cost_usd=reported_cost_usd
    )


def show_prices(
    settings: Settings, provider: str, model: str, *, at: datetime | None = None
) -> ModelPrices:
    """`pricing show`: the prices in force for one model, or NotFound naming the fix."""
    from salesctl.config import canonical_provider, config_path
    from salesctl.errors import NotFound

    provider = canonical_provider(provider)
    found = PriceBook.from_settings(settings, warn=lambda _message: None).prices_for(
        provider, model, at
    )
    if found is None:
        key = override_key(provider, model)
        raise NotFound(
            f"no price known for {key!r}: genai-prices does not list it; add "
            f'[pricing."{key}"] with input_per_mtok and output_per_mtok to {config_path()}'
        )
    return found
