"""The closed sets in salesctl.vocabulary are the ones the agents and settings implement."""

from __future__ import annotations

from salesctl import vocabulary
from salesctl.agents import agent_class
from salesctl.agents.chat import load_agent
from salesctl.config import Settings


def test_every_lead_agent_type_has_an_agent_and_a_default_model() -> None:
    for agent_type in vocabulary.LEAD_AGENT_TYPES:
        assert agent_class(agent_type).agent_type == agent_type
    assert tuple(Settings().agents) == vocabulary.LEAD_AGENT_TYPES


def test_every_chat_agent_name_tracks_under_its_agent_type() -> None:
    assert tuple(vocabulary.CHAT_AGENT_ALIASES) == vocabulary.CHAT_AGENT_NAMES
    for name, agent_type in vocabulary.CHAT_AGENT_ALIASES.items():
        spec = load_agent(name)
        assert (spec.name, spec.agent_type) == (name, agent_type)
    assert tuple(vocabulary.CHAT_AGENT_ALIASES.values()) == vocabulary.CHAT_AGENT_TYPES


def test_open_stages_come_first_in_pipeline_order() -> None:
    open_count = len(vocabulary.OPEN_DEAL_STAGES)
    assert vocabulary.DEAL_STAGES[:open_count] == vocabulary.OPEN_DEAL_STAGES
    assert vocabulary.AGENT_TYPES == vocabulary.LEAD_AGENT_TYPES + vocabulary.CHAT_AGENT_TYPES
