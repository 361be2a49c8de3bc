"""The pipeline manager: stages and value, stalled and at-risk deals, strategy, stage moves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesctl.agents.chat import tools as t
from salesctl.agents.chat.graph import ChatAgentSpec, TurnState, build_tool_loop

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from salesctl.agents.chat.context import ChatContext

ROLE = """\
You are the pipeline manager of a B2B sales team, talking with a sales leader.
You summarise the pipeline by stage and value, find stalled and at-risk deals, analyse what
blocks a deal and recommend a strategy to move it forward, and move a deal to another stage
when the user asks you to. Stages, in order: prospecting, qualification, proposal,
negotiation, then closed_won or closed_lost."""

TOOLS: tuple[t.Tool, ...] = (
    t.PIPELINE_SUMMARY,
    t.LIST_DEALS,
    t.STALLED_DEALS,
    t.AT_RISK_DEALS,
    t.DEAL_DETAILS,
    t.LEAD_DETAILS,
    t.MOVE_DEAL,
)


def build_graph() -> CompiledStateGraph[TurnState, ChatContext, Any, Any]:
    return build_tool_loop(role=ROLE, tools=TOOLS, name="pipeline_manager")


SPEC = ChatAgentSpec(
    name="pipeline",
    agent_type="pipeline_manager",
    title="Pipeline manager",
    role=ROLE,
    tools=TOOLS,
    build_graph=build_graph,
    examples=(
        "Summarise the pipeline",
        "Which deals are stalled?",
        "Analyze the blockers on deal 1 and recommend a strategy",
        "Move deal 3 to negotiation",
    ),
)
