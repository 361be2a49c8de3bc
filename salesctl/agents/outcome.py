"""Plain data an agent run produces: the LLM calls it made, how it failed, what it returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from salesctl.llm.types import LLMResult
from salesctl.vocabulary import LeadAgentType

FailureKind = Literal[
    "not_found",
    "invalid_input",
    "invalid_output",
    "config_error",
    "provider_error",
    "missing_api_key",
    "budget_exceeded",
    "claim_lost",
    "aborted",
    "internal",
    "tracking_unavailable",
    "database_unreachable",
]
FATAL_FAILURES: frozenset[FailureKind] = frozenset(
    {
        "missing_api_key",
        "budget_exceeded",
        "config_error",
        "tracking_unavailable",
        "database_unreachable",
    }
)
"""Failures that would repeat for every lead, so a bulk run stops taking new leads."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One tracked LLM call of a run, as the gateway reported it."""

    provider: str
    model: str
    cost_usd: Decimal | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    cache_hit: bool
    tracking_id: str
    saved_usd: Decimal | None = None
    """What a cache hit would have cost had the model been asked (None otherwise)."""

    @classmethod
    def of(cls, result: LLMResult) -> CallRecord:
        return cls(
            provider=result.provider,
            model=result.model,
            cost_usd=result.cost_usd,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            latency_ms=result.latency_ms,
            cache_hit=result.cache_hit,
            tracking_id=result.tracking_id,
            saved_usd=result.saved_usd if result.cache_hit else None,
        )


def run_cost(calls: list[CallRecord]) -> Decimal | None:
    """The run's cost: the sum of its calls' costs, unknown (None) if any call's cost is."""
    total = Decimal(0)
    for call in calls:
        if call.cost_usd is None:
            return None
        total += call.cost_usd
    return total


@dataclass(frozen=True, slots=True)
class LeadFailure:
    """Why an agent could not finish a lead; `message` is one line for the user."""

    kind: FailureKind
    message: str

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL_FAILURES


def lead_failure(exc: Exception) -> LeadFailure:
    """What an unexpected error means for the lead, in one line without SQL: the database
    unreachable (which stops a bulk run), or an internal error."""
    from salesctl.db.session import describe_db_error, unreachable_reason

    reason = unreachable_reason(exc)
    if reason is not None:
        return LeadFailure("database_unreachable", f"database unreachable: {reason}")
    return LeadFailure("internal", f"{type(exc).__name__}: {describe_db_error(exc)}")


@dataclass(slots=True)
class AgentOutcome:
    """One agent run on one lead: its result (when ok), failure (when not) and cost."""

    agent: LeadAgentType
    lead_id: int
    status: Literal["ok", "error"]
    run_id: int | None
    provider: str
    model: str
    calls: list[CallRecord] = field(default_factory=list)
    result: dict[str, Any] | None = None
    failure: LeadFailure | None = None
    latency_ms: int = 0
    """The whole run on this lead (claim, graph, saving), in milliseconds."""
    company_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def cost_usd(self) -> Decimal | None:
        return run_cost(self.calls)

    @property
    def llm_calls(self) -> int:
        return len(self.calls)

    @property
    def call_latency_ms(self) -> int:
        """How long the run waited on its LLM calls (the provider's answers, or the cache's),
        added up; `latency_ms` is the whole run."""
        return sum(call.latency_ms for call in self.calls)

    @property
    def cache_hits(self) -> int:
        return sum(1 for call in self.calls if call.cache_hit)

    @property
    def saved_usd(self) -> Decimal:
        """What the cache hits among its calls saved."""
        return sum((call.saved_usd or Decimal(0) for call in self.calls), Decimal(0))

    def as_json(self) -> dict[str, Any]:
        """The machine-readable record: run metadata, then the result's fields at top level."""
        data: dict[str, Any] = {
            "lead_id": self.lead_id,
            "agent": self.agent,
            "status": self.status,
            "run_id": self.run_id,
            "company_name": self.company_name,
            "provider": self.calls[-1].provider if self.calls else self.provider,
            "model": self.calls[-1].model if self.calls else self.model,
            "cost_usd": self.cost_usd,
            "llm_calls": self.llm_calls,
            "latency_ms": self.latency_ms,
            "call_latency_ms": self.call_latency_ms,
            "tracking_id": self.calls[-1].tracking_id if self.calls else None,
            "tracking_ids": [c.tracking_id for c in self.calls],
        }
        if self.failure is not None:
            data["error"] = self.failure.message
            data["error_kind"] = self.failure.kind
        if self.result is not None:
            data.update({k: v for k, v in self.result.items() if k not in data})
        return data
