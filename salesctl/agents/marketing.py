"""MarketingAgent: a campaign for the lead's company.

plan_campaign → check_sequence → save_campaign

Audience, messaging and a short multi-touch email sequence, saved in the lead's insights
under "marketing".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.base import LeadAgent, LeadState, lead_graph, save_output
from salesctl.agents.context import AgentContext, LeadValues
from salesctl.agents.prompts import marketing_prompt
from salesctl.agents.schemas import MarketingAnswer
from salesctl.agents.store import merged_insights
from salesctl.agents.structured import ask_structured
from salesctl.db.base import utcnow

MAX_TOKENS = 2000


class State(LeadState, total=False):
    answer: MarketingAnswer
    campaign: dict[str, Any]


async def plan_campaign(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the model for the campaign."""
    prompt = marketing_prompt(state["lead"], runtime.context.settings.icp)
    asked = await ask_structured(runtime.context, MarketingAnswer, prompt, max_tokens=MAX_TOKENS)
    if asked.value is None:
        return {"calls": asked.calls, "failure": asked.failure}
    return {"calls": asked.calls, "answer": asked.value}


async def check_sequence(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Number the touches and space them at least a day apart, in send order."""
    campaign = state["answer"].model_dump(mode="json")
    previous_day = -1
    for step, touch in enumerate(campaign["email_sequence"], start=1):
        touch["day"] = max(touch["day"], previous_day + 1)
        touch["step"] = step
        previous_day = touch["day"]
    campaign["generated_at"] = utcnow().isoformat()
    return {"campaign": campaign}


async def save_campaign(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Save the campaign in the lead's insights and on the run, together."""
    campaign = state["campaign"]

    async def apply(session: AsyncSession, lead: Mapping[str, Any]) -> LeadValues:
        return {"insights": merged_insights(lead, "marketing", campaign)}

    return await save_output(runtime, state, campaign, apply)


def build_graph() -> StateGraph[State, AgentContext, Any, Any]:
    return lead_graph(
        State,
        ("plan_campaign", plan_campaign),
        ("check_sequence", check_sequence),
        ("save_campaign", save_campaign),
        can_fail=("plan_campaign", "save_campaign"),
    )


class MarketingAgent(LeadAgent):
    """Campaigns for a lead's company (default: Claude Sonnet)."""

    agent_type = "marketing"

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        return build_graph()
