"""ConversationAgent: what a sales call's transcript says.

analyse_call → check_notes → save_call_notes

Summary, sentiment, objections (with a suggested response), commitments on both sides and
next steps, saved in the lead's insights under "conversation". The transcript itself is not
stored on the lead, only its length, so call recordings' text stays where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.agents.base import LeadAgent, LeadState, lead_graph, save_output
from salesctl.agents.context import AgentContext, LeadValues
from salesctl.agents.outcome import LeadFailure
from salesctl.agents.prompts import conversation_prompt
from salesctl.agents.schemas import ConversationAnswer
from salesctl.agents.store import merged_insights
from salesctl.agents.structured import ask_structured
from salesctl.db.base import utcnow

MAX_TOKENS = 1500


class State(LeadState, total=False):
    transcript: str
    answer: ConversationAnswer
    call_notes: dict[str, Any]


async def analyse_call(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Ask the model what the call says."""
    transcript = (state.get("transcript") or "").strip()
    if not transcript:
        return {"failure": LeadFailure("invalid_input", "no call transcript was given")}
    prompt = conversation_prompt(state["lead"], transcript)
    asked = await ask_structured(runtime.context, ConversationAnswer, prompt, max_tokens=MAX_TOKENS)
    if asked.value is None:
        return {"calls": asked.calls, "failure": asked.failure}
    return {"calls": asked.calls, "answer": asked.value}


async def check_notes(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Drop empty objections, commitments and steps; record the transcript's size."""
    notes = state["answer"].model_dump(mode="json")
    notes["objections"] = [o for o in notes["objections"] if o["objection"].strip()]
    notes["commitments"] = [c for c in notes["commitments"] if c["commitment"].strip()]
    notes["next_steps"] = [step for step in notes["next_steps"] if step.strip()]
    notes["transcript_chars"] = len(state["transcript"])
    notes["analysed_at"] = utcnow().isoformat()
    return {"call_notes": notes}


async def save_call_notes(state: State, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Save the call notes in the lead's insights and on the run, together."""
    notes = state["call_notes"]

    async def apply(session: AsyncSession, lead: Mapping[str, Any]) -> LeadValues:
        return {"insights": merged_insights(lead, "conversation", notes)}

    return await save_output(runtime, state, notes, apply)


def build_graph() -> StateGraph[State, AgentContext, Any, Any]:
    return lead_graph(
        State,
        ("analyse_call", analyse_call),
        ("check_notes", check_notes),
        ("save_call_notes", save_call_notes),
        can_fail=("analyse_call", "save_call_notes"),
    )


class ConversationAgent(LeadAgent):
    """Call transcript analysis (default: Claude). Give the transcript's text as `transcript`."""

    agent_type = "conversation"

    def __init__(self, *args: Any, transcript: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.transcript = transcript

    def inputs(self) -> dict[str, Any]:
        return {"transcript": self.transcript}

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        return build_graph()
