"""The smart router's classifier on labelled prompts, and how tiers become choices."""

from __future__ import annotations

import pytest

from salesctl.config import RouterSettings
from salesctl.errors import ConfigError
from salesctl.llm.router import classify, route
from salesctl.llm.types import Message, ToolSpec

ISSUE_EXAMPLES = [
    # The keyword rules got every one of these wrong (issue #18).
    ("should we discount Globex or walk?", "complex"),
    (
        "what would it take to get Initech over the line this month given legal is stuck?",
        "complex",
    ),
    (
        "Vandelay's onboarding is 6 weeks behind, the partner blames us, the sponsor is "
        "impatient — how do I recover this?",
        "complex",
    ),
    ("Move deal 7 to negotiation", "simple"),
    ("show the risk analysis on deal 19", "simple"),
    (
        "translate this into German: 'Thanks for the call, the proposal follows on Friday.'",
        "medium",
    ),
    ("polish my follow-up to Sarah: 'hey, any news on the contract??'", "medium"),
    ("turn these notes into an email: demo went well, wants SSO, pricing next week", "medium"),
    ("give me 3 options for a subject line to the Hooli CTO", "medium"),
]


@pytest.mark.parametrize(
    ("prompt", "expected"), ISSUE_EXAMPLES, ids=[p[:40] for p, _ in ISSUE_EXAMPLES]
)
def test_what_the_ask_needs_decides_not_its_keywords(prompt: str, expected: str) -> None:
    assert classify(prompt).complexity == expected


def test_the_seed_examples_route_to_their_tiers() -> None:
    router = RouterSettings()
    simple = route("Show me top 3 leads", router=router)
    assert (simple.complexity, simple.provider, simple.model) == (
        "simple",
        "gemini",
        "gemini-1.5-flash",
    )
    assert simple.fallbacks == ["openai:gpt-4o-mini"]
    complex_ = route("Analyze this deal's blockers and recommend strategy...", router=router)
    assert (complex_.complexity, complex_.provider) == ("complex", "claude")
    assert complex_.probabilities["complex"] > 0.5
    assert complex_.version is not None
    assert complex_.version.startswith("shipped-")
    record = complex_.as_record()
    assert record["router_version"] == complex_.version
    assert record["chosen_by"] == "router"
    assert record["probabilities"] == complex_.probabilities


def test_the_margin_leans_towards_the_stronger_tier() -> None:
    # A prompt the model is unsure about goes up a tier once the margin covers the doubt.
    prompt = "Compare the Acme and Globex deals"
    plain = classify(prompt, router=RouterSettings(margin=0))
    leaning = classify(prompt, router=RouterSettings(margin=0.5))
    order = ["simple", "medium", "complex"]
    assert order.index(leaning.complexity) > order.index(plain.complexity)
    assert leaning.probabilities == plain.probabilities


def test_the_reasons_name_the_router_and_the_features_that_decided() -> None:
    rating = classify("should we discount Globex or walk?")
    assert rating.reasons[0].startswith(f"learned router {rating.version}: complex ")
    assert rating.reasons[1].startswith("decided by: ")
    assert rating.top_features
    assert all(f.weight > 0 for f in rating.top_features)


def test_conversation_depth_and_tools_are_reported() -> None:
    history = [Message(role="user" if i % 2 == 0 else "assistant", content="…") for i in range(20)]
    tools = [ToolSpec(name=f"t{i}", description="", parameters={}) for i in range(6)]
    deep = classify("Draft a reply to them", messages=history, tools=tools)
    assert deep.signals["depth"] == 20
    assert deep.signals["tools"] == 6


def test_an_empty_request_is_simple() -> None:
    rating = classify("   ")
    assert (rating.complexity, rating.reasons) == ("simple", ["empty request"])


def test_without_a_prompt_the_last_user_turn_is_rated() -> None:
    history = [
        Message(role="user", content="Analyze the Acme deal and recommend a strategy"),
        Message(role="assistant", content="Sure."),
        Message(role="user", content="show me the top 3 leads"),
    ]
    rating = classify(None, messages=history)
    assert rating.complexity == "simple"
    assert rating.signals["depth"] == 2


def test_tiers_come_from_settings_and_are_validated() -> None:
    router = RouterSettings(simple=["openai:gpt-4o-mini", "anthropic:claude-3-haiku-20240307"])
    decision = route("List my open deals", router=router)
    assert (decision.provider, decision.model) == ("openai", "gpt-4o-mini")
    assert decision.fallbacks == ["claude:claude-3-haiku-20240307"]  # alias made canonical
    with pytest.raises(ConfigError, match="not 'provider:model'"):
        route("List my open deals", router=RouterSettings(simple=["gpt-4o-mini"]))
    with pytest.raises(ConfigError, match="unknown provider 'mistral'"):
        route("List my open deals", router=RouterSettings(simple=["mistral:small"]))


def test_config_can_narrow_or_pin_the_choice() -> None:
    router = RouterSettings()
    narrowed = route("List my open deals", router=router, provider="openai")
    assert (narrowed.provider, narrowed.model, narrowed.fallbacks) == ("openai", "gpt-4o-mini", [])
    pinned = route("List my open deals", router=router, provider="cerebras", model="llama3.1-8b")
    assert (pinned.complexity, pinned.provider, pinned.model) == (
        "simple",
        "cerebras",
        "llama3.1-8b",
    )
    with pytest.raises(ConfigError, match="no 'cerebras' choice"):
        route("List my open deals", router=router, provider="cerebras")
