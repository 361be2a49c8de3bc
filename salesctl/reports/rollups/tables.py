"""The rollup tables, which one answers a query, and the SQL that turns detail rows into
their units (hours and days since the epoch, money as integer 1e-10 USD units)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from salesctl.reports.filters import CostFilters
from salesctl.reports.rollups.sums import ALL_METRICS, COUNT_METRICS, MONEY_METRICS, Metric

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table

STATE_NAME = "tracking"
"""The `ai_cost_rollup_state` row of the tracking rollups."""
NULLABLE_DIMS = frozenset({"agent_mode", "user_id", "session_id"})
"""Detail columns that may be NULL; the rollups store them as ''."""
FILTER_COLUMNS = {
    "agents": "agent_type",
    "lead_id": "lead_id",
    "provider": "provider",
    "model": "model",
    "session_id": "session_id",
    "user_id": "user_id",
}


# --- the rollup tables -----------------------------------------------------------------------


Grain = Literal["hour", "day"]
Scope = Literal["all", "leads", "sessions"]
"""Which detail rows a query (and a rollup) covers: every call, calls for a lead, chat calls."""


@dataclass(frozen=True)
class Rollup:
    """One aggregate table: its time grain, key dimensions, sums and the rows it covers."""

    table_name: str
    grain: Grain
    dims: tuple[str, ...]
    metrics: tuple[Metric, ...]
    scope: Scope = "all"

    @property
    def table(self) -> Table:
        from salesctl.db.base import Base
        from salesctl.db.models import analytics  # noqa: F401  (defines the rollup tables)

        return Base.metadata.tables[self.table_name]

    @property
    def time_key(self) -> str:
        return self.grain


def _needed_columns(filters: CostFilters, dims: Sequence[str], only: Any = None) -> set[str]:
    wanted = set(dims) | set(only or ())
    return wanted | {col for attr, col in FILTER_COLUMNS.items() if getattr(filters, attr)}


def pick_rollup(
    scope: Scope,
    grain: Grain,
    filters: CostFilters,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    only: Any = None,
) -> Rollup | None:
    """The smallest table of `grain` that covers `scope` and keeps every column needed."""
    needed = _needed_columns(filters, dims, only)
    fits = [
        r
        for r in ROLLUPS
        if r.scope == scope
        and r.grain == grain
        and needed <= set(r.dims)
        and set(metrics) <= set(r.metrics)
    ]
    return min(fits, key=lambda r: len(r.dims), default=None)


def scope_condition(scope: Scope, t: Table) -> ColumnElement[bool] | None:
    from sqlalchemy import or_

    if scope == "leads":
        return t.c.lead_id.is_not(None)
    if scope == "sessions":
        return or_(t.c.user_id.is_not(None), t.c.session_id.is_not(None))
    return None


AGENT_DIMS = ("agent_type", "agent_mode", "provider", "model", "status", "cache_hit")
HOURLY = Rollup("ai_cost_hourly", "hour", AGENT_DIMS, ALL_METRICS)
DAILY = Rollup("ai_cost_daily", "day", AGENT_DIMS, ALL_METRICS)
HOURLY_TOTALS = Rollup("ai_cost_hourly_totals", "hour", (), COUNT_METRICS)
LEAD_HOURLY = Rollup(
    "ai_cost_lead_hourly",
    "hour",
    ("lead_id", "agent_type", "provider", "model"),
    COUNT_METRICS,
    "leads",
)
LEAD_DAILY = Rollup("ai_cost_lead_daily", "day", ("lead_id",), COUNT_METRICS, "leads")
SESSION_HOURLY = Rollup(
    "ai_cost_session_hourly",
    "hour",
    ("user_id", "session_id", "agent_type"),
    COUNT_METRICS,
    "sessions",
)
ROLLUPS = (HOURLY, DAILY, HOURLY_TOTALS, LEAD_HOURLY, LEAD_DAILY, SESSION_HOURLY)
LEAD_TOTALS = "ai_cost_lead_totals"
FACETS = ("all", "agent_type", "provider", "model")
"""The lead totals' facets: every call of a lead, and its calls per value of one column."""


def can_serve(
    scope: Scope, filters: CostFilters, dims: Sequence[str], metrics: Sequence[Metric]
) -> bool:
    """Whether an hourly rollup holds every column a query needs (else: detail rows)."""
    return pick_rollup(scope, "hour", filters, dims, metrics) is not None


def tracking_table() -> Table:
    from salesctl.db.models.tracking import AICostTracking

    return AICostTracking.__table__


def state_table() -> Table:
    from salesctl.db.models.analytics import RollupState

    return RollupState.__table__


def gap_table() -> Table:
    from salesctl.db.models.analytics import RollupGap

    return RollupGap.__table__


def hour_of(dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    """The UTC hour of a detail timestamp, as hours since the epoch."""
    from sqlalchemy import Integer, cast, extract, func, literal_column

    if dialect == "postgresql":
        seconds = extract("epoch", timestamp)
        return cast(func.floor(seconds / literal_column("3600")), Integer)
    return cast(func.strftime(literal_column("'%s'"), timestamp), Integer) // literal_column("3600")


def day_of(dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    """The UTC day of a detail timestamp, as days since the epoch."""
    from sqlalchemy import Integer, cast, extract, func, literal_column

    if dialect == "postgresql":
        seconds = extract("epoch", timestamp)
        return cast(func.floor(seconds / literal_column("86400")), Integer)
    return cast(func.strftime(literal_column("'%s'"), timestamp), Integer) // literal_column(
        "86400"
    )


def time_of(grain: Grain, dialect: str, timestamp: ColumnElement[Any]) -> ColumnElement[int]:
    return hour_of(dialect, timestamp) if grain == "hour" else day_of(dialect, timestamp)


def money_units(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """SUM of a detail money column as integer 1e-10 USD units (how the rollups keep money)."""
    from sqlalchemy import BigInteger, cast, func, literal_column, type_coerce

    from salesctl.db.models.analytics import MONEY

    total: ColumnElement[Any] = func.coalesce(func.sum(column), literal_column("0"))
    if dialect == "postgresql":  # NUMERIC(20, 10) times 10**10 is an exact integer
        total = cast(total * literal_column("10000000000"), BigInteger)
    return type_coerce(total, MONEY)  # SQLite already stores these units


def detail_metric(name: Metric, t: Table, dialect: str) -> ColumnElement[Any]:
    """The SQL aggregate of one metric over detail rows, in the rollups' units."""
    from sqlalchemy import case, func, literal_column

    zero: ColumnElement[Any] = literal_column("0")
    if name == "requests":
        return func.count()
    if name == "priced_requests":
        return func.count(t.c.cost_usd)
    if name == "unpriced_requests":
        return func.coalesce(func.sum(case((t.c.unpriced, 1), else_=0)), zero)
    if name == "estimated_requests":
        return func.coalesce(func.sum(case((t.c.cost_estimated, 1), else_=0)), zero)
    if name == "estimated_cost_usd":
        return money_units(dialect, case((t.c.cost_estimated, t.c.cost_usd), else_=None))
    if name in MONEY_METRICS:
        return money_units(dialect, t.c[name])
    if name == "latency_ms_sum":
        return func.coalesce(func.sum(t.c.latency_ms), zero)
    if name == "latency_count":
        return func.count(t.c.latency_ms)
    return func.coalesce(func.sum(t.c[name]), zero)


def group_key(t: Table, dim: str) -> ColumnElement[Any]:
    from sqlalchemy import func, literal_column

    column = t.c[dim]
    return func.coalesce(column, literal_column("''")) if dim in NULLABLE_DIMS else column
