"""Tracking records built from one attempt value: answer, failure, refusal, cache hit.

The gateway makes an `Attempt` for every try of one model for one call (its request id,
start time and clock, the text received so far); whatever becomes of it, the `Recorder` turns
it into exactly one `TrackingRecord`, priced by the one `PriceBook`. Building records is
pure: the gateway settles budget holds and submits the records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from salesctl.errors import ProviderError
from salesctl.llm.billing import Billed, answered_usage, unanswered_prompts, unanswered_usage
from salesctl.llm.pricing import Price, PriceBook
from salesctl.llm.tracking import TrackingRecord
from salesctl.llm.types import LLMResult, ProviderRequest, ProviderResponse, ToolCall, Usage

if TYPE_CHECKING:
    from salesctl.errors import BudgetExceeded
    from salesctl.llm.cache import CachedAnswer
    from salesctl.llm.hard_limits import Reservation
    from salesctl.llm.inputs import Call

log = logging.getLogger("salesctl.gateway")


@dataclass(slots=True, eq=False)
class Attempt:
    """One try of one model for one call, from its admission to its record."""

    call: Call
    provider_id: str
    model: str
    """The model id asked for (the configured one); the provider may serve another."""
    request: ProviderRequest
    hold: Reservation | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    clock: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    """Answer text received so far (streams)."""
    simulated: bool = False
    """The provider adapter says it talks to the simulator."""
    sent: bool = False
    """The provider call has begun: from here on, the provider may have served something."""

    @property
    def choice(self) -> str:
        return f"{self.provider_id}:{self.model}"

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start_clock(self) -> None:
        """The provider call begins now (after the adapter's warm-up)."""
        self.clock = time.perf_counter()
        self.sent = True

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self.clock) * 1000)


class Recorder:
    """Builds the one tracking record of each attempt outcome, priced by `prices`."""

    def __init__(
        self,
        prices: PriceBook,
        *,
        store_text: Callable[[str], str | None],
        warn: Callable[[str], None],
    ) -> None:
        self.prices = prices
        self._store_text = store_text
        self._warn = warn
        self._usage_warned: set[str] = set()

    # --- outcomes ---------------------------------------------------------------------------

    def answer(self, attempt: Attempt, response: ProviderResponse) -> TrackingRecord:
        """A provider's answer (complete, or a stream that ended properly)."""
        billed = answered_usage(attempt.request, response)
        if not response.usage_reported:
            self._warn_usage_missing(attempt.provider_id, response.model)
        record = self._base(attempt, model=response.model)
        record.completion_text = self._stored(_completion_text(response))
        extra = unanswered_prompts(attempt.request, response.unanswered)
        self._price(record, attempt, billed, response.reported_cost_usd, extra)
        record.latency_ms = attempt.elapsed_ms()
        record.attempts = response.attempts
        record.simulated = response.simulated
        return record

    def cache_hit(
        self, attempt: Attempt, answer: CachedAnswer, response: ProviderResponse
    ) -> TrackingRecord:
        """An answer from the response cache: free, with what the provider call would cost."""
        saved = self.prices.price_of(
            answer.usage,
            attempt.provider_id,
            answer.model,
            attempt.started,
            configured=attempt.model,
            reported_cost_usd=answer.reported_cost_usd,
        )
        record = self._base(attempt, model=response.model)
        record.completion_text = self._stored(_completion_text(response))
        self._count(record, answer.usage)
        record.cost_usd = Decimal(0)
        record.price_source = saved.source
        record.saved_usd = saved.cost_usd
        record.latency_ms = attempt.elapsed_ms()
        record.cache_hit = True
        record.attempts = 0
        record.simulated = response.simulated
        return record

    def failure(self, attempt: Attempt, exc: BaseException) -> TrackingRecord:
        """An attempt that raised: a provider error, a cut stream, a timeout, a cancellation.

        What the provider was served is priced, estimated where it reported nothing: a cut
        stream, a stream ended without usage, a call cancelled or timed out in flight, and
        the attempts the adapter counted as unanswered (`ProviderError.unanswered`). A failure
        the provider did not serve (an error status, no connection) costs None.
        """
        record = self._base(attempt, model=attempt.model)
        record.status = "error"
        record.error_type = error_type(exc)
        record.latency_ms = attempt.elapsed_ms()
        attempts = getattr(exc, "attempts", None)
        if attempts is None:
            attempts = 0 if record.error_type == "missing_api_key" else 1
        record.attempts = int(attempts)
        record.simulated = bool(getattr(exc, "simulated", False) or attempt.simulated)
        text = attempt.text
        partial: ProviderResponse | None = getattr(exc, "partial", None)
        if not isinstance(partial, ProviderResponse):
            partial = None
        if partial is not None:
            record.model = partial.model or attempt.model
            record.simulated = record.simulated or partial.simulated
            text = partial.text or text
        unanswered = exc.unanswered if isinstance(exc, ProviderError) else 0
        extra = unanswered_prompts(attempt.request, unanswered)
        if attempt.sent and _served_this_attempt(exc, partial):
            billed = unanswered_usage(attempt.request, partial, text)
            reported = partial.reported_cost_usd if partial is not None else None
            self._price(record, attempt, billed, None if billed.estimated else reported, extra)
        elif attempt.sent and extra is not None:
            self._price(record, attempt, Billed(Usage(), estimated=True), None, extra)
        record.completion_text = self._stored(text) if text else None
        return record

    def refusal(self, attempt: Attempt, refusal: BudgetExceeded) -> TrackingRecord:
        """A call a hard budget limit refused: it never reached the provider, cost nothing."""
        record = self._base(attempt, model=attempt.model)
        record.status = "refused"
        record.error_type = "budget_exceeded"
        record.cost_usd = Decimal(0)
        record.latency_ms = 0
        record.attempts = 0
        record.simulated = attempt.simulated
        refusal.tracking_id = attempt.request_id
        return record

    # --- the LLMResult of an answer -----------------------------------------------------------

    @staticmethod
    def result(attempt: Attempt, record: TrackingRecord, response: ProviderResponse) -> LLMResult:
        """What `complete()` returns for an answer, from its record (same figures)."""
        decision = attempt.call.decision
        return LLMResult(
            text=response.text,
            provider=attempt.provider_id,
            model=record.model,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            cost_usd=record.cost_usd,
            latency_ms=record.latency_ms or 0,
            tracking_id=record.request_id,
            cache_read_tokens=record.cache_read_tokens,
            cache_write_tokens=record.cache_write_tokens,
            cache_hit=record.cache_hit,
            complexity=decision.complexity if decision is not None else None,
            tool_calls=response.tool_calls,
            finish_reason=response.finish_reason,
            saved_usd=record.saved_usd,
            price_source=record.price_source,
            simulated=record.simulated,
            cost_estimated=record.cost_estimated,
            extra={"attempts": record.attempts, "unpriced": record.unpriced},
        )

    # --- parts --------------------------------------------------------------------------------

    def _base(self, attempt: Attempt, *, model: str) -> TrackingRecord:
        call = attempt.call
        config = call.config
        routing = None
        if call.decision is not None:
            routing = call.decision.as_record()
            routing["attempted"] = attempt.choice
        return TrackingRecord(
            request_id=attempt.request_id,
            timestamp=attempt.started,
            agent_type=config.agent_type,
            agent_mode=config.mode,
            lead_id=config.lead_id,
            session_id=config.session_id,
            user_id=config.user_id,
            provider=attempt.provider_id,
            model=model,
            configured_model=attempt.model,
            prompt_text=self._stored(call.prompt_text),
            prompt_complexity=call.decision.complexity if call.decision is not None else None,
            routing=routing,
        )

    def _price(
        self,
        record: TrackingRecord,
        attempt: Attempt,
        billed: Billed,
        reported_cost_usd: Decimal | None,
        extra: Usage | None = None,
    ) -> None:
        """Count and price `billed` (plus the `extra` estimated for attempts the provider
        never answered) on the record's served model, asked for as the configured one."""
        price = self._price_of(attempt, record.model, billed.usage, reported_cost_usd)
        usage, cost, unpriced = billed.usage, price.cost_usd, price.unpriced
        if extra is not None:
            more = self._price_of(attempt, record.model, extra, None)
            usage = _added(usage, extra)
            cost = None if cost is None or more.cost_usd is None else cost + more.cost_usd
            unpriced = unpriced or more.unpriced
        self._count(record, usage)
        record.cost_usd = cost
        record.price_source = price.source
        record.unpriced = unpriced
        record.cost_estimated = billed.estimated or extra is not None

    def _price_of(
        self, attempt: Attempt, model: str, usage: Usage, reported_cost_usd: Decimal | None
    ) -> Price:
        return self.prices.price_of(
            usage,
            attempt.provider_id,
            model,
            attempt.started,
            configured=attempt.model,
            reported_cost_usd=reported_cost_usd,
        )

    @staticmethod
    def _count(record: TrackingRecord, usage: Usage) -> None:
        record.prompt_tokens = usage.prompt_tokens
        record.completion_tokens = usage.output_tokens
        record.cache_read_tokens = usage.cache_read_tokens
        record.cache_write_tokens = usage.cache_write_tokens
        record.cache_write_1h_tokens = usage.cache_write_1h_tokens
        record.reasoning_tokens = usage.reasoning_tokens

    def _stored(self, text: str | None) -> str | None:
        return None if text is None else self._store_text(text)

    def _warn_usage_missing(self, provider_id: str, model: str) -> None:
        key = f"{provider_id}:{model}"
        if key not in self._usage_warned:
            self._usage_warned.add(key)
            self._warn(
                f"{key!r} answered without reporting token usage; "
                "its calls are tracked with an estimated cost"
            )


def _added(usage: Usage, more: Usage) -> Usage:
    return Usage(
        input_tokens=usage.input_tokens + more.input_tokens,
        output_tokens=usage.output_tokens + more.output_tokens,
        cache_read_tokens=usage.cache_read_tokens + more.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens + more.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens + more.cache_write_1h_tokens,
        reasoning_tokens=usage.reasoning_tokens + more.reasoning_tokens,
    )


def _served_this_attempt(exc: BaseException, partial: ProviderResponse | None) -> bool:
    """Whether the failed attempt itself was served, beyond the attempts the adapter counted
    as unanswered: a stream cut midway (its partial answer) or ended without its usage
    report, or the caller cancelling or timing out while the request was in flight."""
    if isinstance(exc, ProviderError):
        return partial is not None or exc.error_type == "incomplete_stream"
    return isinstance(exc, asyncio.CancelledError | GeneratorExit | TimeoutError)


def error_type(exc: BaseException) -> str:
    """The `error_type` a failed attempt is tracked with."""
    if isinstance(exc, ProviderError):
        return exc.error_type
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def _completion_text(response: ProviderResponse) -> str:
    if response.text or not response.tool_calls:
        return response.text
    return json.dumps([_tool_call_json(c) for c in response.tool_calls], ensure_ascii=False)


def _tool_call_json(call: ToolCall) -> dict[str, object]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}
