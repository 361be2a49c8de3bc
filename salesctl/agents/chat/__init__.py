"""The three conversational agents: SR/BDR assistant, pipeline manager, customer success.

Importing this package is cheap; each agent module (and LangGraph) loads on `load_agent()`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from salesctl.errors import InvalidInput
from salesctl.vocabulary import CHAT_AGENT_NAMES, ChatAgentName

if TYPE_CHECKING:
    from salesctl.agents.chat.graph import ChatAgentSpec

_MODULES: dict[ChatAgentName, str] = {
    "sr-bdr": "salesctl.agents.chat.sr_bdr",
    "pipeline": "salesctl.agents.chat.pipeline",
    "cs": "salesctl.agents.chat.customer_success",
}


def load_agent(name: str) -> ChatAgentSpec:
    """The agent called `name` on the command line (`sr-bdr`, `pipeline`, `cs`)."""
    module = _MODULES.get(name) if name in CHAT_AGENT_NAMES else None
    if module is None:
        raise InvalidInput(
            f"unknown chat agent {name!r}: choose one of {', '.join(CHAT_AGENT_NAMES)}"
        )
    spec: ChatAgentSpec = import_module(module).SPEC
    return spec


__all__ = ["load_agent"]
