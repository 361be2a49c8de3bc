"""Which calls use the response cache: the per-agent policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesctl.vocabulary import CHAT_AGENT_TYPES, LEAD_AGENT_TYPES

if TYPE_CHECKING:
    from salesctl.config import Settings


def cache_enabled(agent_type: str, mode: str, explicit: bool | None, settings: Settings) -> bool:
    """The per-agent policy: lead agents cache by default, chat agents don't (live tool data)."""
    if explicit is not None:
        return explicit
    if agent_type in CHAT_AGENT_TYPES:
        return settings.router.chat_cache
    agent = settings.agents.get(agent_type)
    if agent is not None:
        return agent.cache
    if agent_type in LEAD_AGENT_TYPES:
        return True
    return mode == "passthrough"
