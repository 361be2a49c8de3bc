"""GrowthAgent: a market analysis of the lead's company.

analyse_market → check_analysis → save_analysis

Expansion opportunities, competitors, risks and the plays to run, saved in the lead's
insights under "growth".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.base import LeadAgent, LeadState, lead_graph, save_output
from salesctl.agents.context import AgentContext, LeadValues
from salesctl.agents.prompts import growth_prompt
from salesctl.agents.schemas import GrowthAnswer
from salesctl.agents.store import merged_insights
from salesctl.agents.structured import ask_structured
from salesctl.db.base import utcnow

MAX_TOKENS = 1500


class State(LeadState, total=False):
    answer: GrowthAnswer
    analysis: dict[str, Any]


async def analyse_market(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the model for the market analysis."""
    asked = await ask_structured(
        runtime.context, GrowthAnswer, growth_prompt(state["lead"]), max_tokens=MAX_TOKENS
    )
    if asked.value is None:
        return {"calls": asked.calls, "failure": asked.failure}
    return {"calls": asked.calls, "answer": asked.value}


async def check_analysis(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Keep the lead's own company (and repeats) out of its competitors."""
    own = state["lead"].company_name.casefold().strip()
    analysis = state["answer"].model_dump(mode="json")
    seen: set[str] = set()
    competitors = []
    for competitor in analysis["competitors"]:
        name = competitor["name"].casefold().strip()
        if name and name != own and name not in seen:
            seen.add(name)
            competitors.append(competitor)
    analysis["competitors"] = competitors
    analysis["generated_at"] = utcnow().isoformat()
    return {"analysis": analysis}


async def save_analysis(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Save the analysis in the lead's insights and on the run, together."""
    analysis = state["analysis"]

    async def apply(session: AsyncSession, lead: Mapping[str, Any]) -> LeadValues:
        return {"insights": merged_insights(lead, "growth", analysis)}

    return await save_output(runtime, state, analysis, apply)


def build_graph() -> StateGraph[State, AgentContext, Any, Any]:
    return lead_graph(
        State,
        ("analyse_market", analyse_market),
        ("check_analysis", check_analysis),
        ("save_analysis", save_analysis),
        can_fail=("analyse_market", "save_analysis"),
    )


class GrowthAgent(LeadAgent):
    """Market analysis for a lead's company (default: DeepSeek via OpenRouter)."""

    agent_type = "growth"

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        return build_graph()
