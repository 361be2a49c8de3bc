"""`budget check`: spend against daily/monthly budgets, spikes, and notify-once alert state.

Severity follows the monitoring-plugin convention (exit 0 info, 1 warning, 2 critical, 3
unknown). Each threshold crossing is recorded in `budget_alerts` per (scope, threshold, period)
before the notification is posted (and released if the post fails), so a check run every five
minutes notifies each crossing once per day or month, and two overlapping runs never both do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from salesctl.errors import InvalidInput, SalesctlError
from salesctl.reports.filters import (
    CostFilters,
    PendingAgents,
    load_zone,
    local_date,
    local_midnight,
    month_start,
    verify_agents,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2, "unknown": 3}
EXIT_CODES: dict[str, int] = SEVERITY_RANK
DEFAULT_WARN_AT = (80.0,)
SPIKE_FACTOR = Decimal(3)
BASELINE_DAYS = 7
MIN_BASELINE_DAYS = 3
NOTIFY_TIMEOUT_S = 10.0


class NotifyError(SalesctlError):
    """Posting the alert to the --notify URL failed."""


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget: what was spent in its period against it."""

    scope: str
    period: str
    spend_usd: Decimal
    budget_usd: Decimal
    percent: float
    severity: Severity
    crossed: list[int]
    requests: int
    unpriced_requests: int


@dataclass(frozen=True, slots=True)
class SpikeStatus:
    """Today against the trailing daily average (days with spend only)."""

    scope: str
    period: str
    today_usd: Decimal
    baseline_avg_usd: Decimal | None
    baseline_days: int
    factor: Decimal
    is_spike: bool


@dataclass(frozen=True, slots=True)
class Alert:
    """A crossing not notified before: one `budget_alerts` row."""

    scope: str
    threshold_pct: int
    period: str
    message: str


@dataclass
class BudgetCheck:
    severity: Severity
    summary: str
    budgets: list[BudgetStatus]
    spike: SpikeStatus | None
    agent: str | None
    timezone: str
    warn_at: list[float]
    checked_at: datetime
    new_alerts: list[Alert] = field(default_factory=list)
    notified: bool = False
    notify_error: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.severity]


@dataclass(frozen=True, slots=True)
class BudgetRequest:
    """What to check, validated."""

    daily_usd: Decimal | None
    monthly_usd: Decimal | None
    warn_at: tuple[float, ...] = DEFAULT_WARN_AT
    agent: str | None = None
    timezone: str = "UTC"
    spike_factor: Decimal = SPIKE_FACTOR
    pending_agents: PendingAgents | None = None
    """An agent name salesctl does not know (`build_filters`): checked against tracked calls."""


def parse_usd(text: str | None, flag: str) -> Decimal | None:
    """A positive dollar amount (`10`, `10.50`, `$10`)."""
    from decimal import InvalidOperation

    if text is None or text == "":
        return None
    try:
        value = Decimal(str(text).strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(f"{flag} {text!r} is not an amount in USD (e.g. {flag} 10)") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput(f"{flag} {text!r} must be a positive amount in USD")
    return value


def parse_warn_at(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """Warning thresholds in percent: `80` or `50,80,95` (each above 0, at most 100)."""
    if text is None or text == "":
        return DEFAULT_WARN_AT
    parts = text.split(",") if isinstance(text, str) else list(text)
    values = []
    for part in parts:
        try:
            value = float(str(part).strip().rstrip("%"))
        except ValueError:
            raise InvalidInput(
                f"--warn-at {text!r} is not a list of percentages (e.g. --warn-at 50,80,95)"
            ) from None
        if not 0 < value <= 100:
            raise InvalidInput(f"--warn-at {part!r}: a threshold must be above 0 and at most 100")
        values.append(value)
    return tuple(sorted(set(values)))


def _pct(spend: Decimal, budget: Decimal) -> float:
    return float(spend / budget * 100)


def _money(value: Decimal) -> str:
    from salesctl.reports.render import usd

    return usd(value)


def _severity(percent: float, warn_at: Sequence[float]) -> Severity:
    if percent >= 100:
        return "critical"
    if warn_at and percent >= min(warn_at):
        return "warning"
    return "info"


async def daily_spend(
    session: AsyncSession,
    filters: CostFilters,
    days: Sequence[date],
    *,
    until: datetime | None = None,
) -> list[tuple[Decimal, int, int]]:
    """(cost, requests, unpriced) per local day in `days` (consecutive), from the rollups."""
    from salesctl.reports.rollups import (
        COUNT_METRICS,
        Sums,
        aggregate,
        bucket_index,
        plan_window,
        read_state,
    )

    zone = load_zone(filters.timezone)
    since = local_midnight(days[0], zone)
    stop = until or local_midnight(days[-1] + timedelta(days=1), zone)
    cuts = [local_midnight(d, zone) for d in days[1:]]
    window = CostFilters(since=since, until=stop, agents=filters.agents, timezone=filters.timezone)
    plan = plan_window(since, stop, await read_state(session), cuts)
    groups = await aggregate(
        session, plan, window, "all", (), source="rollup", by_hour=True, metrics=COUNT_METRICS
    )
    buckets = [Sums() for _ in days]
    for (hour, after_cut), sums in groups:
        buckets[min(bucket_index(plan, hour, after_cut), len(days) - 1)].add(sums)
    return [(b.cost_usd, b.requests, b.unpriced_requests) for b in buckets]


async def check_budgets(
    session: AsyncSession, request: BudgetRequest, *, now: datetime | None = None
) -> BudgetCheck:
    """Spend today and this month (local days) against the budgets, and the spike check."""
    now = now or datetime.now(UTC)
    zone = load_zone(request.timezone)
    today = local_date(now, zone)
    first = min(month_start(today), today - timedelta(days=BASELINE_DAYS))
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    filters = await verify_agents(
        session,
        CostFilters(
            agents=(request.agent,) if request.agent else (),
            timezone=request.timezone,
            pending_agents=request.pending_agents,
        ),
    )
    request = replace(request, agent=filters.agents[0] if filters.agents else None)
    per_day = dict(zip(days, await daily_spend(session, filters, days), strict=True))
    prefix = f"{request.agent}:" if request.agent else ""
    budgets: list[BudgetStatus] = []
    for scope, budget, period, covered in (
        ("daily", request.daily_usd, today.isoformat(), [today]),
        (
            "monthly",
            request.monthly_usd,
            today.strftime("%Y-%m"),
            [d for d in days if d >= month_start(today)],
        ),
    ):
        if budget is None:
            continue
        spend = sum((per_day[d][0] for d in covered), Decimal(0))
        percent = _pct(spend, budget)
        thresholds = sorted({*(round(t) for t in request.warn_at), 100})
        budgets.append(
            BudgetStatus(
                scope=prefix + scope,
                period=period,
                spend_usd=spend.normalize() if spend else Decimal(0),
                budget_usd=budget,
                percent=round(percent, 1),
                severity=_severity(percent, request.warn_at),
                crossed=[t for t in thresholds if percent >= t],
                requests=sum(per_day[d][1] for d in covered),
                unpriced_requests=sum(per_day[d][2] for d in covered),
            )
        )
    baseline = [per_day[today - timedelta(days=i)][0] for i in range(1, BASELINE_DAYS + 1)]
    with_spend = [b for b in baseline if b > 0]
    today_spend = per_day[today][0]
    average = sum(with_spend, Decimal(0)) / len(with_spend) if with_spend else None
    is_spike = (
        len(with_spend) >= MIN_BASELINE_DAYS
        and average is not None
        and today_spend > request.spike_factor * average
    )
    spike = SpikeStatus(
        scope=prefix + "spike",
        period=today.isoformat(),
        today_usd=today_spend.normalize() if today_spend else Decimal(0),
        baseline_avg_usd=(average.quantize(Decimal("1e-10")).normalize() if average else None)
        if len(with_spend) >= MIN_BASELINE_DAYS
        else None,
        baseline_days=len(with_spend),
        factor=request.spike_factor,
        is_spike=is_spike,
    )
    ranks = [SEVERITY_RANK[b.severity] for b in budgets] + ([1] if is_spike else [])
    severity: Severity = ("info", "warning", "critical")[max(ranks, default=0)]  # type: ignore[assignment]
    check = BudgetCheck(
        severity=severity,
        summary="",
        budgets=budgets,
        spike=spike,
        agent=request.agent,
        timezone=request.timezone,
        warn_at=list(request.warn_at),
        checked_at=now,
    )
    check.summary = summary_line(check)
    return check


def summary_line(check: BudgetCheck) -> str:
    """One line for cron mail and Nagios-style checks, with performance data after `|`."""
    who = f"{check.agent} " if check.agent else ""
    parts = []
    perf = []
    warn = min(check.warn_at) if check.warn_at else 100.0
    for status in check.budgets:
        name = status.scope.rsplit(":", 1)[-1]
        text = (
            f"{who}{name} {_money(status.spend_usd)} of {_money(status.budget_usd)} "
            f"({status.percent:.1f}%"
        )
        if status.severity != "info":
            reached = max(t for t in status.crossed) if status.crossed else 100
            text += f", over {reached}%"
        text += ")"
        if status.unpriced_requests:
            text += f" +{status.unpriced_requests} unpriced call(s)"
        parts.append(text)
        budget = status.budget_usd
        perf.append(
            f"{name}_usd={_plain(status.spend_usd)};{_plain(budget * Decimal(warn) / 100)};"
            f"{_plain(budget)};0"
        )
    spike = check.spike
    if spike is not None and spike.is_spike and spike.baseline_avg_usd:
        ratio = spike.today_usd / spike.baseline_avg_usd
        parts.append(
            f"spike: today {_money(spike.today_usd)} is {ratio:.1f}x the "
            f"{spike.baseline_days}-day average {_money(spike.baseline_avg_usd)}"
        )
    body = "; ".join(parts) if parts else "no budget set"
    line = f"BUDGET {check.severity.upper()} - {body}"
    return line + (" | " + " ".join(perf) if perf else "")


def _plain(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-6")).normalize(), "f")


def unknown_line(reason: str) -> str:
    return f"BUDGET UNKNOWN - {reason}"


def alerts_for(check: BudgetCheck) -> list[Alert]:
    """Every crossing the check shows (warning or above), new or not."""
    alerts = []
    for status in check.budgets:
        for threshold in status.crossed:
            alerts.append(
                Alert(
                    scope=status.scope,
                    threshold_pct=threshold,
                    period=status.period,
                    message=(
                        f"{status.scope} spend {_money(status.spend_usd)} reached {threshold}% "
                        f"of {_money(status.budget_usd)} ({status.percent:.1f}%, {status.period})"
                    ),
                )
            )
    spike = check.spike
    if spike is not None and spike.is_spike:
        alerts.append(
            Alert(
                scope=spike.scope,
                threshold_pct=int(spike.factor * 100),
                period=spike.period,
                message=(
                    f"{spike.scope}: today's spend {_money(spike.today_usd)} is over "
                    f"{spike.factor}x the trailing daily average "
                    f"{_money(spike.baseline_avg_usd or Decimal(0))}"
                ),
            )
        )
    return alerts


async def claim_alerts(engine: AsyncEngine, alerts: Sequence[Alert]) -> list[Alert]:
    """Record the crossings; returns the ones no earlier run recorded (to notify now)."""
    from salesctl.db.models.analytics import BudgetAlert

    if not alerts:
        return []
    table = BudgetAlert.__table__
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    claimed = []
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for alert in alerts:
            result = await conn.execute(
                insert(table)
                .values(
                    scope=alert.scope,
                    threshold_pct=alert.threshold_pct,
                    period=alert.period,
                    notified_at=now,
                )
                .on_conflict_do_nothing(index_elements=["scope", "threshold_pct", "period"])
                .returning(table.c.id)
            )
            if result.first() is not None:
                claimed.append(alert)
    return claimed


async def release_alerts(engine: AsyncEngine, alerts: Sequence[Alert]) -> None:
    """Forget claimed crossings whose notification failed, so the next run retries."""
    from sqlalchemy import and_, delete, or_

    from salesctl.db.models.analytics import BudgetAlert

    if not alerts:
        return
    table = BudgetAlert.__table__
    async with engine.begin() as conn:
        await conn.execute(
            delete(table).where(
                or_(
                    *(
                        and_(
                            table.c.scope == a.scope,
                            table.c.threshold_pct == a.threshold_pct,
                            table.c.period == a.period,
                        )
                        for a in alerts
                    )
                )
            )
        )


def notification(check: BudgetCheck, alerts: Sequence[Alert]) -> dict[str, Any]:
    """The JSON posted: Slack's `text`, plus the details for other receivers."""
    lines = [f"salesctl budget {check.severity.upper()}: {check.summary.split(' | ')[0]}"]
    lines += [f"• {a.message}" for a in alerts]
    return {
        "text": "\n".join(lines),
        "severity": check.severity,
        "alerts": [
            {"scope": a.scope, "threshold_pct": a.threshold_pct, "period": a.period} for a in alerts
        ],
    }


async def post_alert(url: str, payload: dict[str, Any], *, timeout_s: float) -> None:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, json=payload)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise NotifyError(f"notify {url!r} failed: {reason}") from exc
    if response.status_code >= 300:
        raise NotifyError(f"notify {url!r} answered HTTP {response.status_code}")


async def run_budget_check(
    engine: AsyncEngine,
    request: BudgetRequest,
    *,
    notify_url: str | None = None,
    timeout_s: float = NOTIFY_TIMEOUT_S,
    now: datetime | None = None,
) -> BudgetCheck:
    """Fold, check, and (with `notify_url`) post the crossings no earlier run notified."""
    from salesctl.db.session import session_factory
    from salesctl.reports.rollups import fold

    await fold(engine)
    async with session_factory(engine)() as session, session.begin():
        check = await check_budgets(session, request, now=now)
    if notify_url is None or check.severity == "info":
        return check
    new = await claim_alerts(engine, alerts_for(check))
    check.new_alerts = new
    if not new:
        return check
    try:
        await post_alert(notify_url, notification(check, new), timeout_s=timeout_s)
    except NotifyError as exc:
        await release_alerts(engine, new)
        check.notify_error = str(exc)
        return check
    check.notified = True
    return check
