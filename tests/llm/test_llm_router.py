"""The smart router's classifier on labelled prompts, and how tiers become choices."""

from __future__ import annotations

import pytest

from salesctl.config import RouterSettings
from salesctl.errors import ConfigError
from salesctl.llm.router import classify, route
from salesctl.llm.types import Message, ToolSpec

LABELLED = [
    ("Show me top 3 leads", "simple"),
    ("List my open deals", "simple"),
    ("What is the status of the Acme deal?", "simple"),
    ("How many leads did we qualify this week?", "simple"),
    ("Who owns the Globex account?", "simple"),
    ("Find leads in fintech", "simple"),
    ("hi", "simple"),
    ("Thanks, that's all", "simple"),
    ("Give me the phone number for Initech", "simple"),
    ("When is my next meeting with Hooli?", "simple"),
    ("Show deals closing this month", "simple"),
    ("Which leads are hot?", "simple"),
    ("Summarize the last call with TechCorp", "medium"),
    ("Draft a follow-up email to Sarah at Acme about pricing", "medium"),
    ("Explain what the qualification score means for this lead", "medium"),
    ("Write a short intro message for a VP of Sales at a fintech startup", "medium"),
    ("Suggest three subject lines for a cold email to healthcare CTOs", "medium"),
    ("Why did the Globex deal slip to next quarter?", "medium"),
    ("Assess whether Initech fits our ICP", "medium"),
    ("Compare the Acme and Globex deals", "medium"),
    ("Outline the onboarding steps for a new customer", "medium"),
    ("Describe the main objections we hear from mid-market buyers", "medium"),
    ("Analyze this deal's blockers and recommend strategy...", "complex"),
    (
        "Analyze this deal's blockers and recommend strategy for closing by quarter end",
        "complex",
    ),
    (
        "Analyze our Q3 pipeline, identify the top risks, and recommend a plan to hit quota",
        "complex",
    ),
    (
        "Compare win rates across regions, explain why EMEA dropped, then propose three fixes",
        "complex",
    ),
    (
        "Review the Acme, Globex, Initech and Hooli deals; prioritize them by risk and draft "
        "next steps for each",
        "complex",
    ),
    (
        "Evaluate the churn risk for our top 10 customers and recommend a retention strategy "
        "for each segment",
        "complex",
    ),
    (
        "First analyze the call transcript for objections, then draft a negotiation plan with "
        "pricing trade-offs",
        "complex",
    ),
    (
        "Forecast next quarter's revenue from the current pipeline and assess which deals are "
        "at risk",
        "complex",
    ),
    (
        "What should we do about the stalled TechCorp deal given the budget freeze and the new "
        "CFO?",
        "complex",
    ),
]


@pytest.mark.parametrize(("prompt", "expected"), LABELLED, ids=[p[:40] for p, _ in LABELLED])
def test_labelled_prompts(prompt: str, expected: str) -> None:
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
    assert any("analyze" in reason for reason in complex_.reasons)
    assert complex_.signals["analysis_terms"] == ["analyze", "blockers", "recommend", "strategy"]


def test_a_long_prompt_is_complex_even_without_keywords() -> None:
    prompt = "Here is the account history. " + "The customer called about the invoice. " * 80
    assert classify(prompt).complexity == "complex"


def test_conversation_depth_and_tools_raise_the_rating() -> None:
    prompt = "Draft a reply to them"
    assert classify(prompt).complexity == "medium"
    history = [Message(role="user" if i % 2 == 0 else "assistant", content="…") for i in range(20)]
    tools = [ToolSpec(name=f"t{i}", description="", parameters={}) for i in range(6)]
    deep = classify(prompt, messages=history, tools=tools)
    assert deep.complexity == "complex"
    assert deep.signals["depth"] == 20
    assert deep.signals["tools"] == 6


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
