"""`--estimate`: what a run would cost, before anything is spent.

Input tokens come from the prompts themselves (built for the selected leads, a sample of
them for large runs, at about four characters a token); output tokens from the agent's
recent tracked calls, or a typical figure when there are none. Each configured model is
priced with the same price book the gateway uses, so the alternatives compare fairly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from salesctl.agents import prompts
from salesctl.agents.bulk import bulk_scope, count_pending
from salesctl.agents.claims import pending_lead_ids
from salesctl.agents.context import ModelChoice
from salesctl.agents.icp import match_profile
from salesctl.agents.lead import LeadSnapshot
from salesctl.agents.meetings import meeting_slots
from salesctl.agents.selection import LeadSelection
from salesctl.agents.store import reading
from salesctl.db.base import utcnow
from salesctl.db.models.crm import Lead
from salesctl.db.models.runs import AgentRun
from salesctl.db.models.tracking import AICostTracking
from salesctl.llm.types import Usage
from salesctl.vocabulary import LeadAgentType

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.config import Settings

SAMPLE_LEADS = 200
CHARS_PER_TOKEN = 4
RECENT_DAYS = 30
TYPICAL_OUTPUT_TOKENS: dict[str, int] = {
    "qualification": 150,
    "enrichment": 400,
    "growth": 700,
    "marketing": 900,
    "bdr": 600,
    "conversation": 500,
}


@dataclass(frozen=True, slots=True)
class ModelEstimate:
    provider: str
    model: str
    chosen: bool
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    """None when no price is known for the model (never guessed as zero)."""
    price_source: str


@dataclass(frozen=True, slots=True)
class RecentRuns:
    """The agent's finished runs over the last days: what a lead actually cost."""

    runs: int
    avg_cost_usd: Decimal | None
    provider: str
    model: str


@dataclass(slots=True)
class RunEstimate:
    agent: LeadAgentType
    selection: str
    leads: int
    sampled: int
    avg_input_tokens: int
    avg_output_tokens: int
    output_basis: str
    models: list[ModelEstimate] = field(default_factory=list)
    recent: list[RecentRuns] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "selection": self.selection,
            "leads": self.leads,
            "sampled_leads": self.sampled,
            "avg_input_tokens_per_lead": self.avg_input_tokens,
            "avg_output_tokens_per_lead": self.avg_output_tokens,
            "output_basis": self.output_basis,
            "models": [
                {
                    "provider": m.provider,
                    "model": m.model,
                    "chosen": m.chosen,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cost_usd": m.cost_usd,
                    "price_source": m.price_source,
                }
                for m in self.models
            ],
            "recent_runs": [
                {
                    "provider": r.provider,
                    "model": r.model,
                    "runs": r.runs,
                    "avg_cost_usd": r.avg_cost_usd,
                }
                for r in self.recent
            ],
        }


def prompt_for(
    agent: LeadAgentType, lead: LeadSnapshot, settings: Settings, inputs: dict[str, Any]
) -> prompts.Prompt:
    """The prompt the agent would send for this lead (the same builders its graph uses)."""
    icp = settings.icp
    if agent == "qualification":
        return prompts.qualification_prompt(lead, icp, match_profile(lead, icp))
    if agent == "enrichment":
        sources = {"lead notes": lead.notes} if lead.notes else {}
        return prompts.enrichment_prompt(lead, {**sources, **inputs.get("documents", {})})
    if agent == "growth":
        return prompts.growth_prompt(lead)
    if agent == "marketing":
        return prompts.marketing_prompt(lead, icp)
    if agent == "bdr":
        return prompts.bdr_prompt(lead, None, meeting_slots(utcnow(), settings.timezone))
    return prompts.conversation_prompt(lead, inputs.get("transcript", ""))


def _schema_chars(agent: LeadAgentType) -> int:
    from salesctl.agents import schemas
    from salesctl.agents.structured import json_schema

    answer = {
        "qualification": schemas.QualificationAnswer,
        "enrichment": schemas.EnrichmentAnswer,
        "growth": schemas.GrowthAnswer,
        "marketing": schemas.MarketingAnswer,
        "bdr": schemas.BDRAnswer,
        "conversation": schemas.ConversationAnswer,
    }[agent]
    return len(json.dumps(json_schema(answer)))


async def estimate_run(
    agent: LeadAgentType,
    selection: LeadSelection,
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    choice: ModelChoice,
    force: bool = False,
    inputs: dict[str, Any] | None = None,
) -> RunEstimate:
    """Expected tokens and cost of running `agent` on the selection, for every model."""
    from salesctl.llm.pricing import PriceBook, configured_models

    inputs = inputs or {}
    async with reading(sessions) as session:
        if selection.explicit:
            leads = len(selection.lead_ids)
            sample_ids = list(selection.lead_ids[:SAMPLE_LEADS])
        else:
            scope = bulk_scope(agent, selection, force=force)
            leads = await count_pending(sessions, scope)
            sample_ids = await pending_lead_ids(session=session, scope=scope, limit=SAMPLE_LEADS)
        rows = (await session.scalars(select(Lead).where(Lead.id.in_(sample_ids)))).all()
        sample = [LeadSnapshot.of(row) for row in rows]
        output_tokens, basis = await _recent_output_tokens(session, agent)
        recent = await _recent_runs(session, agent)

    schema_chars = _schema_chars(agent)
    sizes = [prompt_for(agent, lead, settings, inputs).chars + schema_chars for lead in sample]
    avg_input = math.ceil(sum(sizes) / len(sizes) / CHARS_PER_TOKEN) if sizes else 0
    book = PriceBook.from_settings(settings, warn=lambda _message: None)
    now = utcnow()
    per_lead = Usage(input_tokens=avg_input, output_tokens=output_tokens)
    models = [(choice.provider, choice.model)]
    models += [m for m in configured_models(settings) if m not in models]
    estimates = []
    for provider, model in models:
        price = book.price_of(per_lead, provider, model, now)
        estimates.append(
            ModelEstimate(
                provider=provider,
                model=model,
                chosen=(provider, model) == (choice.provider, choice.model),
                input_tokens=avg_input * leads,
                output_tokens=output_tokens * leads,
                cost_usd=price.cost_usd * leads if price.cost_usd is not None else None,
                price_source=price.source,
            )
        )
    return RunEstimate(
        agent=agent,
        selection=selection.describe(),
        leads=leads,
        sampled=len(sample),
        avg_input_tokens=avg_input,
        avg_output_tokens=output_tokens,
        output_basis=basis,
        models=estimates,
        recent=recent,
    )


async def _recent_output_tokens(session: AsyncSession, agent: LeadAgentType) -> tuple[int, str]:
    since = utcnow() - timedelta(days=RECENT_DAYS)
    query = select(func.count(), func.avg(AICostTracking.completion_tokens)).where(
        AICostTracking.agent_type == agent,
        AICostTracking.status == "ok",
        AICostTracking.cache_hit.is_(False),
        AICostTracking.timestamp >= since,
    )
    calls, average = (await session.execute(query)).one()
    if calls and average is not None:
        basis = f"average of {calls} tracked calls (last {RECENT_DAYS} days)"
        return math.ceil(float(average)), basis
    return TYPICAL_OUTPUT_TOKENS[agent], "typical answer size (no tracked calls yet)"


async def _recent_runs(session: AsyncSession, agent: LeadAgentType) -> list[RecentRuns]:
    since = utcnow() - timedelta(days=RECENT_DAYS)
    query = (
        select(
            AgentRun.provider,
            AgentRun.model,
            func.count(),
            func.sum(AgentRun.cost_usd),
            func.count(AgentRun.cost_usd),
        )
        .where(AgentRun.agent == agent, AgentRun.status == "ok", AgentRun.started_at >= since)
        .group_by(AgentRun.provider, AgentRun.model)
        .order_by(func.count().desc())
    )
    recent = []
    for provider, model, runs, total, priced in (await session.execute(query)).all():
        average = Decimal(total) / priced if total is not None and priced else None
        recent.append(RecentRuns(runs, average, provider or "?", model or "?"))
    return recent
