"""Judgements the chat tools hand to the model: deal risks, account health, onboarding.

Computed here from the database rather than left to the model, so every provider the router picks
sees the same facts, and tests can pin them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from salesctl.db.models import Deal, Lead
from salesctl.vocabulary import OPEN_DEAL_STAGES, OpenDealStage

STALL_DAYS = 14
"""An open deal that has sat in one stage longer than this is stalled."""

EARLY_STAGES: tuple[OpenDealStage, ...] = ("prospecting", "qualification")


def days_between(earlier: datetime, later: datetime) -> int:
    return max(0, (later - earlier).days)


@dataclass(frozen=True, slots=True)
class DealRisk:
    code: Literal[
        "stalled", "overdue", "closing_soon_early_stage", "no_next_step", "no_amount", "weak_lead"
    ]
    detail: str


def deal_risks(deal: Deal, lead: Lead | None, now: datetime) -> list[DealRisk]:
    """What stands in an open deal's way, from its own fields and its lead's."""
    if deal.stage not in OPEN_DEAL_STAGES:
        return []
    risks: list[DealRisk] = []
    in_stage = days_between(deal.stage_changed_at, now)
    if in_stage > STALL_DAYS:
        risks.append(DealRisk("stalled", f"{in_stage} days in {deal.stage} (over {STALL_DAYS})"))
    today = now.date()
    if deal.close_date is not None:
        if deal.close_date < today:
            late = (today - deal.close_date).days
            passed = f"close date {deal.close_date} passed {late} days ago"
            risks.append(DealRisk("overdue", passed))
        elif deal.close_date <= today + timedelta(days=14) and deal.stage in EARLY_STAGES:
            risks.append(
                DealRisk(
                    "closing_soon_early_stage",
                    f"closes {deal.close_date} but is still in {deal.stage}",
                )
            )
    if not (deal.next_step or "").strip():
        risks.append(DealRisk("no_next_step", "no next step recorded"))
    if deal.amount is None:
        risks.append(DealRisk("no_amount", "no amount recorded"))
    if lead is not None and (lead.status == "disqualified" or lead.qualification_tier == "cold"):
        why = "disqualified" if lead.status == "disqualified" else "rated cold"
        risks.append(DealRisk("weak_lead", f"the lead is {why}"))
    return risks


@dataclass(frozen=True, slots=True)
class OnboardingStep:
    key: str
    label: str
    due_day: int
    """Days after the deal was won by which the step should be done."""


ONBOARDING_STEPS: tuple[OnboardingStep, ...] = (
    OnboardingStep("kickoff", "Kickoff call held", 3),
    OnboardingStep("technical_setup", "Accounts provisioned and integrations connected", 14),
    OnboardingStep("training", "Users trained", 21),
    OnboardingStep("first_value", "First value milestone reached", 30),
    OnboardingStep("check_in_30", "30-day check-in held", 35),
    OnboardingStep("qbr", "First quarterly business review held", 90),
)
ONBOARDING_KEYS = tuple(step.key for step in ONBOARDING_STEPS)

StepStatus = Literal["done", "overdue", "due_soon", "upcoming"]


def completed_steps(lead: Lead) -> dict[str, str]:
    """Onboarding steps marked done, step key → ISO date, from the lead's insights."""
    record = (lead.insights or {}).get("onboarding") or {}
    completed = record.get("completed") if isinstance(record, dict) else None
    return {str(k): str(v) for k, v in completed.items()} if isinstance(completed, dict) else {}


def won_on(deals: list[Deal]) -> date | None:
    """When the account was won: the earliest closed-won deal's stage change."""
    won = [d.stage_changed_at.date() for d in deals if d.stage == "closed_won"]
    return min(won) if won else None


def onboarding_progress(lead: Lead, deals: list[Deal], now: datetime) -> dict[str, Any]:
    """Each onboarding step with its status, counted from the day the account was won."""
    start = won_on(deals)
    done = completed_steps(lead)
    today = now.date()
    steps = []
    for step in ONBOARDING_STEPS:
        due = start + timedelta(days=step.due_day) if start else None
        status: StepStatus
        if step.key in done:
            status = "done"
        elif due is not None and due < today:
            status = "overdue"
        elif due is not None and due <= today + timedelta(days=7):
            status = "due_soon"
        else:
            status = "upcoming"
        steps.append(
            {
                "step": step.key,
                "label": step.label,
                "due": due.isoformat() if due else None,
                "status": status,
                "completed_on": done.get(step.key),
            }
        )
    finished = sum(1 for s in steps if s["status"] == "done")
    return {
        "won_on": start.isoformat() if start else None,
        "completed": finished,
        "total": len(steps),
        "percent": round(100 * finished / len(steps)),
        "steps": steps,
    }


_RISK_WORDS = re.compile(
    r"\b(cancel\w*|churn\w*|unhappy|frustrat\w*|complain\w*|downgrad\w*|escalat\w*|"
    r"competitor\w*|outage\w*|refund\w*)\b",
    re.IGNORECASE,
)
_GOOD_WORDS = re.compile(
    r"\b(happy|expan\w*|upsell\w*|renew\w*|champion\w*|delighted|great|referr\w*)\b",
    re.IGNORECASE,
)

HealthStatus = Literal["healthy", "watch", "at_risk"]


def account_health(lead: Lead, deals: list[Deal], now: datetime) -> dict[str, Any]:
    """A 0–100 health score for a won account, the signals behind it, and renewal risk."""
    score = 80
    signals: list[str] = []
    notes = lead.notes or ""
    risk_hits = sorted({m.lower() for m in _RISK_WORDS.findall(notes)})
    if risk_hits:
        score -= min(45, 15 * len(risk_hits))
        signals.append("notes mention " + ", ".join(risk_hits))
    good_hits = sorted({m.lower() for m in _GOOD_WORDS.findall(notes)})
    if good_hits:
        score += min(15, 5 * len(good_hits))
        signals.append("positive notes: " + ", ".join(good_hits))
    quiet = days_between(lead.updated_at, now)
    if quiet > 60:
        score -= 20
        signals.append(f"no activity for {quiet} days")
    elif quiet > 30:
        score -= 10
        signals.append(f"no activity for {quiet} days")
    progress = onboarding_progress(lead, deals, now)
    overdue = [s["step"] for s in progress["steps"] if s["status"] == "overdue"]
    if overdue:
        score -= min(25, 5 * len(overdue))
        signals.append("onboarding overdue: " + ", ".join(overdue))
    start = won_on(deals)
    if any(d.stage == "closed_lost" and start and d.stage_changed_at.date() > start for d in deals):
        score -= 10
        signals.append("a later deal was lost")
    score = max(0, min(100, score))
    status: HealthStatus = "healthy" if score >= 70 else "watch" if score >= 40 else "at_risk"
    renewal = start + timedelta(days=365) if start else None
    days_to_renewal = (renewal - now.date()).days if renewal else None
    renewal_risk: Literal["low", "medium", "high"]
    if status == "at_risk" or (
        status == "watch" and days_to_renewal is not None and days_to_renewal <= 90
    ):
        renewal_risk = "high"
    elif status == "watch":
        renewal_risk = "medium"
    else:
        renewal_risk = "low"
    return {
        "score": score,
        "status": status,
        "signals": signals or ["no warning signs in notes or activity"],
        "renewal_date": renewal.isoformat() if renewal else None,
        "days_to_renewal": days_to_renewal,
        "renewal_risk": renewal_risk,
        "onboarding_percent": progress["percent"],
    }
