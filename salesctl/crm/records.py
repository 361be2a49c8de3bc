"""What lead and deal commands return: plain data that renderers draw and `--json` prints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class LeadRecord(BaseModel):
    """A lead as stored, every column."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    company_name: str
    contact_name: str | None
    contact_email: str | None
    contact_title: str | None
    phone: str | None
    industry: str | None
    employees: int | None
    website: str | None
    region: str | None
    notes: str | None
    status: str
    qualification_score: int | None
    qualification_tier: str | None
    qualification_reasoning: str | None
    qualified_at: datetime | None
    enrichment: dict[str, Any] | None
    insights: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class DealRecord(BaseModel):
    """A deal with its lead's company name."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    lead_id: int
    company_name: str
    name: str
    stage: str
    amount: Decimal | None
    close_date: date | None
    next_step: str | None
    stage_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class LeadCost(BaseModel):
    """The AI spend on one lead, from `ai_cost_tracking` (None when every call was unpriced)."""

    total_cost_usd: Decimal | None
    total_requests: int
    unpriced_requests: int
    agents_used: list[str]


class LeadDetail(LeadRecord):
    """`leads show`: the lead, its deals and what the agents have spent on it."""

    deals: list[DealRecord]
    ai_cost: LeadCost


class StageTotal(BaseModel):
    """One pipeline stage: how many deals and their summed amount (None if none has one)."""

    stage: str
    deals: int
    total_amount: Decimal | None


class Pipeline(BaseModel):
    """`deals list`: the deals, and a total per stage in pipeline order."""

    deals: list[DealRecord]
    by_stage: list[StageTotal]
    total_amount: Decimal | None


class DealMove(BaseModel):
    """`deals move`: the deal after the move and the stage it came from."""

    deal: DealRecord
    previous_stage: str
    moved: bool


def deal_record(deal: Any, company_name: str) -> DealRecord:
    """A stored deal (ORM row) with its lead's company, as plain data."""
    values = {
        name: getattr(deal, name) for name in DealRecord.model_fields if name != "company_name"
    }
    return DealRecord.model_validate({**values, "company_name": company_name})
