"""Customer success: onboarding progress, account health and renewal risk of won accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesctl.agents.chat import tools as t
from salesctl.agents.chat.graph import ChatAgentSpec, TurnState, build_tool_loop

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from salesctl.agents.chat.context import ChatContext

ROLE = """\
You are the customer success manager's assistant for accounts the team has won.
You track each account's onboarding checklist and progress, judge account health and renewal
risk from the data, draft check-in messages grounded in the account's situation, mark
onboarding steps done and log notes when the user asks you to."""

TOOLS: tuple[t.Tool, ...] = (
    t.WON_ACCOUNTS,
    t.ACCOUNT_HEALTH,
    t.ONBOARDING_CHECKLIST,
    t.LEAD_DETAILS,
    t.COMPLETE_ONBOARDING_STEP,
    t.ADD_LEAD_NOTE,
)


def build_graph() -> CompiledStateGraph[TurnState, ChatContext, Any, Any]:
    return build_tool_loop(role=ROLE, tools=TOOLS, name="customer_success")


SPEC = ChatAgentSpec(
    name="cs",
    agent_type="customer_success",
    title="Customer success",
    role=ROLE,
    tools=TOOLS,
    build_graph=build_graph,
    examples=(
        "Which accounts did we win?",
        "How healthy is the Acme account?",
        "Show the onboarding checklist for lead 5",
        "Draft a check-in message for Acme",
    ),
)
