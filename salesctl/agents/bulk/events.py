"""What a bulk run reports while it goes (the CLI draws its progress from these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from salesctl.agents.outcome import AgentOutcome

StopReason = Literal["SIGINT", "SIGTERM", "fatal", "database"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    agent: str
    provider: str
    model: str
    selection: str
    total: int
    """Leads pending when the run started (other workers may take some of them)."""
    worker_id: str


@dataclass(frozen=True, slots=True)
class LeadFinished:
    outcome: AgentOutcome


@dataclass(frozen=True, slots=True)
class Stopping:
    reason: StopReason
    message: str
    in_flight: int


RunEvent = RunStarted | LeadFinished | Stopping
