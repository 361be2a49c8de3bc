"""How a bulk run goes: concurrency, force, claim leases and batches."""

from __future__ import annotations

from dataclasses import dataclass

from salesctl.agents import claims
from salesctl.errors import InvalidInput

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 256


@dataclass(frozen=True, slots=True)
class RunOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    """Leads worked on at once; a lead whose result only waits for its batch to be written
    no longer counts."""
    force: bool = False
    """Bulk selections: run leads the agent already did, too."""
    lease_seconds: float = claims.DEFAULT_LEASE_SECONDS
    claim_batch: int | None = None
    """Leads claimed per round trip; default twice `concurrency` (at most 100)."""

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise InvalidInput(
                f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {self.concurrency}"
            )

    @property
    def batch(self) -> int:
        return self.claim_batch or min(2 * self.concurrency, 100)
