"""What a call cost, by one price resolution: provider-reported > override > genai-prices.

A call is priced for the model the provider says it served, asked for under the model id the
user configured. `PriceBook.rule()` decides, once per (provider, served, configured), which
rule prices it:

1. an override `[pricing."provider:model"]` naming the served id, else the configured id,
   else any model genai-prices lists as the same model (its snapshots and aliases: the
   override for `claude:claude-sonnet-4-5` prices `claude-sonnet-4-5-20250929` too);
2. genai-prices' price for the served id, else for the configured id, under that provider
   only (OpenRouter is priced by OpenRouter's own list, never by another vendor's, and by
   the model asked for first: it bills the model page requested, the served id only names
   the version behind it);
3. unknown: the cost is None, never zero, and the model is warned about once.

A cost the provider reports itself (OpenRouter's `usage.cost`) wins over all of them. Prices
are per million tokens and taken at the call's own timestamp, so historic prices apply.
`prices_for()` shows the same resolution, so `pricing list|show` say what calls are charged.
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
    from sqlalchemy.ext.asyncio import AsyncEngine

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

BILLED_AS_REQUESTED = frozenset({"openrouter"})
"""Providers whose list price is the requested model's (the served id is looked up only when
the requested one is not listed, e.g. an auto-router)."""

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
class Rule:
    """Which rule prices the calls of one served model, asked for as a configured one."""

    source: PriceSource
    """"override", "genai-prices" or "unknown" (a provider-reported cost needs no rule)."""
    matched: str = ""
    """What matched, in words: which override key or catalogue entry, by which id."""
    override_key: str | None = None
    override: PriceOverride | None = None
    catalogue: tuple[Any, Any] | None = None
    """(genai-prices provider, model) for `genai-prices`."""


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """The per-million-token prices a call to one model is charged at, and by which rule."""

    provider: str
    model: str
    source: PriceSource
    input_per_mtok: Decimal | None
    output_per_mtok: Decimal | None
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    catalogue_provider: str | None = None
    """The genai-prices provider the price was found under."""
    catalogue_model: str | None = None
    catalogue_name: str | None = None
    notes: tuple[str, ...] = ()
    configured_model: str | None = None
    """For a served id `pricing list` found in the tracked calls: the id it was asked for as."""
    rule: str = ""
    """Which rule prices these calls, in words (the override key or catalogue entry matched)."""


def quantize_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM)


def override_key(provider: str, model: str) -> str:
    return f"{provider}:{model}"


def _genai_usage(usage: Usage) -> Any:
    """genai-prices counts cached tokens INSIDE `input_tokens`; ours keeps them apart.

    Every bucket is given explicitly (zeros too), which spares genai-prices inferring the
    finer ones on every call: the 5-minute/1-hour split of cache writes and the reasoning
    part of the output.
    """
    from genai_prices import Usage as GenAIUsage

    return GenAIUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_5m_tokens=usage.cache_write_tokens - usage.cache_write_1h_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )


def find_catalogue_model(provider: str, model: str) -> tuple[Any, Any] | None:
    """genai-prices' (provider, model) for `model` under `provider`'s own list, or None.

    Only the provider's own list: OpenRouter bills by its own prices, so a model it does not
    list is not priced from its vendor's direct price table.
    """
    from genai_prices.data_snapshot import get_snapshot

    try:
        return get_snapshot().find_provider_model(
            model, None, GENAI_PROVIDER.get(provider, provider), None
        )
    except LookupError:
        return None


class PriceBook:
    """Prices calls for one run: resolves each model's rule once and warns once per
    unpriced model."""

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
        self._rules: dict[tuple[str, str, str | None], Rule] = {}
        self._aliases: dict[tuple[str, str], list[str]] | None = None

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
        configured: str | None = None,
        reported_cost_usd: Decimal | None = None,
    ) -> Price:
        """The cost of `usage` on `provider:model` (served; asked for as `configured`) at
        `at`; never raises, never invents zero."""
        if reported_cost_usd is not None:
            return Price(quantize_cost(reported_cost_usd), "provider-reported")
        rule = self.rule(provider, model, configured)
        if rule.override is not None:
            return Price(quantize_cost(_override_cost(usage, rule.override)), "override")
        if rule.catalogue is not None:
            catalogue_provider, catalogue_model = rule.catalogue
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

    def rule(self, provider: str, model: str, configured: str | None = None) -> Rule:
        """The rule that prices `provider:model` (served), asked for as `configured`."""
        if configured == model:
            configured = None
        key = (provider, model, configured)
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = self._resolve(provider, model, configured)
        return rule

    def _resolve(self, provider: str, model: str, configured: str | None) -> Rule:
        ids = [(model, "the served id")]
        if configured:
            ids.append((configured, "the configured id"))
        for ref, which in ids:
            key = override_key(provider, ref)
            if key in self.overrides:
                return Rule("override", f'[pricing."{key}"] ({which})', key, self.overrides[key])
        for ref, which in ids:
            found = self._catalogue_model(provider, ref)
            if found is None:
                continue
            aliases = self._override_aliases().get((provider, found[1].id), [])
            if aliases:
                key = aliases[0]
                matched = (
                    f'[pricing."{key}"] ({which} is listed by genai-prices as '
                    f"{found[0].id}/{found[1].id}, as is the override's model)"
                )
                return Rule("override", matched, key, self.overrides[key])
        listed = ids[::-1] if provider in BILLED_AS_REQUESTED else ids
        for ref, which in listed:
            found = self._catalogue_model(provider, ref)
            if found is not None:
                matched = f"genai-prices {found[0].id}/{found[1].id} ({which})"
                return Rule("genai-prices", matched, catalogue=found)
        return Rule("unknown", "no override, and genai-prices does not list it")

    def _override_aliases(self) -> dict[tuple[str, str], list[str]]:
        """(provider, genai-prices model id) -> the override keys naming that model."""
        if self._aliases is None:
            aliases: dict[tuple[str, str], list[str]] = {}
            for key in sorted(self.overrides):
                provider, _, model = key.partition(":")
                found = self._catalogue_model(provider, model) if model else None
                if found is not None:
                    aliases.setdefault((provider, found[1].id), []).append(key)
            self._aliases = aliases
        return self._aliases

    def prices_for(
        self,
        provider: str,
        model: str,
        at: datetime | None = None,
        *,
        configured: str | None = None,
    ) -> ModelPrices | None:
        """The per-million prices a call to `provider:model` is charged at (None: unknown),
        by the same rule `price_of` applies."""
        at = at or datetime.now(UTC)
        rule = self.rule(provider, model, configured)
        if rule.override is not None:
            override = rule.override
            return ModelPrices(
                provider=provider,
                model=model,
                source="override",
                input_per_mtok=override.input_per_mtok,
                output_per_mtok=override.output_per_mtok,
                cache_read_per_mtok=override.cache_read_per_mtok,
                cache_write_per_mtok=override.cache_write_per_mtok,
                cache_write_1h_per_mtok=override.cache_write_1h_per_mtok,
                notes=(f'from [pricing."{rule.override_key}"] in the config file',),
                configured_model=configured if configured != model else None,
                rule=rule.matched,
            )
        if rule.catalogue is None:
            return None
        catalogue_provider, catalogue_model = rule.catalogue
        return _catalogue_prices(
            provider,
            model,
            catalogue_provider,
            catalogue_model,
            at,
            configured=configured if configured != model else None,
            rule=rule.matched,
        )

    def _catalogue_model(self, provider: str, model: str) -> tuple[Any, Any] | None:
        key = (provider, model)
        if key not in self._catalogue:
            self._catalogue[key] = find_catalogue_model(provider, model)
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


_MTOK = 1_000_000
_CALIBRATION = (
    Usage(),
    Usage(input_tokens=_MTOK),
    Usage(output_tokens=_MTOK),
    Usage(cache_read_tokens=_MTOK),
    Usage(cache_write_tokens=_MTOK),
    Usage(cache_write_tokens=_MTOK, cache_write_1h_tokens=_MTOK),
    Usage(output_tokens=_MTOK, reasoning_tokens=_MTOK),
)
"""Nothing, then a million tokens of each billed kind alone: input, output, cache read,
5-minute cache write, 1-hour cache write, reasoning output."""
_PROBE = Usage(
    input_tokens=123_457,
    output_tokens=6_553,
    cache_read_tokens=4_099,
    cache_write_tokens=257,
    cache_write_1h_tokens=31,
    reasoning_tokens=1_021,
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
    linear: tuple[Decimal, ...] | None
    """(fixed, input, output, cache read, 5-minute write, 1-hour write, reasoning)."""

    @classmethod
    def of(cls, model_price: Any) -> _Rates:
        from genai_prices.types import TieredPrices

        if any(isinstance(value, TieredPrices) for value in vars(model_price).values()):
            return cls(model_price, None)
        try:
            fixed, *per_mtok = (
                model_price.calc_price(_genai_usage(u))["total_price"] for u in _CALIBRATION
            )
            rates = cls(model_price, (fixed, *(price - fixed for price in per_mtok)))
            exact = model_price.calc_price(_genai_usage(_PROBE))["total_price"]
        except (ValueError, ArithmeticError, TypeError, KeyError):
            return cls(model_price, None)
        return rates if rates.cost(_PROBE) == exact else cls(model_price, None)

    def cost(self, usage: Usage) -> Decimal:
        assert self.linear is not None
        fixed, input_rate, output_rate, read_rate, write_rate, write_1h_rate, reasoning_rate = (
            self.linear
        )
        return (
            fixed
            + usage.input_tokens * input_rate / MILLION
            + (usage.output_tokens - usage.reasoning_tokens) * output_rate / MILLION
            + usage.reasoning_tokens * reasoning_rate / MILLION
            + usage.cache_read_tokens * read_rate / MILLION
            + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * write_rate / MILLION
            + usage.cache_write_1h_tokens * write_1h_rate / MILLION
        )


def _override_cost(usage: Usage, override: PriceOverride) -> Decimal:
    """Flat per-million rates: cache reads and writes at their own price when the override
    gives one (else the input price), 1-hour writes at theirs (else the write price), and
    reasoning tokens as output."""
    cache_read = override.cache_read_per_mtok
    cache_write = override.cache_write_per_mtok
    if cache_read is None:
        cache_read = override.input_per_mtok
    if cache_write is None:
        cache_write = override.input_per_mtok
    cache_write_1h = override.cache_write_1h_per_mtok
    if cache_write_1h is None:
        cache_write_1h = cache_write
    total = (
        usage.input_tokens * override.input_per_mtok
        + usage.output_tokens * override.output_per_mtok
        + usage.cache_read_tokens * cache_read
        + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * cache_write
        + usage.cache_write_1h_tokens * cache_write_1h
    )
    return total / MILLION


def _base(value: Any) -> Decimal | None:
    from genai_prices.types import TieredPrices

    if value is None:
        return None
    return value.base if isinstance(value, TieredPrices) else value


def _catalogue_prices(
    provider: str,
    model: str,
    catalogue_provider: Any,
    catalogue_model: Any,
    at: datetime,
    *,
    configured: str | None = None,
    rule: str = "",
) -> ModelPrices:
    from genai_prices.types import TieredPrices

    prices = catalogue_model.get_prices(at)
    notes: list[str] = []
    keys = (
        "input_mtok",
        "output_mtok",
        "cache_read_mtok",
        "cache_write_mtok",
        "cache_write_1h_mtok",
    )
    for key in keys:
        value = getattr(prices, key, None)
        if isinstance(value, TieredPrices):
            for tier in value.tiers:
                notes.append(
                    f"{key.removesuffix('_mtok').replace('_', ' ')}: ${tier.price}/MTok "
                    f"when the prompt exceeds {tier.start:,} tokens"
                )
    reasoning = _base(getattr(prices, "output_reasoning_mtok", None))
    if reasoning is not None:
        notes.append(f"reasoning output: ${reasoning}/MTok")
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
        cache_write_1h_per_mtok=_base(getattr(prices, "cache_write_1h_mtok", None)),
        catalogue_provider=catalogue_provider.id,
        catalogue_model=catalogue_model.id,
        catalogue_name=catalogue_model.name,
        notes=tuple(notes),
        configured_model=configured,
        rule=rule,
    )


@dataclass(frozen=True, slots=True)
class PriceList:
    """`pricing list`: the models salesctl is configured to call, and the models providers
    served for them in tracked calls, each with the prices its calls are charged at."""

    at: datetime
    entries: list[ModelPrices | UnknownPrice] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UnknownPrice:
    provider: str
    model: str
    source: PriceSource = "unknown"
    configured_model: str | None = None


def configured_models(settings: Settings) -> list[tuple[str, str]]:
    """Every `provider:model` the settings can call: agent defaults, router tiers, overrides."""
    from salesctl.config import canonical_provider

    seen = dict.fromkeys(asked_models(settings))
    for key in settings.pricing:
        provider, _, model = key.partition(":")
        if model:
            seen[(canonical_provider(provider), model)] = None
    return list(seen)


def asked_models(settings: Settings) -> list[tuple[str, str]]:
    """Every `provider:model` an agent or a router tier asks for."""
    from salesctl.config import canonical_provider

    seen: dict[tuple[str, str], None] = {}
    for agent in settings.agents.values():
        seen[(canonical_provider(agent.provider), agent.model)] = None
    router = settings.router
    for choice in (*router.simple, *router.medium, *router.complex):
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
    settings: Settings,
    *,
    everything: bool = False,
    at: datetime | None = None,
    served: Iterable[tuple[str, str, str]] = (),
) -> PriceList:
    """The prices calls are charged at now: for the configured models (or every listed model)
    and, after each, the served ids `served` names for it ((provider, configured, served)
    triples, e.g. from the tracked calls), priced by the rule their calls get."""
    from salesctl.config import PROVIDER_IDS

    at = at or datetime.now(UTC)
    book = PriceBook.from_settings(settings, warn=lambda _message: None)
    models = configured_models(settings)
    if everything:
        models += [m for m in catalogue_models(PROVIDER_IDS) if m not in models]
    snapshots: dict[tuple[str, str], list[str]] = {}
    for provider, configured, model in served:
        if model != configured and model not in snapshots.setdefault((provider, configured), []):
            snapshots[(provider, configured)].append(model)
    for provider, configured in list(snapshots):
        if (provider, configured) not in models:
            models.append((provider, configured))
    entries: list[ModelPrices | UnknownPrice] = []
    for provider, model in models:
        entries.append(book.prices_for(provider, model, at) or UnknownPrice(provider, model))
        for snapshot in sorted(snapshots.get((provider, model), ())):
            entries.append(
                book.prices_for(provider, snapshot, at, configured=model)
                or UnknownPrice(provider, snapshot, configured_model=model)
            )
    return PriceList(at=at, entries=entries)


async def recent_served(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(provider, configured, served) model ids of the latest tracked calls."""
    from salesctl.db.queries.tracking import recent_served_models
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        return await recent_served_models(session=session)


async def price_list_with_served(
    settings: Settings, engine: AsyncEngine, *, everything: bool = False
) -> PriceList:
    """`price_list` plus the model ids providers served for the configured ones in the
    latest tracked calls, each priced by the rule its calls get."""
    served = await recent_served(engine)
    return price_list(settings, everything=everything, served=served)


def show_prices(
    settings: Settings,
    provider: str,
    model: str,
    *,
    at: datetime | None = None,
    configured: str | None = None,
) -> ModelPrices:
    """`pricing show`: the prices a call to one model is charged at, or NotFound naming the
    fix. `model` may be a configured id or a served one (a dated snapshot)."""
    from salesctl.config import canonical_provider, config_path
    from salesctl.errors import NotFound

    provider = canonical_provider(provider)
    found = PriceBook.from_settings(settings, warn=lambda _message: None).prices_for(
        provider, model, at, configured=configured
    )
    if found is None:
        key = override_key(provider, model)
        raise NotFound(
            f"no price known for {key!r}: genai-prices does not list it; add "
            f'[pricing."{key}"] with input_per_mtok and output_per_mtok to {config_path()}'
        )
    return found


def unserved_overrides(
    settings: Settings, served: Iterable[tuple[str, str, str]] = ()
) -> list[str]:
    """Override keys naming a model the provider is not known to serve: genai-prices does not
    list it for that provider, no agent or router tier asks for it, and no tracked call was
    asked for it or served as it (`served`: (provider, configured, served) triples)."""
    from salesctl.config import canonical_provider

    known: set[tuple[str, str]] = set(asked_models(settings))
    for provider, configured, model in served:
        known.update({(provider, configured), (provider, model)})
    found: list[str] = []
    for key in settings.pricing:
        provider, _, model = key.partition(":")
        provider = canonical_provider(provider) if provider else provider
        if (provider, model) in known or find_catalogue_model(provider, model) is not None:
            continue
        found.append(key)
    return found
