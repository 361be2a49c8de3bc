"""The three conversational agents: SR/BDR assistant, pipeline manager, customer success.

Importing this package is cheap; each agent module (and LangGraph) loads on `load_agent()`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Literal, get_args

from salesctl.errors import InvalidInput

if TYPE_CHECKING:
    from salesctl.agents.chat.graph import ChatAgentSpec

AgentName = Literal["sr-bdr", "pipeline", "cs"]
AGENT_NAMES: tuple[AgentName, ...] = get_args(AgentName)

_MODULES: dict[AgentName, str] = {
    "sr-bdr": "salesctl.agents.chat.sr_bdr",
    "pipeline": "salesctl.agents.chat.pipeline",
    "cs": "salesctl.agents.chat.customer_success",
}


def load_agent(name: str) -> ChatAgentSpec:
    """The agent called `name` on the command line (`sr-bdr`, `pipeline`, `cs`)."""
    module = _MODULES.get(name) if name in AGENT_NAMES else None
    if module is None:
        raise InvalidInput(f"unknown chat agent {name!r}: choose one of {', '.join(AGENT_NAMES)}")
    spec: ChatAgentSpec = import_module(module).SPEC
    return spec


__all__ = ["AGENT_NAMES", "AgentName", "load_agent"]
