"""The lead tools: search, top leads, one lead's details, and adding a note (a write)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.chat import queries
from salesctl.agents.chat.context import ChatContext, PlannedChange
from salesctl.agents.chat.tools.framework import Args, Tool, WriteRefused
from salesctl.agents.chat.tools.records import (
    LeadRefArgs,
    claim_for_write,
    deal_summary,
    deals_of,
    lead_by_id,
    lead_summary,
    resolve_lead,
)
from salesctl.db.base import utcnow
from salesctl.db.models import Lead
from salesctl.db.queries import leads as lead_queries
from salesctl.vocabulary import LeadStatus, LeadTier


class SearchLeadsArgs(Args):
    query: str = Field(
        min_length=1, max_length=200, description="Text to find in company, contact or industry."
    )
    status: LeadStatus | None = Field(None, description="Only leads with this status.")
    limit: int = Field(10, ge=1, le=50, description="How many leads at most.")


async def _search_leads(args: SearchLeadsArgs, session: AsyncSession, now: datetime) -> Any:
    leads = await queries.search_leads(
        session=session, query=args.query, status=args.status, limit=args.limit
    )
    return {"query": args.query, "leads": [lead_summary(lead) for lead in leads]}


SEARCH_LEADS = Tool(
    "search_leads",
    "Search leads by company name, contact, email, industry or region.",
    SearchLeadsArgs,
    read=_search_leads,
)


class TopLeadsArgs(Args):
    limit: int = Field(5, ge=1, le=50, description="How many leads to show.")
    tier: LeadTier | None = Field(None, description="Only leads in this qualification tier.")


async def _top_leads(args: TopLeadsArgs, session: AsyncSession, now: datetime) -> Any:
    leads = await lead_queries.list_leads(
        session=session, tier=args.tier, min_score=0, sort="score", limit=args.limit
    )
    return {"leads": [lead_summary(lead) for lead in leads]}


TOP_LEADS = Tool(
    "top_leads",
    "Show the top leads ranked by qualification score (best first).",
    TopLeadsArgs,
    read=_top_leads,
)


async def _lead_details(args: LeadRefArgs, session: AsyncSession, now: datetime) -> Any:
    lead = await resolve_lead(args, session)
    deals = await deals_of(session, lead.id)
    return {
        **lead_summary(lead),
        "email": lead.contact_email,
        "phone": lead.phone,
        "website": lead.website,
        "notes": lead.notes,
        "qualification_reasoning": lead.qualification_reasoning,
        "enrichment": lead.enrichment,
        "insights": lead.insights,
        "deals": [deal_summary(d, lead.company_name, now) for d in deals],
    }


LEAD_DETAILS = Tool(
    "lead_details",
    "Everything known about one lead (by id or company name): contact, score, notes, "
    "enrichment, insights and its deals.",
    LeadRefArgs,
    read=_lead_details,
)


class AddNoteArgs(Args):
    lead_id: int = Field(ge=1, description="The lead to add the note to.")
    note: str = Field(min_length=1, max_length=2000, description="The note, as the user gave it.")


async def _plan_note(args: AddNoteArgs, session: AsyncSession, ctx: ChatContext) -> PlannedChange:
    lead = await lead_by_id(session, args.lead_id)
    names = (lead.company_name, lead.contact_name)
    if not ctx.user_words.names_record("lead", lead.id, names):
        raise WriteRefused(f"the user never named lead {lead.id} ({lead.company_name})")
    before = _gist(lead.notes, 40) if lead.notes else None
    after = f"{_gist(lead.notes, 20)} + {args.note}" if lead.notes else args.note
    return PlannedChange(
        "add_lead_note", f"lead {lead.id} {lead.company_name!r}", (("notes", before, after),)
    )


def _gist(text: str, limit: int) -> str:
    """Text on one line, cut after a word within `limit` characters (a note diff shows what
    is kept)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ;,.") + "…"


async def _apply_note(
    args: AddNoteArgs, session: AsyncSession, ctx: ChatContext, change: PlannedChange
) -> dict[str, Any]:
    now = utcnow()
    await claim_for_write(session, Lead, args.lead_id, now)
    lead = await lead_by_id(session, args.lead_id)
    line = await queries.append_lead_note(
        session=session, lead=lead, note=args.note, author=ctx.actor, now=now
    )
    return {"lead_id": lead.id, "note_added": line}


ADD_LEAD_NOTE = Tool(
    "add_lead_note",
    "Add a note to a lead's record (a write: the user confirms it). Only when the user asks.",
    AddNoteArgs,
    plan=_plan_note,
    apply=_apply_note,
    intent_words=("note", "notes", "log", "record", "jot", "remember", "write down"),
)
