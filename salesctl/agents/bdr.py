"""BDRAgent: a meeting workflow for the lead.

load_deal → propose_slots → draft_workflow → save_workflow

The meeting slots are computed here (the next business days, in the configured time zone),
never invented by the model; the model drafts the outreach around them, plans follow-ups and
proposes the deal's next step, which is written on the lead's open deal if it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents import store
from salesctl.agents.base import LeadAgent, LeadState, lead_graph, save_output
from salesctl.agents.context import AgentContext, LeadValues
from salesctl.agents.lead import DealSnapshot
from salesctl.agents.meetings import meeting_slots
from salesctl.agents.prompts import bdr_prompt
from salesctl.agents.schemas import BDRAnswer
from salesctl.agents.structured import ask_structured
from salesctl.db.base import utcnow
from salesctl.db.models.crm import Deal

MAX_TOKENS = 1500


class State(LeadState, total=False):
    deal: DealSnapshot | None
    slots: list[datetime]
    answer: BDRAnswer
    workflow: dict[str, Any]


async def load_deal(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Find the lead's open deal, if it has one."""
    async with store.reading(runtime.context.sessions) as session:
        deal = await store.load_open_deal(session=session, lead_id=runtime.context.lead_id)
    return {"deal": deal}


async def propose_slots(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Pick the meeting slots to offer."""
    return {"slots": meeting_slots(utcnow(), runtime.context.settings.timezone)}


async def draft_workflow(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the model for the outreach, the follow-up plan and the deal's next step."""
    prompt = bdr_prompt(state["lead"], state.get("deal"), state["slots"])
    asked = await ask_structured(runtime.context, BDRAnswer, prompt, max_tokens=MAX_TOKENS)
    if asked.value is None:
        return {"calls": asked.calls, "failure": asked.failure}
    answer = asked.value
    deal = state.get("deal")
    workflow = {
        "outreach": answer.outreach.model_dump(mode="json"),
        "proposed_slots": [slot.isoformat() for slot in state["slots"]],
        "follow_up_plan": [
            step.model_dump(mode="json")
            for step in sorted(answer.follow_up_plan, key=lambda s: s.day)
        ],
        "deal_next_step": answer.deal_next_step,
        "deal_id": deal.id if deal else None,
        "generated_at": utcnow().isoformat(),
    }
    return {"calls": asked.calls, "answer": answer, "workflow": workflow}


async def save_workflow(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Save the workflow in the lead's insights and the next step on its open deal."""
    workflow = state["workflow"]
    deal_id = workflow["deal_id"]

    async def apply(session: AsyncSession, lead: Mapping[str, Any]) -> LeadValues:
        if deal_id is not None:
            await session.execute(
                update(Deal)
                .where(Deal.id == deal_id, Deal.lead_id == lead["id"])
                .values(next_step=workflow["deal_next_step"], updated_at=utcnow())
            )
        return {"insights": store.merged_insights(lead, "bdr", workflow)}

    return await save_output(runtime, state, workflow, apply)


def build_graph() -> StateGraph[State, AgentContext, Any, Any]:
    return lead_graph(
        State,
        ("load_deal", load_deal),
        ("propose_slots", propose_slots),
        ("draft_workflow", draft_workflow),
        ("save_workflow", save_workflow),
        can_fail=("draft_workflow", "save_workflow"),
    )


class BDRAgent(LeadAgent):
    """Meeting workflows for leads (default: Claude)."""

    agent_type = "bdr"

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        return build_graph()
