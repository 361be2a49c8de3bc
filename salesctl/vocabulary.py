"""The closed sets salesctl's data, agents and commands share, each spelled once.

Each set is a `Literal` (for type checkers and pydantic) with its tuple derived from it by
`get_args`, in the order salesctl shows it. The database stores these as plain strings (no enum
types or check constraints), so a new value needs no migration; it needs a line here.
"""

from __future__ import annotations

from typing import Literal, get_args

LeadAgentType = Literal["qualification", "enrichment", "growth", "marketing", "bdr", "conversation"]
"""The six LangGraph agents that work on one lead each (`salesctl agents …`)."""
ChatAgentType = Literal["sr_bdr", "pipeline_manager", "customer_success"]
"""The three conversational agents (`salesctl chat …`), as tracking rows name them."""
AgentType = Literal[LeadAgentType, ChatAgentType]
"""Every agent type salesctl's own agents write into tracking rows."""

LEAD_AGENT_TYPES: tuple[LeadAgentType, ...] = get_args(LeadAgentType)
CHAT_AGENT_TYPES: tuple[ChatAgentType, ...] = get_args(ChatAgentType)
AGENT_TYPES: tuple[AgentType, ...] = get_args(AgentType)

ChatAgentName = Literal["sr-bdr", "pipeline", "cs"]
"""What `salesctl chat AGENT` calls the chat agents."""
CHAT_AGENT_NAMES: tuple[ChatAgentName, ...] = get_args(ChatAgentName)
CHAT_AGENT_ALIASES: dict[str, ChatAgentType] = {
    "sr-bdr": "sr_bdr",
    "pipeline": "pipeline_manager",
    "cs": "customer_success",
}
"""The agent type each `salesctl chat` name (a `ChatAgentName`) tracks its calls under."""

OpenDealStage = Literal["prospecting", "qualification", "proposal", "negotiation"]
ClosedDealStage = Literal["closed_won", "closed_lost"]
DealStage = Literal[OpenDealStage, ClosedDealStage]
"""A deal's stage in the pipeline, in pipeline order."""
OPEN_DEAL_STAGES: tuple[OpenDealStage, ...] = get_args(OpenDealStage)
DEAL_STAGES: tuple[DealStage, ...] = get_args(DealStage)

LeadStatus = Literal["new", "working", "qualified", "disqualified", "customer"]
LEAD_STATUSES: tuple[LeadStatus, ...] = get_args(LeadStatus)

LeadTier = Literal["hot", "warm", "cold"]
"""The qualification agent's verdict on a lead, best first."""
LEAD_TIERS: tuple[LeadTier, ...] = get_args(LeadTier)

Complexity = Literal["simple", "medium", "complex"]
"""The router's tiers for a prompt, cheapest first."""
COMPLEXITIES: tuple[Complexity, ...] = get_args(Complexity)

__all__ = [
    "AGENT_TYPES",
    "CHAT_AGENT_ALIASES",
    "CHAT_AGENT_NAMES",
    "CHAT_AGENT_TYPES",
    "COMPLEXITIES",
    "DEAL_STAGES",
    "LEAD_AGENT_TYPES",
    "LEAD_STATUSES",
    "LEAD_TIERS",
    "OPEN_DEAL_STAGES",
    "AgentType",
    "ChatAgentName",
    "ChatAgentType",
    "ClosedDealStage",
    "Complexity",
    "DealStage",
    "LeadAgentType",
    "LeadStatus",
    "LeadTier",
    "OpenDealStage",
]
