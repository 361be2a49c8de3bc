"""`costs reconcile`: what salesctl tracked against what a provider billed, per day x model.

The tracked side is the cost report's own sums (`rollups.aggregate`, the same statement shape
as `costs --json`), cut into the billed file's days. Billed and tracked model ids differ
(`claude-sonnet-4-5` configured, `claude-sonnet-4-5-20250929` served and billed;
`deepseek/deepseek-chat` vs `deepseek-chat-v3-0324`), so both sides are matched through
genai-prices' catalogue (`model_key`), falling back to the exact id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

from salesctl.errors import InvalidInput
from salesctl.reports.filters import CostFilters, load_zone, local_date, local_midnight
from salesctl.reports.invoice_formats import Invoice, InvoiceUnreadable
from salesctl.reports.rollups import COUNT_METRICS, Metric, Sums

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

TRACKED_MODEL_DIMS: tuple[str, ...] = ("model",)
"""The rollup columns naming a call's model, each matched against the billed model: the served
id. The configured id (`configured_model`, kept on detail rows only) is matched too, by
`_configured_aliases`, for a billed id no served one matches."""

FLAGGED_IDS = 5
"""Request ids listed per cell of unpriced or estimated calls (`costs export` finds the rest)."""
DEFAULT_TOLERANCE = "0.01"
OPENROUTER_VENDORS: dict[str, str] = {"meta-llama": "meta", "mistralai": "mistral"}
"""OpenRouter model prefixes whose genai-prices provider id is spelled differently (only to
match ids here; OpenRouter calls are never priced from a vendor's own list)."""


class CannotReconcile(InvalidInput):
    """The reconciliation could not be made (bad flags, database unreachable): exit 3."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a cell may be off: an amount in USD, or a share of the billed amount."""

    text: str
    usd: Decimal | None = None
    percent: Decimal | None = None

    def allows(self, difference: Decimal, billed: Decimal) -> bool:
        if self.percent is not None:
            return abs(difference) <= abs(billed) * self.percent / 100
        return abs(difference) <= (self.usd or Decimal(0))


def parse_tolerance(text: str | None) -> Tolerance:
    """`0.01` (USD per cell) or `1%` (of the billed amount)."""
    raw = (text if text is not None else DEFAULT_TOLERANCE).strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.removesuffix("%").strip().lstrip("$"))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise CannotReconcile(
            f"--tolerance {text!r} is not an amount or a percentage (e.g. 0.01 or 1%)"
        )
    return Tolerance(raw, None, value) if percent else Tolerance(raw, value, None)


# --- model matching ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def model_key(provider: str, model: str) -> str:
    """The catalogue model (`anthropic:claude-sonnet-4-5`) a provider's model id names, by
    genai-prices' own match rules; the id itself when the catalogue does not know it.

    OpenRouter ids are tried under their vendor first (`deepseek/deepseek-chat` and
    `deepseek/deepseek-chat-v3-0324` are both DeepSeek's `deepseek-chat`), then as OpenRouter
    lists them, then (an id without a vendor) under whichever provider's rules match it.
    """
    from genai_prices.data_snapshot import get_snapshot

    from salesctl.llm.pricing import GENAI_PROVIDER

    snapshot = get_snapshot()
    ref = model.strip()
    refs: list[tuple[str | None, str]] = []
    if provider == "openrouter":
        if "/" in ref:
            vendor, _, vendor_model = ref.partition("/")
            refs.append((OPENROUTER_VENDORS.get(vendor, vendor), vendor_model))
        refs.append(("openrouter", ref))
        if "/" not in ref:
            refs.append((None, ref))
    else:
        refs.append((GENAI_PROVIDER.get(provider, provider), ref))
    for catalogue_provider, catalogue_ref in refs:
        try:
            found, info = snapshot.find_provider_model(
                catalogue_ref, None, catalogue_provider, None
            )
        except LookupError:
            continue
        return f"{found.id}:{info.id}"
    return ref


def shown_model(key: str) -> str:
    """A cell's model as shown: the catalogue id without its provider."""
    return key.partition(":")[2] or key


# --- the result --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconcileCell:
    """One day x provider x model: tracked against billed."""

    date: str
    provider: str
    model: str
    tracked_usd: Decimal | None
    billed_usd: Decimal
    difference_usd: Decimal | None
    """Tracked minus billed; None when no tracked call in the cell had a price."""
    within_tolerance: bool
    tracked_requests: int
    unpriced_requests: int
    estimated_requests: int
    """Calls whose cost was partly estimated (served without a full usage report)."""
    flagged_request_ids: list[str]
    """A few unpriced or estimated calls of a cell outside the tolerance."""
    tracked_models: list[str]
    billed_models: list[str]


@dataclass
class Reconciliation:
    """The comparison; `--json` prints it as is."""

    file: str
    format: str
    timezone: str
    first_day: str
    last_day: str
    providers: list[str]
    tolerance: str
    tracked_total_usd: Decimal
    billed_total_usd: Decimal
    difference_usd: Decimal
    cells_compared: int
    cells_outside_tolerance: int
    unpriced_requests: int
    cells: list[ReconcileCell]
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.cells_outside_tolerance else 0


@dataclass(frozen=True, slots=True)
class ReconcileRequest:
    """What to compare, beyond the file: a provider, a window (flags as typed), a tolerance."""

    provider: str | None = None
    since: str | None = None
    until: str | None = None
    tolerance: Tolerance = Tolerance(DEFAULT_TOLERANCE, Decimal(DEFAULT_TOLERANCE))


# --- computing it ------------------------------------------------------------------------


def window_days(
    invoice: Invoice, request: ReconcileRequest, now: datetime | None = None
) -> tuple[date, date]:
    """The first and last day compared: the flags' whole days, else the file's span."""
    from salesctl.reports.filters import InvalidFilter, resolve_window

    zone = load_zone(invoice.day_zone)
    try:
        start, stop = resolve_window(
            request.since, request.until, zone=zone, now=now or datetime.now(UTC), default_days=None
        )
    except InvalidFilter as exc:
        raise CannotReconcile(str(exc)) from None
    billed = [line.day for line in invoice.lines]
    first = local_date(start, zone) if start else (min(billed) if billed else None)
    last = local_date(stop - timedelta(microseconds=1), zone) if stop else None
    last = last or (max(billed) if billed else None)
    if first is None or last is None:
        raise InvoiceUnreadable(f"{invoice.path}: no billed rows to compare")
    if last < first:
        raise CannotReconcile(f"{invoice.path} bills nothing from {first} on")
    return first, last


async def tracked_cells(
    session: AsyncSession,
    *,
    first: date,
    last: date,
    zone_name: str,
    providers: Sequence[str],
) -> dict[tuple[date, str, tuple[str, ...]], Sums]:
    """Sums per (local day, provider, tracked model ids) over whole days `first`..`last`."""
    from salesctl.reports.rollups import aggregate, bucket_index, plan_window, read_state

    zone = load_zone(zone_name)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    since, until = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    filters = CostFilters(
        since=since,
        until=until,
        provider=providers[0] if len(providers) == 1 else None,
        timezone=zone_name,
    )
    plan = plan_window(
        since, until, await read_state(session), [local_midnight(d, zone) for d in days[1:]]
    )
    metrics: tuple[Metric, ...] = COUNT_METRICS
    groups = await aggregate(
        session,
        plan,
        filters,
        "all",
        ("provider", *TRACKED_MODEL_DIMS),
        source="rollup",
        by_hour=True,
        metrics=metrics,
    )
    cells: dict[tuple[date, str, tuple[str, ...]], Sums] = defaultdict(Sums)
    for key, sums in groups:
        provider, ids = key[0], tuple(key[1 : 1 + len(TRACKED_MODEL_DIMS)])
        if provider not in providers:
            continue
        day = days[min(bucket_index(plan, key[-2], key[-1]), len(days) - 1)]
        cells[(day, provider, ids)].add(sums)
    return cells


async def _configured_aliases(
    session: AsyncSession,
    *,
    first: date,
    last: date,
    zone_name: str,
    billed: set[tuple[str, str]],
) -> list[tuple[str, str, str]]:
    """(provider, served id, configured id) of the window's calls that asked for one of the
    `billed` ids under another name: a bill keyed by the id you configured (a private model's
    snapshot, a router alias) lands in the cell of the id the provider served for it."""
    from sqlalchemy import and_, or_, select

    from salesctl.db.models.tracking import AICostTracking

    t = AICostTracking.__table__
    zone = load_zone(zone_name)
    query = (
        select(t.c.provider, t.c.model, t.c.configured_model)
        .where(
            t.c.timestamp >= local_midnight(first, zone),
            t.c.timestamp < local_midnight(last + timedelta(days=1), zone),
            t.c.configured_model != t.c.model,
            or_(
                *(
                    and_(t.c.provider == provider, t.c.configured_model == model)
                    for provider, model in sorted(billed)
                )
            ),
        )
        .distinct()
    )
    return [(p, m, c) for p, m, c in (await session.execute(query)).all()]


async def _flagged_ids(
    session: AsyncSession,
    zone_name: str,
    day: date,
    provider: str,
    models: Sequence[str],
) -> list[str]:
    """Request ids of a cell's unpriced (or estimated) calls, the first few by time."""
    from sqlalchemy import or_, select

    from salesctl.db.models.tracking import AICostTracking

    t = AICostTracking.__table__
    zone = load_zone(zone_name)
    flags = [t.c.unpriced.is_(True), t.c.cost_estimated.is_(True)]
    query = (
        select(t.c.request_id)
        .where(
            t.c.timestamp >= local_midnight(day, zone),
            t.c.timestamp < local_midnight(day + timedelta(days=1), zone),
            t.c.provider == provider,
            t.c[TRACKED_MODEL_DIMS[0]].in_(list(models)),
            or_(*flags),
        )
        .order_by(t.c.timestamp, t.c.id)
        .limit(FLAGGED_IDS)
    )
    return [str(i) for i in (await session.execute(query)).scalars()]


async def read_reconciliation(
    session: AsyncSession,
    invoice: Invoice,
    request: ReconcileRequest = ReconcileRequest(),
    *,
    now: datetime | None = None,
) -> Reconciliation:
    """Compare the invoice's lines with the tracked calls of the same days and providers."""
    now = now or datetime.now(UTC)
    first, last = window_days(invoice, request, now)
    lines = [
        line
        for line in invoice.lines
        if first <= line.day <= last
        and (request.provider is None or line.provider == request.provider)
    ]
    providers = sorted({request.provider} if request.provider else {ln.provider for ln in lines})
    tracked = await tracked_cells(
        session, first=first, last=last, zone_name=invoice.day_zone, providers=providers
    )

    # Every tracked id of a group names the group's cell, so a billed line under any of them
    # lands there; the first id (the served one) decides the cell.
    alias: dict[tuple[str, str], str] = {}
    for _, provider, ids in tracked:
        primary = model_key(provider, ids[0])
        for model in ids:
            alias.setdefault((provider, model_key(provider, model)), primary)

    def cell_of(provider: str, model: str) -> str:
        key = model_key(provider, model)
        return alias.get((provider, key), key)

    tracked_keys = set(alias.values())
    unmatched = {
        (line.provider, line.model)
        for line in lines
        if cell_of(line.provider, line.model) not in tracked_keys
    }
    if unmatched:
        for provider, served, configured in await _configured_aliases(
            session, first=first, last=last, zone_name=invoice.day_zone, billed=unmatched
        ):
            alias.setdefault((provider, model_key(provider, configured)), cell_of(provider, served))

    cell_sums: dict[tuple[date, str, str], Sums] = defaultdict(Sums)
    tracked_ids: dict[tuple[date, str, str], set[str]] = defaultdict(set)
    for (day, provider, ids), sums in tracked.items():
        key = (day, provider, cell_of(provider, ids[0]))
        cell_sums[key].add(sums)
        tracked_ids[key].update(i for i in ids if i)
    billed: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
    billed_ids: dict[tuple[date, str, str], set[str]] = defaultdict(set)
    for line in lines:
        key = (line.day, line.provider, cell_of(line.provider, line.model))
        billed[key] += line.cost_usd
        billed_ids[key].add(line.model)

    cells = []
    for key in sorted({*cell_sums, *billed}):
        day, provider, model = key
        sums = cell_sums.get(key, Sums())
        tracked_usd = sums.known_cost
        billed_usd = billed.get(key, Decimal(0))
        difference = None if tracked_usd is None else tracked_usd - billed_usd
        within = difference is not None and request.tolerance.allows(difference, billed_usd)
        estimated = sums.estimated_requests
        flagged: list[str] = []
        if not within and (sums.unpriced_requests or estimated):
            flagged = await _flagged_ids(
                session, invoice.day_zone, day, provider, sorted(tracked_ids[key])
            )
        cells.append(
            ReconcileCell(
                date=day.isoformat(),
                provider=provider,
                model=shown_model(model),
                tracked_usd=tracked_usd,
                billed_usd=_plain(billed_usd),
                difference_usd=None if difference is None else _plain(difference),
                within_tolerance=within,
                tracked_requests=sums.requests,
                unpriced_requests=sums.unpriced_requests,
                estimated_requests=estimated,
                flagged_request_ids=flagged,
                tracked_models=sorted(tracked_ids.get(key, ())),
                billed_models=sorted(billed_ids.get(key, ())),
            )
        )
    cells.sort(key=_largest_first)
    tracked_total = sum((c.tracked_usd or Decimal(0) for c in cells), Decimal(0))
    billed_total = sum((c.billed_usd for c in cells), Decimal(0))
    notes = []
    if invoice.skipped_rows:
        notes.append(f"{invoice.skipped_rows} row(s) of the file bill no model use; not compared")
    return Reconciliation(
        file=invoice.path,
        format=invoice.format,
        timezone=invoice.day_zone,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        providers=providers,
        tolerance=request.tolerance.text,
        tracked_total_usd=_plain(tracked_total),
        billed_total_usd=_plain(billed_total),
        difference_usd=_plain(tracked_total - billed_total),
        cells_compared=len(cells),
        cells_outside_tolerance=sum(1 for c in cells if not c.within_tolerance),
        unpriced_requests=sum(c.unpriced_requests for c in cells),
        cells=cells,
        notes=notes,
    )


def _largest_first(cell: ReconcileCell) -> tuple[bool, Decimal, str, str, str]:
    size = abs(cell.difference_usd) if cell.difference_usd is not None else cell.billed_usd
    return (cell.within_tolerance, -size, cell.date, cell.provider, cell.model)


def _plain(value: Decimal) -> Decimal:
    return value.normalize() if value else Decimal(0)


async def reconcile(
    engine: AsyncEngine,
    invoice: Invoice,
    request: ReconcileRequest = ReconcileRequest(),
    *,
    now: datetime | None = None,
) -> Reconciliation:
    """Fold new tracking rows into the rollups, then compare (one read transaction)."""
    from salesctl.db.session import session_factory
    from salesctl.reports.rollups import fold

    window_days(invoice, request, now)  # a bad window fails before any database work
    await fold(engine)
    async with session_factory(engine)() as session, session.begin():
        return await read_reconciliation(session, invoice, request, now=now)


def headline(result: Reconciliation) -> str:
    """How many cells differ, over which days."""
    days = (
        result.first_day
        if result.first_day == result.last_day
        else f"{result.first_day}..{result.last_day}"
    )
    tolerance = _tolerance_text(result.tolerance)
    if result.cells_outside_tolerance:
        head = (
            f"{result.cells_outside_tolerance} of {result.cells_compared} cell(s) outside "
            f"the {tolerance} tolerance"
        )
    else:
        head = f"all {result.cells_compared} cell(s) within the {tolerance} tolerance"
    return f"{head}, {days} ({result.timezone})"


def totals(result: Reconciliation) -> str:
    from salesctl.money import usd

    return (
        f"tracked {usd(result.tracked_total_usd)}, billed {usd(result.billed_total_usd)}, "
        f"difference {usd(result.difference_usd)}"
    )


def _tolerance_text(text: str) -> str:
    return text if text.endswith("%") else f"${text.lstrip('$')}"
