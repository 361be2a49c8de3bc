"""The six LangGraph lead agents (one graph per module) and, in `chat/`, the chat agents.

Importing this package imports nothing heavy; the agent classes load LangGraph on first use:

    from salesctl.agents import QualificationAgent
    outcome = await QualificationAgent(db=db).run(123)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from salesctl.vocabulary import LEAD_AGENT_TYPES

if TYPE_CHECKING:
    from salesctl.agents.base import LeadAgent

_AGENT_MODULES = {
    "QualificationAgent": "salesctl.agents.qualification",
    "EnrichmentAgent": "salesctl.agents.enrichment",
    "GrowthAgent": "salesctl.agents.growth",
    "MarketingAgent": "salesctl.agents.marketing",
    "BDRAgent": "salesctl.agents.bdr",
    "ConversationAgent": "salesctl.agents.transcript_analysis",
}

_AGENT_CLASSES: dict[str, str] = {
    "qualification": "QualificationAgent",
    "enrichment": "EnrichmentAgent",
    "growth": "GrowthAgent",
    "marketing": "MarketingAgent",
    "bdr": "BDRAgent",
    "conversation": "ConversationAgent",
}

__all__ = [*_AGENT_MODULES, "agent_class"]


def agent_class(agent_type: str) -> type[LeadAgent]:
    """The agent class for an agent type (`qualification`, …, `conversation`)."""
    name = _AGENT_CLASSES.get(agent_type)
    if name is None:
        known = ", ".join(LEAD_AGENT_TYPES)
        raise ValueError(f"unknown lead agent {agent_type!r} (known: {known})")
    cls: type[LeadAgent] = __getattr__(name)
    return cls


def __getattr__(name: str) -> Any:
    module = _AGENT_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'salesctl.agents' has no attribute {name!r}")
    return getattr(import_module(module), name)
