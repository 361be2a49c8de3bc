"""A lead as the agents see it: a frozen copy of its row, safe to pass between tasks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesctl.db.models.crm import Deal, Lead


@dataclass(frozen=True, slots=True)
class DealSnapshot:
    """The lead's open deal, for the BDR agent's next step."""

    id: int
    name: str
    stage: str
    next_step: str | None

    @classmethod
    def of(cls, deal: Deal) -> DealSnapshot:
        return cls(id=deal.id, name=deal.name, stage=deal.stage, next_step=deal.next_step)


@dataclass(frozen=True, slots=True)
class LeadSnapshot:
    id: int
    company_name: str
    contact_name: str | None = None
    contact_email: str | None = None
    contact_title: str | None = None
    phone: str | None = None
    industry: str | None = None
    employees: int | None = None
    website: str | None = None
    region: str | None = None
    notes: str | None = None
    status: str = "new"
    qualification_score: int | None = None
    qualification_tier: str | None = None
    enrichment: dict[str, Any] | None = None
    insights: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, lead: Lead) -> LeadSnapshot:
        return cls(
            id=lead.id,
            company_name=lead.company_name,
            contact_name=lead.contact_name,
            contact_email=lead.contact_email,
            contact_title=lead.contact_title,
            phone=lead.phone,
            industry=lead.industry,
            employees=lead.employees,
            website=lead.website,
            region=lead.region,
            notes=lead.notes,
            status=lead.status,
            qualification_score=lead.qualification_score,
            qualification_tier=lead.qualification_tier,
            enrichment=dict(lead.enrichment) if lead.enrichment else None,
            insights=dict(lead.insights or {}),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LeadSnapshot:
        """From a `leads` row read with a Core select."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        values["insights"] = dict(values.get("insights") or {})
        return cls(**values)

    def profile(self) -> dict[str, Any]:
        """The lead's own fields for a prompt (no ids, no empty values, no agent outputs)."""
        skip = {"id", "enrichment", "insights", "qualification_score", "qualification_tier"}
        return {k: v for k, v in asdict(self).items() if k not in skip and v not in (None, "")}
