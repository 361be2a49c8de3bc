"""`CostOptimizedLLMProvider`: every LLM call of every agent, tracked with what it cost.

Per call: route (smart_router mode) → cache lookup → provider call (plain or streamed) →
price → track. Each attempt outcome (answer, cache hit, failure) becomes exactly one
`ai_cost_tracking` row, spooled before `complete()` returns and inserted in the background.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, overload

from salesctl.errors import (
    BudgetExceeded,
    ConfigError,
    InvalidInput,
    InvalidModelOutput,
    ProviderError,
)
from salesctl.llm.cache import CachedAnswer, ResponseCache, cache_enabled, cache_key
from salesctl.llm.pricing import Price, PriceBook
from salesctl.llm.router import RoutingDecision, route
from salesctl.llm.tracking import TrackingRecord, TrackingWriter, spool_path
from salesctl.llm.types import (
    LLMConfig,
    LLMResult,
    Message,
    Provider,
    ProviderRequest,
    ProviderResponse,
    TextDelta,
    ToolCall,
    ToolSpec,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from salesctl.config import Settings
    from salesctl.llm.budget import BudgetGuard, Reservation

log = logging.getLogger("salesctl.gateway")

MODES = ("passthrough", "smart_router")
TIERS = ("simple", "medium", "complex")
AGENT_TYPE_MAX = 50
REPAIR_PROMPT = (
    "Your previous answer was not valid for the required JSON schema ({error}). "
    "Reply again with only the corrected JSON object, nothing else."
)


@dataclass(frozen=True, slots=True)
class _Call:
    """One validated `complete()` request: who asks, what, and which models to try in order."""

    config: LLMConfig
    request: ProviderRequest
    choices: tuple[tuple[str, str], ...]
    decision: RoutingDecision | None
    use_cache: bool
    prompt_text: str
    schema_model: Any = None
    step_down: bool = False
    """Whether a hard budget limit may move this call to a cheaper router tier."""
    tier: str | None = None
    """The router tier `choices` come from, when a budget limit stepped the call down."""


class LLMStream:
    """An async iterator of answer text chunks; `result` is set once the stream has ended.

    Use it with `async with` (or call `aclose()`) when you may stop reading early, so the
    abandoned call is tracked at once.
    """

    def __init__(self) -> None:
        self.result: LLMResult | None = None
        self._chunks: AsyncIterator[str] | None = None

    def _attach(self, chunks: AsyncIterator[str]) -> LLMStream:
        self._chunks = chunks
        return self

    def __aiter__(self) -> LLMStream:
        return self

    async def __anext__(self) -> str:
        assert self._chunks is not None
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if self._chunks is not None:
            await self._chunks.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> LLMStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def text(self) -> str:
        """Read the whole stream and return the answer text."""
        parts = [chunk async for chunk in self]
        return self.result.text if self.result is not None else "".join(parts)


class CostOptimizedLLMProvider:
    """The LLM gateway (the seed's class): calls providers, prices and tracks every call.

    `db` is the caller's AsyncSession; only its engine is used (tracking and the database
    cache use their own connections, so the caller's transaction is never touched).
    Without `db`, pass `engine=`, or the engine is built from settings on first use.
    """

    def __init__(
        self,
        db: AsyncSession | None = None,
        *,
        engine: AsyncEngine | None = None,
        settings: Settings | None = None,
        providers: Mapping[str, Provider] | None = None,
        cache: ResponseCache | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from salesctl.config import canonical_provider, get_settings

        self.settings = settings or get_settings()
        self._warn = warn or log.warning
        self._engine = engine if engine is not None else _engine_of(db)
        self._owns_engine = False
        self._providers: dict[str, Provider] = {
            canonical_provider(name): provider for name, provider in (providers or {}).items()
        }
        self._created: list[Provider] = []
        self._cache = cache
        self._owns_cache = cache is None
        self._cache_pending: dict[str, CachedAnswer] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.prices = PriceBook.from_settings(self.settings, warn=self._warn)
        self._writer: TrackingWriter | None = None
        self._usage_warned: set[str] = set()
        self._closed = False
        self.budget: BudgetGuard | None = None
        """Hard budget limits (None when none is set: the hot path does not touch them)."""
        from salesctl.llm.budget import BudgetGuard, has_hard_limits

        if has_hard_limits(self.settings.budget):
            self.budget = BudgetGuard(
                self.settings.budget,
                timezone=self.settings.timezone,
                engine=lambda: self.engine,
                warn=self._warn,
            )

    # --- public API -------------------------------------------------------------------------

    @overload
    async def complete(
        self,
        prompt: str | None = None,
        *,
        config: LLMConfig,
        system: str | None = None,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        max_tokens: int = 1000,
        temperature: float | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        response_schema: Any = None,
        stream: Literal[False] = False,
        cache_prompt: bool = False,
    ) -> LLMResult: ...

    @overload
    async def complete(
        self,
        prompt: str | None = None,
        *,
        config: LLMConfig,
        system: str | None = None,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        max_tokens: int = 1000,
        temperature: float | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        response_schema: Any = None,
        stream: Literal[True],
        cache_prompt: bool = False,
    ) -> LLMStream: ...

    async def complete(
        self,
        prompt: str | None = None,
        *,
        config: LLMConfig,
        system: str | None = None,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        max_tokens: int = 1000,
        temperature: float | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        response_schema: Any = None,
        stream: bool = False,
        cache_prompt: bool = False,
    ) -> LLMResult | LLMStream:
        """Answer one request; returns `LLMResult`, or with `stream=True` an `LLMStream`.

        `prompt` is appended as the last user message after `messages`. `response_schema`
        (a JSON-schema dict or a pydantic model class) asks for structured JSON output.
        `cache_prompt` asks providers with explicit prompt caching (Anthropic) to cache the
        system prompt and tools. Invalid configs raise `ConfigError` before any network call.
        """
        if self._closed:
            raise InvalidInput("this CostOptimizedLLMProvider is closed")
        call = self._prepare(
            prompt,
            config=config,
            system=system,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            tools=tools,
            response_schema=response_schema,
            cache_prompt=cache_prompt,
        )
        if stream:
            sink = LLMStream()
            return sink._attach(self._stream(call, sink))
        result, problem = await self._complete(call)
        if problem is not None:
            result = await self._repair(call, result, problem)
        return result

    def explain(
        self,
        prompt: str | None,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
    ) -> RoutingDecision:
        """The smart router's decision for this request, without calling any model."""
        return route(
            prompt,
            router=self.settings.router,
            messages=_messages(messages),
            tools=_tools(tools),
        )

    async def flush(self) -> None:
        """Wait until every tracked row is in the database (and cache writes are done)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        if self._writer is not None:
            await self._writer.flush()

    async def aclose(self) -> None:
        """Flush tracking, close the SDK clients this gateway created (and its own engine)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.flush()
        finally:
            if self._writer is not None:
                await self._writer.aclose()
            for provider in self._created:
                try:
                    await provider.aclose()
                except Exception as exc:  # closing must not hide the command's own outcome
                    log.debug("closing provider %s failed: %s", provider.name, exc)
            if self._cache is not None and self._owns_cache:
                await self._cache.aclose()
            if self._owns_engine and self._engine is not None:
                await self._engine.dispose()

    async def __aenter__(self) -> CostOptimizedLLMProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def writer(self) -> TrackingWriter:
        if self._writer is None:
            self._writer = TrackingWriter(
                self.engine, spool=spool_path(self.settings.data_dir), warn=self._warn
            )
        return self._writer

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            from salesctl.db.session import create_engine

            self._engine = create_engine(self.settings.sqlalchemy_url)
            self._owns_engine = True
        return self._engine

    @property
    def cache(self) -> ResponseCache:
        if self._cache is None:
            from salesctl.llm.cache import cache_from_settings

            self._cache = cache_from_settings(self.settings, self.engine, warn=self._warn)
        return self._cache

    # --- preparing a call -------------------------------------------------------------------

    def _prepare(
        self,
        prompt: str | None,
        *,
        config: LLMConfig,
        system: str | None,
        messages: Sequence[Message | Mapping[str, Any]] | None,
        max_tokens: int,
        temperature: float | None,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None,
        response_schema: Any,
        cache_prompt: bool = False,
    ) -> _Call:
        config = validate_config(config)
        turns = _messages(messages)
        system = _merge_system(system, messages)
        if prompt is not None:
            turns = (*turns, Message(role="user", content=prompt))
        if not turns:
            raise InvalidInput("nothing to ask: pass prompt= or messages=")
        if max_tokens <= 0:
            raise InvalidInput(f"max_tokens must be positive, got {max_tokens}")
        tool_specs = _tools(tools)
        schema, schema_model = _schema(response_schema)
        request = ProviderRequest(
            model="",
            messages=turns,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            tools=tool_specs,
            response_schema=schema,
            cache_prompt=cache_prompt,
        )
        decision: RoutingDecision | None = None
        choices: tuple[tuple[str, str], ...]
        if config.mode == "smart_router":
            decision = route(
                prompt,
                router=self.settings.router,
                messages=turns[:-1] if prompt is not None else turns,
                tools=tool_specs,
                provider=config.provider,
                model=config.model,
            )
            from salesctl.llm.router import parse_choice

            choices = tuple(parse_choice(choice) for choice in decision.choices)
        else:
            choices = ((str(config.provider), str(config.model)),)
        use_cache = cache_enabled(config.agent_type, config.mode, config.cache, self.settings)
        last_user = next((m.content for m in reversed(turns) if m.role == "user"), "")
        return _Call(
            config=config,
            request=request,
            choices=choices,
            decision=decision,
            use_cache=use_cache,
            prompt_text=prompt if prompt is not None else last_user,
            schema_model=schema_model,
            step_down=decision is not None
            and not config.model
            and self.settings.budget.step_down_near_limit,
        )

    def _provider(self, provider_id: str) -> Provider:
        provider = self._providers.get(provider_id)
        if provider is None:
            from salesctl.llm.registry import create_provider

            provider = create_provider(provider_id, self.settings)  # type: ignore[arg-type]
            self._providers[provider_id] = provider
            self._created.append(provider)
        return provider

    # --- plain calls ------------------------------------------------------------------------

    async def _complete(self, call: _Call) -> tuple[LLMResult, str | None]:
        """The answer (from the cache or the first choice that works) and, for structured
        output, why it does not parse (None when it does)."""
        errors: list[BaseException] = []
        for provider_id, model in call.choices:
            request = replace(call.request, model=model)
            key = cache_key(provider_id, request) if call.use_cache else None
            if key is not None:
                hit = await self._cache_lookup(call, provider_id, model, key)
                if hit is not None:
                    return hit, None
            hold, cheaper = await self._admit(call, provider_id, model, request)
            if cheaper is not None:
                return await self._complete(cheaper)
            request_id = str(uuid.uuid4())
            started = datetime.now(UTC)
            clock = time.perf_counter()
            try:
                provider = self._provider(provider_id)
                _warm_up(provider)
                clock = time.perf_counter()
                response = await provider.complete(request)
            except ProviderError as exc:
                self._track_error(
                    call, provider_id, model, request_id, started, clock, exc, hold=hold
                )
                if call.decision is None:
                    raise
                errors.append(exc)
                continue
            except BaseException as exc:
                self._track_error(
                    call, provider_id, model, request_id, started, clock, exc, hold=hold
                )
                raise
            if call.request.response_schema is not None:
                response = replace(response, text=_unfenced(response.text))
            result = self._track_answer(
                call,
                provider_id,
                model,
                request_id,
                started,
                _elapsed_ms(clock),
                response,
                hold=hold,
            )
            problem = _structure_problem(call, response.text)
            if key is not None and problem is None and response.usage_reported:
                self._cache_store(key, response)
            return result, problem
        raise _exhausted(call, errors)

    async def _repair(self, call: _Call, result: LLMResult, problem: str) -> LLMResult:
        """One more try when structured output did not parse; then InvalidModelOutput."""
        turns = (
            *call.request.messages,
            Message(role="assistant", content=result.text),
            Message(role="user", content=REPAIR_PROMPT.format(error=problem)),
        )
        repair_call = replace(
            call,
            request=replace(call.request, messages=turns),
            choices=((result.provider, result.model),),
            use_cache=False,
            step_down=False,
        )
        repaired, still = await self._complete(repair_call)
        spent = _total_cost(result, repaired)
        if still is not None:
            error = InvalidModelOutput(
                f"{repaired.provider}:{repaired.model} did not return JSON matching the schema "
                f"after a repair attempt ({still}); tracking ids {result.tracking_id}, "
                f"{repaired.tracking_id}"
            )
            error.spent_usd = spent
            raise error
        # The caller asked once: its result accounts for both tracked calls.
        repaired.prompt_tokens += result.prompt_tokens
        repaired.completion_tokens += result.completion_tokens
        repaired.cost_usd = spent
        repaired.extra["repaired_from"] = result.tracking_id
        return repaired

    # --- streamed calls ---------------------------------------------------------------------

    async def _stream(self, call: _Call, sink: LLMStream) -> AsyncIterator[str]:
        errors: list[BaseException] = []
        for provider_id, model in call.choices:
            request = replace(call.request, model=model)
            key = cache_key(provider_id, request) if call.use_cache else None
            if key is not None:
                hit = await self._cache_lookup(call, provider_id, model, key)
                if hit is not None:
                    sink.result = hit
                    if hit.text:
                        yield hit.text
                    return
            hold, cheaper = await self._admit(call, provider_id, model, request)
            if cheaper is not None:
                async for chunk in self._stream(cheaper, sink):
                    yield chunk
                return
            request_id = str(uuid.uuid4())
            started = datetime.now(UTC)
            clock = time.perf_counter()
            parts: list[str] = []
            final: ProviderResponse | None = None
            events: Any = None
            try:
                provider = self._provider(provider_id)
                _warm_up(provider)
                clock = time.perf_counter()
                events = provider.stream(request)
                async for event in events:
                    if isinstance(event, TextDelta):
                        if event.text:
                            parts.append(event.text)
                            yield event.text
                    else:
                        final = event
                if final is None:
                    raise ProviderError(
                        f"{provider_id!r} ended the stream without its usage report",
                        provider=provider_id,
                        error_type="incomplete_stream",
                    )
            except BaseException as exc:  # includes the reader closing the stream early
                self._track_error(
                    call,
                    provider_id,
                    model,
                    request_id,
                    started,
                    clock,
                    exc,
                    text="".join(parts),
                    hold=hold,
                )
                # A routed call whose provider failed before any text tries the next one.
                if isinstance(exc, ProviderError) and call.decision is not None and not parts:
                    errors.append(exc)
                    continue
                raise
            finally:
                if events is not None and hasattr(events, "aclose"):
                    await events.aclose()
            if not final.text and parts:
                final = replace(final, text="".join(parts))
            sink.result = self._track_answer(
                call,
                provider_id,
                model,
                request_id,
                started,
                _elapsed_ms(clock),
                final,
                hold=hold,
            )
            if key is not None and final.usage_reported:
                self._cache_store(key, final)
            return
        raise _exhausted(call, errors)

    # --- hard budget limits -----------------------------------------------------------------

    async def _admit(
        self, call: _Call, provider_id: str, model: str, request: ProviderRequest
    ) -> tuple[Reservation | None, _Call | None]:
        """Hold the call's maximum cost against the hard limits. Over a limit: the same call
        on a cheaper router tier to make instead, else BudgetExceeded (tracked as refused)."""
        if self.budget is None or not self.budget.limits_for(call.config.agent_type):
            return None, None
        from salesctl.llm.budget import max_cost

        target = f"{provider_id}:{model}"
        most = max_cost(self.prices, provider_id, model, request, datetime.now(UTC))
        try:
            return await self.budget.reserve(call.config.agent_type, most, target=target), None
        except BudgetExceeded as refusal:
            cheaper = self._stepped_down(call, refusal, target)
            if cheaper is None:
                self._track_refusal(call, provider_id, model, refusal)
                raise
            return None, cheaper

    def _settle(self, hold: Reservation, record: TrackingRecord) -> None:
        assert self.budget is not None
        self.budget.settle(hold, record.request_id, record.cost_usd, record.timestamp)

    def _stepped_down(self, call: _Call, refusal: BudgetExceeded, refused: str) -> _Call | None:
        """The call on the next cheaper router tier, when the limit leaves no room for this
        one (smart-router mode with `budget.step_down_near_limit`, model not pinned)."""
        from salesctl.llm.router import tier_choices
        from salesctl.reports.render import usd

        if not call.step_down or call.decision is None:
            return None
        tier = call.tier or call.decision.complexity
        if TIERS.index(tier) == 0:
            return None
        cheaper = TIERS[TIERS.index(tier) - 1]
        choices = tier_choices(self.settings.router, cheaper)  # type: ignore[arg-type]
        if call.config.provider:
            choices = [c for c in choices if c[0] == call.config.provider]
        if not choices:
            return None
        reason = (
            f"stepped down from the {tier} tier to {cheaper}: the hard {refusal.scope} budget "
            f"of {usd(refusal.limit_usd)} has no room for {refused}"
        )
        log.info("%s (agent %s)", reason, call.config.agent_type)
        decision = replace(
            call.decision,
            provider=choices[0][0],
            model=choices[0][1],
            fallbacks=[f"{p}:{m}" for p, m in choices[1:]],
            reasons=[*call.decision.reasons, reason],
            chosen_by="budget",
        )
        return replace(call, choices=tuple(choices), decision=decision, tier=cheaper)

    def _track_refusal(
        self, call: _Call, provider_id: str, model: str, refusal: BudgetExceeded
    ) -> None:
        """One `status='refused'` row: the call never reached the provider and cost nothing."""
        request_id = str(uuid.uuid4())
        record = self._base_record(
            call, provider_id, model, request_id, datetime.now(UTC), f"{provider_id}:{model}"
        )
        record.status = "refused"
        record.error_type = "budget_exceeded"
        record.cost_usd = Decimal(0)
        record.latency_ms = 0
        record.attempts = 0
        record.simulated = bool(getattr(self._providers.get(provider_id), "simulated", False))
        self.writer.submit(record)
        refusal.tracking_id = request_id

    # --- cache ------------------------------------------------------------------------------

    async def _cache_lookup(
        self, call: _Call, provider_id: str, model: str, key: str
    ) -> LLMResult | None:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        answer = self._cache_pending.get(key) or await self.cache.get(key)
        if answer is None:
            return None
        saved = self.prices.price_of(
            answer.usage,
            provider_id,
            answer.model,
            started,
            reported_cost_usd=answer.reported_cost_usd,
        )
        response = ProviderResponse(
            text=answer.text,
            usage=answer.usage,
            model=answer.model,
            tool_calls=answer.tool_calls,
            finish_reason=answer.finish_reason,
            simulated=answer.simulated,
            attempts=0,
        )
        return self._track_answer(
            call,
            provider_id,
            model,
            str(uuid.uuid4()),
            started,
            _elapsed_ms(clock),
            response,
            cache_hit=Price(Decimal(0), saved.source),
            saved_usd=saved.cost_usd,
        )

    def _cache_store(self, key: str, response: ProviderResponse) -> None:
        """Write the answer to the cache in the background; readable at once in this process."""
        answer = CachedAnswer.from_response(response)
        self._cache_pending[key] = answer
        ttl = self.settings.cache_ttl_seconds

        async def store() -> None:
            try:
                await self.cache.set(key, answer, ttl)
            finally:
                self._cache_pending.pop(key, None)

        task = asyncio.get_running_loop().create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- tracking ---------------------------------------------------------------------------

    def _stored(self, text: str | None) -> str | None:
        if text is None:
            return None
        from salesctl.llm.redact import text_policy

        return text_policy(self.settings.store_prompts)(text)

    def _base_record(
        self,
        call: _Call,
        provider_id: str,
        model: str,
        request_id: str,
        started: datetime,
        choice: str,
    ) -> TrackingRecord:
        config = call.config
        routing = None
        if call.decision is not None:
            routing = call.decision.as_record()
            routing["attempted"] = choice
        return TrackingRecord(
            request_id=request_id,
            timestamp=started,
            agent_type=config.agent_type,
            agent_mode=config.mode,
            lead_id=config.lead_id,
            session_id=config.session_id,
            user_id=config.user_id,
            provider=provider_id,
            model=model,
            prompt_text=self._stored(call.prompt_text),
            prompt_complexity=call.decision.complexity if call.decision is not None else None,
            routing=routing,
        )

    def _track_answer(
        self,
        call: _Call,
        provider_id: str,
        requested_model: str,
        request_id: str,
        started: datetime,
        latency_ms: int,
        response: ProviderResponse,
        *,
        cache_hit: Price | None = None,
        saved_usd: Decimal | None = None,
        hold: Reservation | None = None,
    ) -> LLMResult:
        usage = response.usage
        if cache_hit is not None:
            price = cache_hit
        elif response.usage_reported or response.reported_cost_usd is not None:
            price = self.prices.price_of(
                usage,
                provider_id,
                response.model,
                started,
                reported_cost_usd=response.reported_cost_usd,
            )
        else:
            price = self._usage_missing(provider_id, response.model)
        record = self._base_record(
            call,
            provider_id,
            response.model,
            request_id,
            started,
            f"{provider_id}:{requested_model}",
        )
        record.completion_text = self._stored(_completion_text(response))
        record.prompt_tokens = usage.prompt_tokens
        record.completion_tokens = usage.output_tokens
        record.cache_read_tokens = usage.cache_read_tokens
        record.cache_write_tokens = usage.cache_write_tokens
        record.cost_usd = price.cost_usd
        record.saved_usd = saved_usd
        record.price_source = price.source
        record.unpriced = price.unpriced
        record.latency_ms = latency_ms
        record.cache_hit = cache_hit is not None
        record.attempts = response.attempts
        record.simulated = response.simulated
        if hold is not None:
            self._settle(hold, record)
        self.writer.submit(record)
        return LLMResult(
            text=response.text,
            provider=provider_id,
            model=response.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.output_tokens,
            cost_usd=price.cost_usd,
            latency_ms=latency_ms,
            tracking_id=request_id,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cache_hit=cache_hit is not None,
            complexity=call.decision.complexity if call.decision is not None else None,
            tool_calls=response.tool_calls,
            finish_reason=response.finish_reason,
            saved_usd=saved_usd,
            price_source=price.source,
            simulated=response.simulated,
            extra={"attempts": response.attempts, "unpriced": price.unpriced},
        )

    def _usage_missing(self, provider_id: str, model: str) -> Price:
        """An answer without a usage report: its cost is unknown, never zero."""
        key = f"{provider_id}:{model}"
        if key not in self._usage_warned:
            self._usage_warned.add(key)
            self._warn(
                f"{key!r} answered without reporting token usage; "
                "the call is tracked with cost unknown"
            )
        return Price(None, "unknown")

    def _track_error(
        self,
        call: _Call,
        provider_id: str,
        model: str,
        request_id: str,
        started: datetime,
        clock: float,
        exc: BaseException,
        *,
        text: str = "",
        hold: Reservation | None = None,
    ) -> None:
        record = self._base_record(
            call, provider_id, model, request_id, started, f"{provider_id}:{model}"
        )
        record.status = "error"
        record.error_type = _error_type(exc)
        record.latency_ms = _elapsed_ms(clock)
        attempts = getattr(exc, "attempts", None)
        if attempts is None:
            attempts = 0 if record.error_type == "missing_api_key" else 1
        record.attempts = int(attempts)
        provider = self._providers.get(provider_id)
        record.simulated = bool(
            getattr(exc, "simulated", False) or getattr(provider, "simulated", False)
        )
        partial: ProviderResponse | None = getattr(exc, "partial", None)
        if isinstance(partial, ProviderResponse) and partial.usage_reported:
            usage = partial.usage
            record.model = partial.model or model
            record.simulated = record.simulated or partial.simulated
            text = partial.text or text
            if usage.prompt_tokens or usage.output_tokens:
                price = self.prices.price_of(
                    usage,
                    provider_id,
                    record.model,
                    started,
                    reported_cost_usd=partial.reported_cost_usd,
                )
                record.prompt_tokens = usage.prompt_tokens
                record.completion_tokens = usage.output_tokens
                record.cache_read_tokens = usage.cache_read_tokens
                record.cache_write_tokens = usage.cache_write_tokens
                record.cost_usd = price.cost_usd
                record.price_source = price.source
                record.unpriced = price.unpriced
        record.completion_text = self._stored(text) if text else None
        if hold is not None:
            self._settle(hold, record)
        self.writer.submit(record)


# --- helpers --------------------------------------------------------------------------------


def validate_config(config: LLMConfig) -> LLMConfig:
    """Check an LLMConfig before any network call; returns it with the provider id canonical."""
    from salesctl.config import canonical_provider

    if not isinstance(config, LLMConfig):
        raise ConfigError(f"config must be an LLMConfig, not {type(config).__name__}")
    agent = config.agent_type
    if not isinstance(agent, str) or not agent.isidentifier() or len(agent) > AGENT_TYPE_MAX:
        raise ConfigError(
            f"agent_type {agent!r} must be a non-empty identifier of at most {AGENT_TYPE_MAX} "
            "characters, e.g. 'qualification'"
        )
    if config.mode not in MODES:
        raise ConfigError(
            f"mode {config.mode!r} is not one of 'passthrough', 'smart_router' (agent {agent!r})"
        )
    provider = canonical_provider(config.provider) if config.provider else None
    model = config.model.strip() if isinstance(config.model, str) else config.model
    if config.mode == "passthrough" and (provider is None or not model):
        raise ConfigError(
            f"passthrough mode needs provider= and model= (agent {agent!r}), "
            "e.g. provider='cerebras', model='llama3.1-8b'; or use mode='smart_router'"
        )
    if config.mode == "smart_router" and model and provider is None:
        raise ConfigError(f"model={model!r} needs provider= as well (agent {agent!r})")
    if provider == config.provider and model == config.model:
        return config
    return replace(config, provider=provider, model=model or None)


def _engine_of(db: AsyncSession | None) -> AsyncEngine | None:
    if db is None:
        return None
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    bind: Any = db.bind
    if isinstance(bind, AsyncConnection):
        return bind.engine
    if isinstance(bind, AsyncEngine):
        return bind
    raise ConfigError("the AsyncSession given to CostOptimizedLLMProvider has no engine bound")


def _messages(messages: Sequence[Message | Mapping[str, Any]] | None) -> tuple[Message, ...]:
    turns: list[Message] = []
    for message in messages or ():
        if isinstance(message, Message):
            turns.append(message)
            continue
        role = message.get("role")
        if role == "system":
            continue  # merged into the system prompt by _merge_system
        if role not in ("user", "assistant", "tool"):
            raise InvalidInput(f"message role {role!r} is not user, assistant, tool or system")
        turns.append(
            Message(
                role=role,
                content=str(message.get("content") or ""),
                tool_calls=tuple(message.get("tool_calls") or ()),
                tool_call_id=message.get("tool_call_id"),
            )
        )
    return tuple(turns)


def _merge_system(
    system: str | None, messages: Sequence[Message | Mapping[str, Any]] | None
) -> str | None:
    extra = [
        str(m.get("content") or "")
        for m in messages or ()
        if not isinstance(m, Message) and m.get("role") == "system"
    ]
    parts = [p for p in (system, *extra) if p]
    return "\n\n".join(parts) if parts else None


def _tools(tools: Sequence[ToolSpec | Mapping[str, Any]] | None) -> tuple[ToolSpec, ...]:
    specs: list[ToolSpec] = []
    for tool in tools or ():
        if isinstance(tool, ToolSpec):
            specs.append(tool)
        else:
            specs.append(
                ToolSpec(
                    name=tool["name"],
                    description=tool.get("description", ""),
                    parameters=dict(tool.get("parameters") or {"type": "object"}),
                )
            )
    return tuple(specs)


def _schema(response_schema: Any) -> tuple[dict[str, Any] | None, Any]:
    if response_schema is None:
        return None, None
    if isinstance(response_schema, dict):
        return response_schema, None
    if isinstance(response_schema, type) and hasattr(response_schema, "model_json_schema"):
        return response_schema.model_json_schema(), response_schema
    raise InvalidInput(
        "response_schema must be a JSON-schema dict or a pydantic model class, "
        f"not {type(response_schema).__name__}"
    )


def _total_cost(*results: LLMResult) -> Decimal | None:
    """What several tracked calls cost together; unknown if any of them is unpriced."""
    costs = [r.cost_usd for r in results]
    return None if any(c is None for c in costs) else sum(costs, Decimal(0))  # type: ignore[arg-type]


def _unfenced(text: str) -> str:
    """Structured answers without the Markdown code fence some models wrap them in."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        return text
    body = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body.rsplit("```", 1)[0].strip()


def _structure_problem(call: _Call, text: str) -> str | None:
    """Why a structured answer does not parse, or None (also None when no schema was asked)."""
    if call.request.response_schema is None:
        return None
    if call.schema_model is not None:
        from pydantic import ValidationError

        try:
            call.schema_model.model_validate_json(text)
        except ValidationError as exc:
            return str(exc.errors()[0]["msg"]) if exc.errors() else "invalid"
        return None
    try:
        json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    return None


def _completion_text(response: ProviderResponse) -> str:
    if response.text or not response.tool_calls:
        return response.text
    return json.dumps([_tool_call_json(c) for c in response.tool_calls], ensure_ascii=False)


def _tool_call_json(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def _error_type(exc: BaseException) -> str:
    if isinstance(exc, ProviderError):
        return exc.error_type
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def _warm_up(provider: Provider) -> None:
    """Let an adapter build its SDK client (imports, no network) before the clock starts, so
    the first call's latency is the provider's, not Python's import time."""
    prepare = getattr(provider, "prepare", None)
    if callable(prepare):
        prepare()


def _elapsed_ms(clock: float) -> int:
    return round((time.perf_counter() - clock) * 1000)


def _exhausted(call: _Call, errors: list[BaseException]) -> ProviderError:
    """The error for a smart-router call whose every choice failed."""
    from salesctl.config import API_KEY_ENV

    tried = ", ".join(f"{p}:{m}" for p, m in call.choices)
    tier = call.decision.complexity if call.decision is not None else "?"
    missing = [e for e in errors if getattr(e, "error_type", "") == "missing_api_key"]
    if errors and len(missing) == len(errors):
        names = sorted({API_KEY_ENV.get(p, p) for p, _ in call.choices})  # type: ignore[call-overload]
        error = ProviderError(
            f"no API key for any {tier} router choice ({tried}): set {' or '.join(names)}",
            provider=call.choices[0][0],
            error_type="missing_api_key",
        )
    else:
        last = errors[-1] if errors else None
        error = ProviderError(
            f"every {tier} router choice failed ({tried}); last: {last}",
            provider=getattr(last, "provider", ""),
            error_type=getattr(last, "error_type", "provider_error"),
        )
    if errors:
        error.__cause__ = errors[-1]
    return error
