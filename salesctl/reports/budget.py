"""`budget check`: spend against daily/monthly budgets, the forecast, spikes, and notify-once
alert state (the forecast and spike rules are in `forecast`).

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
from salesctl.reports.forecast import Anomaly, Forecast, anomalies, forecast, read_pattern

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2, "unknown": 3}
EXIT_CODES: dict[str, int] = SEVERITY_RANK
DEFAULT_WARN_AT = (80.0,)
SPIKE_FACTOR = Decimal(3)
BASELINE_DAYS = 7
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
    forecast: Forecast
    anomalies: list[Anomaly]
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


def parse_factor(text: str | None, flag: str = "--spike-factor") -> Decimal | None:
    """A spike factor above 1 (`3`, `2.5`, `3x`)."""
    from decimal import InvalidOperation

    if text is None or text == "":
        return None
    try:
        value = Decimal(str(text).strip().rstrip("xX"))
    except InvalidOperation:
        raise InvalidInput(f"{flag} {text!r} is not a number (e.g. {flag} 3)") from None
    if not value.is_finite() or value <= 1:
        raise InvalidInput(f"{flag} {text!r} must be above 1 (spend that many times the usual)")
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
    from salesctl.money import usd

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
    """Spend today and this month (local days) against the budgets, the forecast, spikes."""
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
    history = sum(
        1 for i in range(1, BASELINE_DAYS + 1) if per_day[today - timedelta(days=i)][0] > 0
    )
    pattern = await read_pattern(session, filters, now=now)
    spent_today = per_day[today][0]
    spent_month = sum((per_day[d][0] for d in days if d >= month_start(today)), Decimal(0))
    outlook = forecast(
        pattern,
        zone=zone,
        today=today,
        spent_today=spent_today,
        spent_month=spent_month,
        monthly_budget=request.monthly_usd,
    )
    found = anomalies(
        pattern,
        zone=zone,
        today=today,
        spent_today=spent_today,
        history_days=history,
        factor=request.spike_factor,
        prefix=prefix,
    )
    if any(a.is_spike for a in found):  # rare: read again per agent and model, to name them
        pattern = await read_pattern(session, filters, now=now, by_key=True)
        found = anomalies(
            pattern,
            zone=zone,
            today=today,
            spent_today=spent_today,
            history_days=history,
            factor=request.spike_factor,
            prefix=prefix,
        )
    ranks = [SEVERITY_RANK[b.severity] for b in budgets]
    ranks += [1 for a in found if a.is_spike]
    if outlook.crosses_at is not None:
        ranks.append(1)  # the forecast reaches the monthly budget before the spend does
    severity: Severity = ("info", "warning", "critical")[max(ranks, default=0)]
    check = BudgetCheck(
        severity=severity,
        summary="",
        budgets=budgets,
        forecast=outlook,
        anomalies=found,
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
        if name == "monthly":
            text += f"; forecast {_money(check.forecast.month_end_usd)}"
            if check.forecast.crosses_at is not None:
                text += f", crossing {_local(check.forecast.crosses_at, check.timezone)}"
        text += ")"
        if status.unpriced_requests:
            text += f" +{status.unpriced_requests} unpriced call(s)"
        parts.append(text)
        budget = status.budget_usd
        perf.append(
            f"{name}_usd={_plain(status.spend_usd)};{_plain(budget * Decimal(warn) / 100)};"
            f"{_plain(budget)};0"
        )
        if name == "monthly":
            perf.append(
                f"monthly_forecast_usd={_plain(check.forecast.month_end_usd)};;{_plain(budget)};0"
            )
    for anomaly in check.anomalies:
        if anomaly.is_spike:
            parts.append("spike: " + spike_text(anomaly))
    body = "; ".join(parts) if parts else "no budget set"
    line = f"BUDGET {check.severity.upper()} - {body}"
    return line + (" | " + " ".join(perf) if perf else "")


def spike_text(anomaly: Anomaly) -> str:
    """`last hour $5.20 is 8.1x the usual $0.64 (marketing on claude:claude-sonnet-4-5)`."""
    usual = anomaly.usual_usd or Decimal(0)
    ratio = anomaly.spend_usd / usual if usual else Decimal(0)
    what = "last hour" if anomaly.window == "last_hour" else "today"
    text = f"{what} {_money(anomaly.spend_usd)} is {ratio:.1f}x the usual {_money(usual)}"
    if anomaly.window == "today":
        text += " by this time"
    driver = anomaly.driver
    if driver is not None:
        text += f" ({driver.agent_type} on {driver.provider}:{driver.model})"
    return text


def _local(instant: datetime, zone_name: str) -> str:
    return instant.astimezone(load_zone(zone_name)).strftime("%Y-%m-%d %H:%M %Z")


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
        crosses_at = check.forecast.crosses_at
        if status.scope.endswith("monthly") and crosses_at is not None:
            alerts.append(
                Alert(
                    scope=f"{status.scope}-forecast",
                    threshold_pct=100,
                    period=status.period,
                    message=(
                        f"{status.scope} spend is forecast to reach {_money(status.budget_usd)} "
                        f"around {_local(crosses_at, check.timezone)} "
                        f"({_money(check.forecast.month_end_usd)} by the end of {status.period})"
                    ),
                )
            )
    for anomaly in check.anomalies:
        if anomaly.is_spike:
            alerts.append(
                Alert(
                    scope=anomaly.scope,
                    threshold_pct=int(anomaly.factor * 100),
                    period=anomaly.period,
                    message=f"{anomaly.scope}: {spike_text(anomaly)}",
                )
            )
    return alerts


async def claim_alerts(engine: AsyncEngine, alerts: Sequence[Alert]) -> list[Alert]:
    """Record the crossings; returns the ones no earlier run recorded (to notify now)."""
    from salesctl.db.models.analytics import BudgetAlert

    if not alerts:
        return []
    table = BudgetAlert.__table__
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
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
