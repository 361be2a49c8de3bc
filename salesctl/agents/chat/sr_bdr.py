"""The SR/BDR assistant: a sales rep's helper for leads, outreach, notes and next actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesctl.agents.chat import tools as t
from salesctl.agents.chat.graph import ChatAgentSpec, TurnState, build_tool_loop

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from salesctl.agents.chat.context import ChatContext

ROLE = """\
You are the SR/BDR assistant of a B2B sales team, talking with a sales rep.
You find and rank leads, explain what is known about a company, draft outreach emails and
call openers grounded in the lead's data, suggest the next best action for a lead or deal,
and log notes on a lead when the rep asks you to."""

TOOLS: tuple[t.Tool, ...] = (
    t.TOP_LEADS,
    t.SEARCH_LEADS,
    t.LEAD_DETAILS,
    t.DEAL_DETAILS,
    t.LIST_DEALS,
    t.ADD_LEAD_NOTE,
)


def build_graph() -> CompiledStateGraph[TurnState, ChatContext, Any, Any]:
    return build_tool_loop(role=ROLE, tools=TOOLS, name="sr_bdr")


SPEC = ChatAgentSpec(
    name="sr-bdr",
    agent_type="sr_bdr",
    title="SR/BDR assistant",
    role=ROLE,
    tools=TOOLS,
    build_graph=build_graph,
    examples=(
        "Show me top 3 leads",
        "What do we know about TechCorp?",
        "Draft an intro email to lead 4",
        "Add a note to lead 2: asked for pricing, call back Friday",
    ),
)
