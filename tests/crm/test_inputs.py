"""Lead and deal validation: readable reasons, CRM-style values accepted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesctl.crm import inputs
from salesctl.db import models
from salesctl.errors import InvalidInput


def test_closed_sets_match_the_schema_and_the_cli() -> None:
    from salesctl.cli import deals as deals_cli
    from salesctl.cli import leads as leads_cli

    assert inputs.DEAL_STAGES == models.DEAL_STAGES == deals_cli.STAGES
    assert inputs.LEAD_STATUSES == models.LEAD_STATUSES == leads_cli.STATUSES
    assert inputs.LEAD_TIERS == models.LEAD_TIERS == leads_cli.TIERS


def test_a_full_lead_is_cleaned_up() -> None:
    lead = inputs.lead_input(
        {
            "company_name": "  Acme   Corp ",
            "contact_name": " Dana Ruiz ",
            "contact_email": "dana@acme.example",
            "employees": "1,200",
            "website": "acme.example",
            "notes": "",
            "status": "Working - Contacted",
        }
    )
    assert lead.company_name == "Acme Corp"
    assert lead.contact_name == "Dana Ruiz"
    assert lead.employees == 1200
    assert lead.notes is None
    assert lead.status == "working"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NEW", "new"),
        ("IN_PROGRESS", "working"),
        ("Attempted to Contact", "working"),
        ("Open - Not Contacted", "new"),
        ("Closed - Not Converted", "disqualified"),
        ("UNQUALIFIED", "disqualified"),
        ("Closed - Converted", "customer"),
        ("", "new"),
    ],
)
def test_crm_lead_statuses_map_onto_ours(status: str, expected: str) -> None:
    assert inputs.lead_input({"company_name": "A", "status": status}).status == expected


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"company_name": "   "}, "--company is empty"),
        ({"company_name": "A", "employees": "fifty"}, "--employees 'fifty' is not a whole number"),
        ({"company_name": "A", "employees": "51-200"}, "'51-200' is not a whole number"),
        ({"company_name": "A", "employees": "-3"}, "--employees '-3' is negative"),
        ({"company_name": "A", "employees": "12.5"}, "'12.5' is not a whole number"),
        ({"company_name": "A", "contact_email": "bob@"}, "--email 'bob@' is not an email"),
        ({"company_name": "A", "website": "not a site"}, "is not a web address"),
        ({"company_name": "A", "status": "hot"}, "status 'hot' is not one of new, working"),
        ({"company_name": "x" * 256}, "--company is longer than 255 characters"),
    ],
)
def test_bad_lead_values_name_the_flag_and_the_problem(values: dict, reason: str) -> None:
    labels = {"company_name": "--company", "employees": "--employees", "contact_email": "--email"}
    with pytest.raises(InvalidInput, match=reason):
        inputs.lead_input(values, labels)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as raised:
        inputs.lead_input({"company_name": "A", "employees": "x", "contact_email": "y"})
    assert str(raised.value) == (
        "email 'y' is not an email address; employees 'x' is not a whole number"
    )


def test_deal_values() -> None:
    deal = inputs.deal_input(
        {
            "lead_id": 1,
            "name": "Renewal",
            "stage": "Closed Won",
            "amount": "$48,000.5",
            "close_date": "2025-03-31",
        }
    )
    assert deal.stage == "closed_won"
    assert deal.amount == Decimal("48000.5")
    assert deal.close_date == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"close_date": "31/03/2025"}, "--close-date '31/03/2025' is not a date: use YYYY-MM-DD"),
        ({"close_date": "2025-02-30"}, "'2025-02-30' is not a date"),
        ({"amount": "lots"}, "--amount 'lots' is not a number"),
        ({"amount": "10.999"}, "more than two decimal places"),
        ({"amount": "-5"}, "must be zero or more"),
        ({"amount": "1e15"}, "too large"),
        ({"stage": "won"}, "unknown stage 'won': valid stages are prospecting, qualification"),
        ({"name": " "}, "--name is empty"),
    ],
)
def test_bad_deal_values(values: dict, reason: str) -> None:
    labels = {"close_date": "--close-date", "amount": "--amount", "name": "--name"}
    with pytest.raises(InvalidInput, match=reason):
        inputs.deal_input({"lead_id": 1, "name": "D", **values}, labels)


def test_stage_and_tier_spellings() -> None:
    assert inputs.normalise_stage("closed-lost") == "closed_lost"
    assert inputs.normalise_stage(" Negotiation ") == "negotiation"
    assert inputs.normalise_tier("HOT") == "hot"
    with pytest.raises(InvalidInput, match="valid tiers are hot, warm, cold"):
        inputs.normalise_tier("lukewarm")
