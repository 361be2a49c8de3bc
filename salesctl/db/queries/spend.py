"""What was spent on LLM calls in a window, as the hard budget limits read it.

The figures come from the rollups plus the tracked calls not folded into them yet, so they are
exact; `fold_tracked` folds first, so later reads scan only what was tracked since.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


async def fold_tracked(engine: AsyncEngine) -> None:
    """Fold the calls tracked since the last fold into the rollups (own connection)."""
    from salesctl.reports.rollups import fold

    await fold(engine)


async def spend_by_agent(
    *, session: AsyncSession, since: datetime, until: datetime, timezone: str, by_agent: bool
) -> dict[str, Decimal]:
    """Cost of the calls tracked in `[since, until)`: per agent type, or in total under ''
    when not `by_agent`."""
    from salesctl.reports.filters import CostFilters
    from salesctl.reports.rollups import aggregate, plan_window, read_state

    dims = ("agent_type",) if by_agent else ()
    groups = await aggregate(
        session,
        plan_window(since, until, await read_state(session)),
        CostFilters(since=since, until=until, timezone=timezone),
        "all",
        dims,
        source="rollup",
        metrics=("cost_usd",),
    )
    return {(key[0] if dims else ""): sums.cost_usd for key, sums in groups}
