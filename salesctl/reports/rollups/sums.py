"""The additive facts the rollups keep, and the metric names that address them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal, get_args

Metric = Literal[
    "requests",
    "priced_requests",
    "unpriced_requests",
    "cost_usd",
    "estimated_requests",
    "estimated_cost_usd",
    "saved_usd",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "latency_ms_sum",
    "latency_count",
]
ALL_METRICS: tuple[Metric, ...] = get_args(Metric)
COUNT_METRICS: tuple[Metric, ...] = (
    "requests",
    "priced_requests",
    "unpriced_requests",
    "cost_usd",
    "estimated_requests",
    "estimated_cost_usd",
)
MONEY_METRICS = frozenset({"cost_usd", "estimated_cost_usd", "saved_usd"})


# --- sums ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sums:
    """The additive facts about a set of calls; every report figure derives from these."""

    requests: int = 0
    priced_requests: int = 0
    unpriced_requests: int = 0
    cost_usd: Decimal = Decimal(0)
    estimated_requests: int = 0
    """Calls whose cost is partly estimated (served without a usage report)."""
    estimated_cost_usd: Decimal = Decimal(0)
    """The part of `cost_usd` those calls make up."""
    saved_usd: Decimal = Decimal(0)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms_sum: int = 0
    latency_count: int = 0

    def add(self, other: Sums) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def known_cost(self) -> Decimal | None:
        """The priced calls' cost; None when every call that needed a price had none."""
        if self.unpriced_requests and not self.priced_requests:
            return None
        return self.cost_usd.normalize() if self.cost_usd else Decimal(0)

    @property
    def avg_latency_ms(self) -> float | None:
        return round(self.latency_ms_sum / self.latency_count, 1) if self.latency_count else None

    @property
    def avg_cost(self) -> Decimal | None:
        if not self.priced_requests:
            return None
        return (self.cost_usd / self.priced_requests).quantize(Decimal("1e-10")).normalize()

    @classmethod
    def from_row(cls, row: Any, metrics: Sequence[str]) -> Sums:
        sums = cls()
        for name in metrics:
            value = getattr(row, name)
            if value is None:
                continue
            setattr(sums, name, Decimal(value) if name in MONEY_METRICS else int(value))
        return sums


def total(items: Sequence[Sums]) -> Sums:
    result = Sums()
    for item in items:
        result.add(item)
    return result
