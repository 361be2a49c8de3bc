"""What a bulk run did: counts, failures with reasons, cost and latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from salesctl.agents.bulk.events import StopReason
from salesctl.agents.outcome import AgentOutcome


@dataclass(slots=True)
class RunSummary:
    """What a run did: counts, failures with reasons, cost and latency."""

    agent: str
    provider: str
    model: str
    selection: str
    worker_id: str
    total: int
    outcomes: list[AgentOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_by: StopReason | None = None
    stop_message: str = ""
    aborted: bool = False
    taken_over: int = 0
    """Claims of processes no longer running on this host that this run freed at its start."""
    held_elsewhere: int = 0
    """Selected leads still claimed by other live workers when this run ended."""
    held_until: datetime | None = None
    """When the last of those claims' leases ends (unless their workers renew them)."""

    @property
    def done(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def processed(self) -> int:
        return len(self.outcomes)

    @property
    def failures(self) -> list[AgentOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def unpriced_leads(self) -> int:
        return sum(1 for o in self.outcomes if o.cost_usd is None)

    @property
    def total_cost_usd(self) -> Decimal | None:
        """The sum over leads whose cost is known; None when no lead's cost is known."""
        known = [o.cost_usd for o in self.outcomes if o.cost_usd is not None]
        return sum(known, Decimal(0)) if known or not self.outcomes else None

    @property
    def cost_per_lead_usd(self) -> Decimal | None:
        priced = self.processed - self.unpriced_leads
        total = self.total_cost_usd
        if total is None or priced == 0:
            return None
        return total / priced

    @property
    def avg_latency_ms(self) -> float | None:
        if not self.outcomes:
            return None
        return sum(o.latency_ms for o in self.outcomes) / len(self.outcomes)

    @property
    def avg_call_latency_ms(self) -> float | None:
        """The LLM calls' share of `avg_latency_ms`: their latency per lead, on average."""
        if not self.outcomes:
            return None
        return sum(o.call_latency_ms for o in self.outcomes) / len(self.outcomes)

    @property
    def llm_calls(self) -> int:
        return sum(o.llm_calls for o in self.outcomes)

    def as_json(self) -> dict[str, Any]:
        cost_per_lead = self.cost_per_lead_usd
        avg = self.avg_latency_ms
        avg_calls = self.avg_call_latency_ms
        return {
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model,
            "selection": self.selection,
            "worker_id": self.worker_id,
            "pending_at_start": self.total,
            "processed": self.processed,
            "done": self.done,
            "failed": self.failed,
            "failures": [
                {
                    "lead_id": o.lead_id,
                    "kind": o.failure.kind if o.failure else "internal",
                    "error": o.failure.message if o.failure else "",
                }
                for o in self.failures
            ],
            "llm_calls": self.llm_calls,
            "total_cost_usd": self.total_cost_usd,
            "cost_per_lead_usd": (
                cost_per_lead.quantize(Decimal("1e-10")) if cost_per_lead is not None else None
            ),
            "unpriced_leads": self.unpriced_leads,
            "avg_latency_ms": round(avg, 1) if avg is not None else None,
            "avg_call_latency_ms": round(avg_calls, 1) if avg_calls is not None else None,
            "elapsed_s": round(self.elapsed_s, 3),
            "stopped_by": self.stopped_by,
            "stop_message": self.stop_message or None,
            "aborted": self.aborted,
            "claims_taken_over": self.taken_over,
            "held_by_other_workers": self.held_elsewhere,
            "held_until": self.held_until.isoformat() if self.held_until else None,
        }
