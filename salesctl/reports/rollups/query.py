"""Reading: one statement summing rollup rows, unfolded detail rows and ragged hours."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from salesctl.reports.filters import CostFilters
from salesctl.reports.rollups.planner import WindowPlan
from salesctl.reports.rollups.sums import MONEY_METRICS, Metric, Sums
from salesctl.reports.rollups.tables import (
    FILTER_COLUMNS,
    NULLABLE_DIMS,
    STATE_NAME,
    Rollup,
    Scope,
    detail_metric,
    gap_table,
    group_key,
    hour_of,
    pick_rollup,
    scope_condition,
    state_table,
    tracking_table,
)
from salesctl.timewindow import EPOCH

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select, Subquery, Table
    from sqlalchemy.ext.asyncio import AsyncSession


Source = Literal["rollup", "detail"]


def in_window(
    column: ColumnElement[Any], since: datetime | None, until: datetime | None
) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def filter_conditions(
    table: Table, filters: CostFilters, only: dict[str, Sequence[Any]] | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for attr, column in FILTER_COLUMNS.items():
        value = getattr(filters, attr)
        if not value:
            continue
        if attr == "agents":
            conditions.append(table.c[column].in_(value))
        else:
            conditions.append(table.c[column] == value)
    for column, values in (only or {}).items():
        conditions.append(table.c[column].in_(list(values)))
    return conditions


class Unindexed:
    """A table's columns as `+column`: SQLite cannot answer a term on them from an index."""

    def __init__(self, table: Table) -> None:
        from sqlalchemy import literal_column

        self.c = _Columns(
            {
                column.name: literal_column(f"+{table.name}.{column.name}", type_=column.type)
                for column in table.columns
            }
        )


class _Columns(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _after_cut_terms(
    dialect: str, plan: WindowPlan, hour: ColumnElement[int], timestamp: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    """Conditions true for a row past the cut inside its (split) hour: one per cut offset.

    A zone's cuts sit at the same minute of their hour (:30 in Kolkata) except across some DST
    changes, so this stays one or two terms however many days the window spans.
    """
    from sqlalchemy import BigInteger, Integer, cast, extract, func, literal_column

    by_offset: dict[int, list[int]] = {}
    for split_hour, cut in plan.split_cuts:
        offset = int((cut - (EPOCH + timedelta(hours=split_hour))).total_seconds())
        by_offset.setdefault(offset, []).append(split_hour)
    if not by_offset:
        return []
    if dialect == "postgresql":
        seconds = cast(func.floor(extract("epoch", timestamp)), BigInteger)
    else:
        seconds = cast(func.strftime(literal_column("'%s'"), timestamp), Integer)
    into_hour = seconds % literal_column("3600")
    return [hour.in_(hours) & (into_hour >= offset) for offset, hours in sorted(by_offset.items())]


def _detail_branch(
    dialect: str,
    plan: WindowPlan,
    scope: Scope,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    conditions: list[Any],
    *,
    by_hour: bool,
    from_: Any = None,
    scope_columns: Any = None,
) -> Select[Any]:
    """Detail rows aggregated like rollup rows (NULL keys as '').

    `scope_columns` (an `Unindexed`) states the scope and the group keys without offering an
    index (nor an index order) to SQLite's planner.
    """
    from sqlalchemy import case, literal_column, or_, select

    t = tracking_table()
    keyed = scope_columns if scope_columns is not None else t
    groups = [group_key(keyed, d) for d in dims]
    columns = [g.label(d) for g, d in zip(groups, dims, strict=True)]
    if by_hour:
        hour = hour_of(dialect, t.c.timestamp)
        splits = _after_cut_terms(dialect, plan, hour, t.c.timestamp)
        groups.append(hour)
        columns.append(hour.label("hour"))
        if splits:
            after = case((or_(*splits), 1), else_=0)
            groups.append(after)
            columns.append(after.label("after_cut"))
        else:
            columns.append(literal_column("0").label("after_cut"))
    in_scope = scope_condition(scope, scope_columns if scope_columns is not None else t)
    if in_scope is not None:
        conditions = [*conditions, in_scope]
    query = select(*columns, *(detail_metric(m, t, dialect).label(m) for m in metrics))
    query = query.where(*conditions)
    if from_ is not None:
        query = query.select_from(from_)
    return query.group_by(*groups) if groups else query


def _rollup_branch(
    rollup: Rollup,
    dims: Sequence[str],
    metrics: Sequence[Metric],
    conditions: list[Any],
    *,
    by_hour: bool,
) -> Select[Any]:
    """A rollup's rows as they are (the outer query sums them once)."""
    from sqlalchemy import literal_column, select

    r = rollup.table
    columns = [r.c[d].label(d) for d in dims]
    if by_hour:
        hour = r.c.hour if rollup.grain == "hour" else r.c.day * literal_column("24")
        columns += [hour.label("hour"), literal_column("0").label("after_cut")]
    return select(*columns, *(r.c[m].label(m) for m in metrics)).where(*conditions)


def _hour_ranges(plan: WindowPlan, with_days: bool) -> list[tuple[int | None, int | None]]:
    """The hour ranges an hour rollup answers: the window's whole hours minus the whole days."""
    if not with_days:
        return [(plan.hour_lo, plan.hour_hi)]
    ranges: list[tuple[int | None, int | None]] = []
    if plan.day_lo is not None:
        ranges.append((plan.hour_lo, plan.day_lo * 24))
    if plan.day_hi is not None:
        ranges.append((plan.day_hi * 24, plan.hour_hi))
    return [(lo, hi) for lo, hi in ranges if lo is None or hi is None or lo < hi]


def union_query(
    dialect: str,
    plan: WindowPlan,
    filters: CostFilters,
    scope: Scope,
    dims: Sequence[str],
    *,
    source: Source,
    metrics: Sequence[Metric],
    by_hour: bool = False,
    only: dict[str, Sequence[Any]] | None = None,
) -> Subquery:
    """Per-group sums (dims [+ hour, after_cut] + metrics) of the calls in `plan`'s window.

    `source="rollup"`: day and hour rollup rows, plus unfolded and ragged detail rows, in one
    statement. `source="detail"` (or no rollup keeps the columns needed): detail rows alone.
    """
    from sqlalchemy import and_, func, not_, or_, select, union_all

    t = tracking_table()
    detail_filters = filter_conditions(t, filters, only)
    window = in_window(t.c.timestamp, plan.since, plan.until)
    hourly = pick_rollup(scope, "hour", filters, dims, metrics, only)
    if source == "detail" or hourly is None:
        return _detail_branch(
            dialect, plan, scope, dims, metrics, [*window, *detail_filters], by_hour=by_hour
        ).subquery("facts")

    daily = pick_rollup(scope, "day", filters, dims, metrics, only) if plan.use_days else None
    branches: list[Select[Any]] = []
    if daily is not None:
        d = daily.table
        days = []
        if plan.day_lo is not None:
            days.append(d.c.day >= plan.day_lo)
        if plan.day_hi is not None:
            days.append(d.c.day < plan.day_hi)
        conditions = [*days, *filter_conditions(d, filters, only)]
        branches.append(_rollup_branch(daily, dims, metrics, conditions, by_hour=by_hour))
    h = hourly.table
    spans = []
    unbounded = False
    for lo, hi in _hour_ranges(plan, daily is not None):
        bounds = ([h.c.hour >= lo] if lo is not None else []) + (
            [h.c.hour < hi] if hi is not None else []
        )
        if bounds:
            spans.append(and_(*bounds))
        else:
            unbounded = True
    if spans or unbounded:
        hours = [] if unbounded else [or_(*spans)]
        if plan.ragged_hours:
            hours.append(h.c.hour.not_in(plan.ragged_hours))
        conditions = [*hours, *filter_conditions(h, filters, only)]
        branches.append(_rollup_branch(hourly, dims, metrics, conditions, by_hour=by_hour))

    state = state_table()
    gaps = gap_table()
    watermark = func.coalesce(
        select(state.c.folded_through_id).where(state.c.name == STATE_NAME).scalar_subquery(), 0
    )
    # Not folded yet: above the watermark (the literal lets the planner use the primary key;
    # the subquery keeps the statement exact if a fold committed since it was read).
    # SQLite picks indexes by rule, not by cost: it would answer these branches from whichever
    # index a filter names (every lead row via idx_lead_id, say). Unindexed columns keep the
    # tail on the rowid range and the ragged hours on idx_timestamp.
    plain = Unindexed(t) if dialect == "sqlite" else None
    columns = plain if plain is not None else t
    unindexed_filters = filter_conditions(columns, filters, only)  # type: ignore[arg-type]  # .c only
    tail = [
        t.c.id > plan.state.watermark,
        t.c.id > watermark,
        *in_window(columns.c.timestamp, plan.since, plan.until),
        *unindexed_filters,
    ]
    branches.append(
        _detail_branch(
            dialect, plan, scope, dims, metrics, tail, by_hour=by_hour, scope_columns=plain
        )
    )
    in_gap = and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi)
    if dialect == "postgresql":
        # Driven from the (small) gap table into the primary key, never a scan of the window.
        gap_rows = [t.c.id <= watermark, *window, *detail_filters]
        branches.append(
            _detail_branch(
                dialect,
                plan,
                scope,
                dims,
                metrics,
                gap_rows,
                by_hour=by_hour,
                from_=gaps.join(t, in_gap),
            )
        )
    if plan.ragged:
        from sqlalchemy import exists

        # Ragged ranges as a VALUES list joined on the timestamp index: one range scan each,
        # rather than every candidate row tested against an OR of all the ranges.
        ranges = _ragged_values(plan)
        in_range = and_(t.c.timestamp >= ranges.c.lo, t.c.timestamp < ranges.c.hi)
        folded = [columns.c.id <= watermark]
        if dialect == "postgresql":
            folded.append(not_(exists().where(in_gap)))
        ragged = [*folded, *unindexed_filters]
        branches.append(
            _detail_branch(
                dialect,
                plan,
                scope,
                dims,
                metrics,
                ragged,
                by_hour=by_hour,
                from_=ranges.join(t, in_range),
                scope_columns=plain,
            )
        )
    return union_all(*branches).subquery("facts")


def _ragged_values(plan: WindowPlan) -> Any:
    from sqlalchemy import column, values

    from salesctl.db.base import UTCDateTime

    far_past, far_future = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)
    rows = [(lo or far_past, hi or far_future) for lo, hi in plan.ragged]
    ranges = values(column("lo", UTCDateTime()), column("hi", UTCDateTime()), name="ragged")
    return ranges.data(rows).cte("ragged")  # WITH ragged(lo, hi) AS (VALUES …): both dialects


def outer_sums(facts: Subquery, metrics: Sequence[Metric]) -> list[ColumnElement[Any]]:
    """SUM of each metric of a union; money comes back as Decimal from its integer units."""
    from sqlalchemy import func, type_coerce

    from salesctl.db.models.analytics import MONEY

    out: list[ColumnElement[Any]] = []
    for m in metrics:
        summed = func.sum(facts.c[m])
        out.append((type_coerce(summed, MONEY) if m in MONEY_METRICS else summed).label(m))
    return out


async def aggregate(
    session: AsyncSession,
    plan: WindowPlan,
    filters: CostFilters,
    scope: Scope,
    dims: Sequence[str],
    *,
    source: Source,
    metrics: Sequence[Metric],
    by_hour: bool = False,
    only: dict[str, Sequence[Any]] | None = None,
) -> list[tuple[tuple[Any, ...], Sums]]:
    """Sums per group: `((dim values…[, hour, after_cut]), Sums)`; '' keys come back as None."""
    from sqlalchemy import select

    dialect = session.get_bind().dialect.name
    facts = union_query(
        dialect,
        plan,
        filters,
        scope,
        dims,
        source=source,
        by_hour=by_hour,
        only=only,
        metrics=metrics,
    )
    keys = [facts.c[d] for d in dims] + ([facts.c.hour, facts.c.after_cut] if by_hour else [])
    query = select(*keys, *outer_sums(facts, metrics))
    if keys:
        query = query.group_by(*keys)
    result = []
    for row in (await session.execute(query)).all():
        key = tuple(_unkey(d, row[i]) for i, d in enumerate(dims))
        if by_hour:
            key += (int(row.hour), int(row.after_cut))
        result.append((key, Sums.from_row(row, metrics)))
    return result


def _unkey(dim: str, value: Any) -> Any:
    if dim in NULLABLE_DIMS and value == "":
        return None
    if dim == "cache_hit":
        return bool(value)
    return value
