"""Deal risks, account health and onboarding progress: the facts the chat tools hand over."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from salesctl.agents.chat.assessments import account_health, deal_risks, onboarding_progress
from salesctl.db.models import Deal, Lead

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


def lead(**fields: object) -> Lead:
    return Lead(
        id=1,
        company_name="Acme",
        status="customer",
        updated_at=NOW,
        **fields,  # type: ignore[arg-type]
    )


def deal(stage: str, *, days_in_stage: int = 0, **fields: object) -> Deal:
    return Deal(
        id=1,
        lead_id=1,
        name="Acme rollout",
        stage=stage,
        stage_changed_at=NOW - timedelta(days=days_in_stage),
        **fields,  # type: ignore[arg-type]
    )


def test_an_open_deal_lists_each_thing_in_its_way() -> None:
    late = deal(
        "qualification",
        days_in_stage=20,
        close_date=date(2025, 6, 1),
        amount=Decimal("1000.00"),
    )
    assert [r.code for r in deal_risks(late, lead(qualification_tier="cold"), NOW)] == [
        "stalled",
        "overdue",
        "no_next_step",
        "weak_lead",
    ]
    soon = deal("prospecting", close_date=date(2025, 7, 7), next_step="call", amount=Decimal(1))
    assert [r.detail for r in deal_risks(soon, None, NOW)] == [
        "closes 2025-07-07 but is still in prospecting"
    ]
    assert deal_risks(deal("closed_won", days_in_stage=400), None, NOW) == []


def test_onboarding_counts_from_the_win_and_marks_done_steps() -> None:
    won = [deal("closed_won", days_in_stage=20)]
    account = lead(insights={"onboarding": {"completed": {"kickoff": "2025-06-12"}}})
    progress = onboarding_progress(account, won, NOW)
    statuses = {s["step"]: s["status"] for s in progress["steps"]}
    assert statuses == {
        "kickoff": "done",
        "technical_setup": "overdue",
        "training": "due_soon",
        "first_value": "upcoming",
        "check_in_30": "upcoming",
        "qbr": "upcoming",
    }
    assert (progress["won_on"], progress["completed"], progress["percent"]) == (
        "2025-06-10",
        1,
        17,
    )


def test_health_falls_with_warning_signs_and_raises_renewal_risk() -> None:
    won = [deal("closed_won", days_in_stage=300)]
    quiet_and_unhappy = lead(notes="Unhappy with support; mentioned a competitor.")
    quiet_and_unhappy.updated_at = NOW - timedelta(days=70)
    health = account_health(quiet_and_unhappy, won, NOW)
    assert health["status"] == "at_risk"
    assert health["renewal_risk"] == "high"
    assert health["days_to_renewal"] == 65
    assert health["signals"][0] == "notes mention competitor, unhappy"

    steps_done = {key: "2025-01-01" for key in ("kickoff", "technical_setup", "training")}
    steps_done |= {"first_value": "2025-01-01", "check_in_30": "2025-01-01", "qbr": "2025-01-01"}
    content = lead(
        notes="Champion renewed early", insights={"onboarding": {"completed": steps_done}}
    )
    assert account_health(content, won, NOW)["status"] == "healthy"
