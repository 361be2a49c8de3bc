"""Renderers drawn on a fixed-width, colourless console and read back as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from salesctl.crm import render
from salesctl.crm.csv_import import ExistingRow, ImportReport, RowProblem
from salesctl.crm.records import DealRecord, LeadCost, LeadDetail, LeadRecord, Pipeline, StageTotal
from salesctl.errors import ConfigError

NOW = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)


def text_of(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.export_text()


def lead(**overrides: Any) -> LeadRecord:
    values: dict[str, Any] = {
        "id": 7,
        "company_name": "Northwind Analytics",
        "contact_name": "Dana Ruiz",
        "contact_email": "dana@northwind.example",
        "contact_title": "VP Sales",
        "phone": None,
        "industry": "SaaS",
        "employees": 1250,
        "website": "northwind.example",
        "region": "North America",
        "notes": None,
        "status": "qualified",
        "qualification_score": 87,
        "qualification_tier": "hot",
        "qualification_reasoning": "VP Sales at a 1,250-person SaaS company in North America.",
        "qualified_at": NOW,
        "enrichment": None,
        "insights": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return LeadRecord(**{**values, **overrides})


def deal(**overrides: Any) -> DealRecord:
    values: dict[str, Any] = {
        "id": 3,
        "lead_id": 7,
        "company_name": "Northwind Analytics",
        "name": "Annual plan",
        "stage": "proposal",
        "amount": Decimal("48000.00"),
        "close_date": date(2025, 3, 31),
        "next_step": "Security review",
        "stage_changed_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return DealRecord(**{**values, **overrides})


def test_leads_table_shows_one_line_per_lead() -> None:
    text = text_of(render.leads_table([lead(), lead(id=12, company_name="Acme", employees=None)]))
    rows = [line for line in text.splitlines() if "Northwind" in line or "Acme" in line]
    assert len(rows) == 2
    assert "Dana Ruiz" in rows[0]
    assert "1,250" in rows[0]
    assert "87" in rows[0]
    assert "hot" in rows[0]
    assert "—" in rows[1]


def test_narrow_terminal_drops_columns_instead_of_wrapping() -> None:
    text = text_of(render.leads_table([lead()]), width=60)
    header = text.splitlines()[0]
    assert "Region" not in header
    assert "Industry" not in header
    assert "(Title, Industry, Employees, Region: left out at this width;" in text
    lines = [line for line in text.splitlines() if "Northwind" in line]
    assert len(lines) == 1
    assert "87" in lines[0]
    assert all(len(line) <= 60 for line in text.splitlines())


def test_lead_panel_shows_qualification_deals_enrichment_and_cost() -> None:
    detail = LeadDetail(
        **lead(
            enrichment={"funding": "Series C", "tech_stack": ["HubSpot", "Snowflake"]}
        ).model_dump(),
        deals=[deal()],
        ai_cost=LeadCost(
            total_cost_usd=Decimal("0.0012345"),
            total_requests=3,
            unpriced_requests=1,
            agents_used=["enrichment", "qualification"],
        ),
    )
    text = text_of(render.lead_panel(detail, ZoneInfo("Europe/Berlin")))
    assert "Lead 7: Northwind Analytics" in text
    assert "Dana Ruiz · VP Sales" in text
    assert "87 (hot)" in text
    assert "2025-01-15 10:30" in text  # shown in the configured time zone
    assert "Series C" in text
    assert '["HubSpot", "Snowflake"]' in text
    assert "Annual plan" in text
    assert "$48,000.00" in text
    assert "$0.001235 over 3 calls, 1 of them unpriced (not in the total)" in text
    assert "(enrichment, qualification)" in text


def test_lead_panel_for_a_fresh_lead_says_what_to_run() -> None:
    detail = LeadDetail(
        **lead(qualification_score=None, qualification_tier=None, qualified_at=None).model_dump(),
        deals=[],
        ai_cost=LeadCost(
            total_cost_usd=Decimal(0), total_requests=0, unpriced_requests=0, agents_used=[]
        ),
    )
    text = text_of(render.lead_panel(detail))
    assert "run `salesctl qualify --lead 7`" in text
    assert "run `salesctl enrich --lead 7`" in text
    assert "salesctl deals add --lead 7" in text
    assert "no AI calls yet" in text


def test_pipeline_view_totals_per_stage() -> None:
    pipeline = Pipeline(
        deals=[deal(), deal(id=4, name="Pilot", amount=None, stage="negotiation")],
        by_stage=[
            StageTotal(stage="proposal", deals=1, total_amount=Decimal("48000.00")),
            StageTotal(stage="negotiation", deals=1, total_amount=None),
        ],
        total_amount=Decimal("48000.00"),
    )
    text = text_of(render.pipeline_view(pipeline))
    assert "Security review" in text
    totals = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert totals["proposal"] == ["1", "$48,000.00"]
    assert totals["negotiation"] == ["1", "—"]
    assert totals["all"] == ["2", "$48,000.00"]


def test_import_lines_and_failure() -> None:
    report = ImportReport(
        file="leads.csv",
        committed=False,
        rows_read=4,
        imported=0,
        lead_ids=[],
        invalid=[RowProblem(3, ["employees 'x' is not a whole number"])],
        already_present=[ExistingRow(5, 12)],
        columns={"Company": "company_name"},
        ignored_columns=["Record ID"],
    )
    assert render.problem_lines(report) == ["line 3: employees 'x' is not a whole number"]
    assert render.import_lines(report) == [
        "columns used: Company → company_name",
        "columns ignored: Record ID (see --map)",
        "skipped 1 already in the database (lines 5)",
    ]
    assert render.import_failure(report) == (
        "1 of 4 rows is invalid in leads.csv; nothing imported "
        "(fix it, or pass --skip-invalid to import the 2 valid ones)"
    )


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        render.display_zone("Mars/Olympus")
