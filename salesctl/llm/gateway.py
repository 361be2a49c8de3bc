"""`CostOptimizedLLMProvider`: every LLM call of every agent, tracked with what it cost.

Per call: route (smart_router mode) → cache lookup → provider call (plain or streamed) →
price → track. Plain and streamed calls share one attempt path (`_answers`/`_attempt`), so
admission, error classification, settlement and tracking are written once. Each attempt
outcome (answer, cache hit, failure, refusal) becomes exactly one `ai_cost_tracking` row,
built by the `Recorder`, spooled before `complete()` returns and inserted in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
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
from salesctl.llm.cache import CachedAnswer, ResponseCache, cache_key
from salesctl.llm.inputs import (
    Call,
    normalise_messages,
    normalise_tools,
    prepare_call,
    structure_problem,
    unfenced,
    validate_config,
)
from salesctl.llm.pricing import PriceBook
from salesctl.llm.recorder import Attempt, Recorder
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
    ToolSpec,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from salesctl.config import Settings
    from salesctl.llm.budget import BudgetGuard, Reservation

__all__ = ["CostOptimizedLLMProvider", "LLMStream", "validate_config"]

log = logging.getLogger("salesctl.gateway")

TIERS = ("simple", "medium", "complex")
REPAIR_PROMPT = (
    "Your previous answer was not valid for the required JSON schema ({error}). "
    "Reply again with only the corrected JSON object, nothing else."
)


@dataclass(frozen=True, slots=True)
class _Answered:
    """The last item of an attempt path: the call's result, and for a plain structured call
    why its answer does not parse (None when it does)."""

    result: LLMResult
    problem: str | None = None


class LLMStream:
    """An async iterator of answer text chunks; `result` is set once the stream has ended.

    Use it with `async with` (or call `aclose()`) when you may stop reading early, so the
    abandoned call is tracked at once.
    """

    def __init__(self) -> None:
        self.result: LLMResult | None = None
        self._chunks: AsyncGenerator[str] | None = None

    def _attach(self, chunks: AsyncGenerator[str]) -> LLMStream:
        self._chunks = chunks
        return self

    def __aiter__(self) -> LLMStream:
        return self

    async def __anext__(self) -> str:
        assert self._chunks is not None
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if self._chunks is not None:
            await self._chunks.aclose()

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
        self.recorder = Recorder(self.prices, store_text=self._text_policy(), warn=self._warn)
        self._writer: TrackingWriter | None = None
        self._closed = False
        self.budget: BudgetGuard | None = None
        """Hard budget limits (None when none is set: the hot path does not touch them)."""
        from salesctl.llm.budget import BudgetGuard, has_hard_limits

        if has_hard_limits(self.settings.budget):
            self.budget = BudgetGuard(
                self.settings.budget,
                timezone=self.settings.timezone,
                engine=lambda: self.engine,
                writer=lambda: self.writer,
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
        call = prepare_call(
            self.settings,
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
        answered = await self._complete(call)
        if answered.problem is not None:
            return await self._repair(call, answered.result, answered.problem)
        return answered.result

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
            messages=normalise_messages(messages),
            tools=normalise_tools(tools),
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

    def _provider(self, provider_id: str) -> Provider:
        provider = self._providers.get(provider_id)
        if provider is None:
            from salesctl.llm.registry import create_provider

            provider = create_provider(provider_id, self.settings)
            self._providers[provider_id] = provider
            self._created.append(provider)
        return provider

    def _simulated(self, provider_id: str) -> bool:
        return bool(getattr(self._providers.get(provider_id), "simulated", False))

    def _text_policy(self) -> Callable[[str], str | None]:
        """How prompt and answer text is stored (`store_prompts`), resolved on first use."""
        policy: Callable[[str | None], str | None] | None = None

        def store(text: str) -> str | None:
            nonlocal policy
            if policy is None:
                from salesctl.llm.redact import text_policy

                policy = text_policy(self.settings.store_prompts)
            return policy(text)

        return store

    # --- the attempt path, shared by plain and streamed calls -------------------------------

    async def _complete(self, call: Call) -> _Answered:
        """The answer of a plain call: the last item of its attempt path."""
        async with contextlib.aclosing(self._answers(call, stream=False)) as items:
            async for item in items:
                if isinstance(item, _Answered):
                    return item
        raise AssertionError("unreachable: an attempt path ends with an answer or raises")

    async def _stream(self, call: Call, sink: LLMStream) -> AsyncGenerator[str]:
        """The text chunks of a streamed call; `sink.result` is set when it ends."""
        async with contextlib.aclosing(self._answers(call, stream=True)) as items:
            async for item in items:
                if isinstance(item, _Answered):
                    sink.result = item.result
                else:
                    yield item

    async def _answers(self, call: Call, *, stream: bool) -> AsyncGenerator[str | _Answered]:
        """Try the call's choices in order: cache, admission, then one attempt each.

        Yields the answer's text chunks (streams only), then exactly one `_Answered`. A routed
        call whose provider failed before any text tries its next choice.
        """
        errors: list[BaseException] = []
        for provider_id, model in call.choices:
            request = replace(call.request, model=model)
            key = cache_key(provider_id, request) if call.use_cache else None
            if key is not None:
                hit = await self._cache_lookup(call, provider_id, model, request, key)
                if hit is not None:
                    if stream and hit.text:
                        yield hit.text
                    yield _Answered(hit)
                    return
            hold, cheaper = await self._admit(call, provider_id, model, request)
            if cheaper is not None:
                async with contextlib.aclosing(self._answers(cheaper, stream=stream)) as items:
                    async for item in items:
                        yield item
                return
            attempt = Attempt(
                call, provider_id, model, request, hold, simulated=self._simulated(provider_id)
            )
            try:
                async with contextlib.aclosing(self._attempt(attempt, stream, key)) as items:
                    async for item in items:
                        yield item
                return
            except ProviderError as exc:
                if call.decision is None or attempt.parts:
                    raise
                errors.append(exc)
        raise _exhausted(call, errors)

    async def _attempt(
        self, attempt: Attempt, stream: bool, key: str | None
    ) -> AsyncGenerator[str | _Answered]:
        """One request to one provider, plain or streamed, tracked whatever becomes of it."""
        final: ProviderResponse | None = None
        events: Any = None
        try:
            provider = self._provider(attempt.provider_id)
            _warm_up(provider)
            attempt.simulated = attempt.simulated or bool(getattr(provider, "simulated", False))
            attempt.start_clock()
            if stream:
                events = provider.stream(attempt.request)
                async for event in events:
                    if isinstance(event, TextDelta):
                        if event.text:
                            attempt.parts.append(event.text)
                            yield event.text
                    else:
                        final = event
                if final is None:
                    raise ProviderError(
                        f"{attempt.provider_id!r} ended the stream without its usage report",
                        provider=attempt.provider_id,
                        error_type="incomplete_stream",
                    )
            else:
                final = await provider.complete(attempt.request)
        except BaseException as exc:  # includes the reader closing the stream early
            self._track(attempt, self.recorder.failure(attempt, exc))
            raise
        finally:
            if events is not None and hasattr(events, "aclose"):
                await events.aclose()
        assert final is not None
        if stream:
            if not final.text and attempt.parts:
                final = replace(final, text=attempt.text)
        elif attempt.call.request.response_schema is not None:
            final = replace(final, text=unfenced(final.text))
        record = self.recorder.answer(attempt, final)
        self._track(attempt, record)
        problem = None if stream else structure_problem(attempt.call, final.text)
        if key is not None and problem is None and final.usage_reported:
            self._cache_store(key, final)
        yield _Answered(self.recorder.result(attempt, record, final), problem)

    def _track(self, attempt: Attempt, record: TrackingRecord) -> None:
        """Settle the attempt's budget hold at its tracked cost, and submit its record."""
        if attempt.hold is not None:
            assert self.budget is not None
            self.budget.settle(attempt.hold, record.request_id, record.cost_usd, record.timestamp)
        self.writer.submit(record)

    async def _repair(self, call: Call, result: LLMResult, problem: str) -> LLMResult:
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
        answered = await self._complete(repair_call)
        repaired, still = answered.result, answered.problem
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

    # --- hard budget limits -----------------------------------------------------------------

    async def _admit(
        self, call: Call, provider_id: str, model: str, request: ProviderRequest
    ) -> tuple[Reservation | None, Call | None]:
        """Hold the call's maximum cost against the hard limits. Over a limit: the same call
        on a cheaper router tier to make instead, else BudgetExceeded (tracked as refused).

        The one hook before every provider request, plain or streamed."""
        await self.writer.ensure_keepable()  # no record, no call
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
                attempt = Attempt(
                    call, provider_id, model, request, simulated=self._simulated(provider_id)
                )
                self.writer.submit(self.recorder.refusal(attempt, refusal))
                raise
            return None, cheaper

    def _stepped_down(self, call: Call, refusal: BudgetExceeded, refused: str) -> Call | None:
        """The call on the next cheaper router tier, when the limit leaves no room for this
        one (smart-router mode with `budget.step_down_near_limit`, model not pinned)."""
        from salesctl.llm.router import tier_choices
        from salesctl.money import usd

        if not call.step_down or call.decision is None:
            return None
        tier = call.tier or call.decision.complexity
        if TIERS.index(tier) == 0:
            return None
        cheaper = TIERS[TIERS.index(tier) - 1]
        choices = tier_choices(self.settings.router, cheaper)  # type: ignore[arg-type]  # a tier
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

    # --- cache ------------------------------------------------------------------------------

    async def _cache_lookup(
        self, call: Call, provider_id: str, model: str, request: ProviderRequest, key: str
    ) -> LLMResult | None:
        attempt = Attempt(call, provider_id, model, request)
        answer = self._cache_pending.get(key) or await self.cache.get(key)
        if answer is None:
            return None
        response = ProviderResponse(
            text=answer.text,
            usage=answer.usage,
            model=answer.model,
            tool_calls=answer.tool_calls,
            finish_reason=answer.finish_reason,
            simulated=answer.simulated,
            attempts=0,
        )
        record = self.recorder.cache_hit(attempt, answer, response)
        self.writer.submit(record)
        return self.recorder.result(attempt, record, response)

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


# --- helpers --------------------------------------------------------------------------------


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


def _total_cost(*results: LLMResult) -> Decimal | None:
    """What several tracked calls cost together; unknown if any of them is unpriced."""
    costs = [r.cost_usd for r in results]
    known = [c for c in costs if c is not None]
    return None if len(known) < len(costs) else sum(known, Decimal(0))


def _warm_up(provider: Provider) -> None:
    """Let an adapter build its SDK client (imports, no network) before the clock starts, so
    the first call's latency is the provider's, not Python's import time."""
    prepare = getattr(provider, "prepare", None)
    if callable(prepare):
        prepare()


def _exhausted(call: Call, errors: list[BaseException]) -> ProviderError:
    """The error for a smart-router call whose every choice failed."""
    from salesctl.config import API_KEY_ENV

    tried = ", ".join(f"{p}:{m}" for p, m in call.choices)
    tier = call.decision.complexity if call.decision is not None else "?"
    missing = [e for e in errors if getattr(e, "error_type", "") == "missing_api_key"]
    if errors and len(missing) == len(errors):
        # A choice names a provider id; .get() keeps any other name as it is.
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
