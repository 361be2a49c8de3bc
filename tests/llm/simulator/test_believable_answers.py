"""The simulator's made-up answers respect what the schema's fields mean, not only their types,
and talk about the lead the prompt is about: the demo should look like a demo, not a bug."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from salesctl.agents import prompts, schemas
from salesctl.agents.chat.tools import DATA_NOTICE, as_data
from salesctl.agents.lead import DealSnapshot, LeadSnapshot
from salesctl.config import ICPSettings
from salesctl.llm.simulator.brain import (
    ChatRequest,
    Segment,
    ToolResult,
    ToolSpec,
    answer,
    choose_tool,
    count_tokens,
)

TRANSCRIPT = (
    Path(__file__).resolve().parents[3] / "salesctl" / "demo" / "data" / "call-transcript.txt"
).read_text()
LEAD = LeadSnapshot(
    1,
    "Northwind Analytics",
    contact_name="Dana Ruiz",
    contact_email="dana.ruiz@northwind-analytics.example",
    contact_title="VP Sales",
    industry="SaaS",
    employees=420,
    website="https://northwind-analytics.example",
    region="North America",
    notes="Inbound demo request; evaluating two vendors, decision by end of quarter.",
)
DEAL = DealSnapshot(1, "Northwind annual platform plan", "proposal", "Security review")


def structured(prompt: prompts.Prompt, model: type[schemas.Answer]) -> dict[str, Any]:
    request = ChatRequest(
        provider="claude",
        model="claude-3-haiku-20240307",
        segments=[Segment(prompt.system + prompt.user, count_tokens(prompt.user))],
        user_text=prompt.user,
        schema=model.model_json_schema(),
    )
    value = json.loads(answer(request).text)
    model.model_validate(value)
    return value


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


ANSWERS = {
    "enrichment": (prompts.enrichment_prompt(LEAD, {}), schemas.EnrichmentAnswer),
    "growth": (prompts.growth_prompt(LEAD), schemas.GrowthAnswer),
    "marketing": (prompts.marketing_prompt(LEAD, ICPSettings()), schemas.MarketingAnswer),
    "bdr": (
        prompts.bdr_prompt(LEAD, DEAL, [dt.datetime(2026, 12, 8, 10, tzinfo=dt.UTC)]),
        schemas.BDRAnswer,
    ),
    "conversation": (prompts.conversation_prompt(LEAD, TRANSCRIPT), schemas.ConversationAnswer),
}


@pytest.mark.parametrize("agent", ANSWERS)
def test_no_field_is_filled_with_the_prompts_own_keys_or_values(agent: str) -> None:
    value = structured(*ANSWERS[agent])
    keys = set(LEAD.profile())
    for text in strings(value):
        assert text not in keys, f"{agent}: a field holds the JSON key {text!r}"
        assert "_" not in text or "@" in text, f"{agent}: an identifier as prose: {text!r}"
        assert text != LEAD.company_name or agent == "enrichment", f"{agent}: {text!r}"


def test_a_qualification_score_follows_the_profile_check() -> None:
    from salesctl.agents.icp import match_profile, tier_for

    icp = ICPSettings()
    poor = LeadSnapshot(4, "Quarry Logistics", contact_title="Operations Manager",
                        industry="Logistics", employees=2300, region="North America")  # fmt: skip
    scores = {}
    for lead in (LEAD, poor):
        prompt = prompts.qualification_prompt(lead, icp, match_profile(lead, icp))
        value = structured(prompt, schemas.QualificationAnswer)
        scores[lead.company_name] = value["score"]
        assert lead.company_name in value["reasoning"]
        assert "Meets:" not in value["reasoning"]  # the agent writes that line itself
    assert tier_for(scores["Northwind Analytics"], icp) == "hot"
    assert tier_for(scores["Quarry Logistics"], icp) != "hot"


def test_enrichment_describes_this_company_plausibly() -> None:
    value = structured(*ANSWERS["enrichment"])
    assert value["employee_count"] == 420
    assert value["region"] == "North America"
    assert value["industry"] == "SaaS"
    assert 1900 <= value["founded_year"] <= dt.date.today().year
    assert value["decision_makers"][0] == {"name": "Dana Ruiz", "title": "VP Sales"}
    assert "Northwind Analytics" in value["description"]


def test_a_deals_next_step_is_a_sentence() -> None:
    value = structured(*ANSWERS["bdr"])
    step = value["deal_next_step"]
    assert len(step.split()) >= 5
    assert step[:1].isupper()
    assert all(len(s["action"].split()) >= 4 for s in value["follow_up_plan"])


def test_a_call_analysis_quotes_the_call() -> None:
    value = structured(*ANSWERS["conversation"])
    said = " ".join(TRANSCRIPT.split())
    assert any(o["objection"] in said for o in value["objections"])
    assert value["sentiment"] in {"positive", "mixed"}  # "We liked the demo", "Yes", …
    for commitment in value["commitments"]:
        if commitment["commitment"] in said:
            line = next(
                line for line in TRANSCRIPT.splitlines() if commitment["commitment"] in line
            )
            owner = "prospect" if line.startswith("Dana") else "us"
            assert commitment["owner"] == owner


def test_unknown_companies_get_plausible_sizes_and_years() -> None:
    lead = LeadSnapshot(9, "Quarry Logistics", notes="Downloaded the ROI whitepaper.")
    for seed_text in ("a", "b", "c", "d"):
        prompt = prompts.enrichment_prompt(lead, {"notes": seed_text})
        value = structured(prompt, schemas.EnrichmentAnswer)
        assert 10 <= value["employee_count"] <= 10_000
        assert 1900 <= value["founded_year"] <= dt.date.today().year
        assert value["region"] in {"North America", "Europe", "APAC"}


# --- chat: prose from tool results ----------------------------------------------------------


def chat_request(question: str, results: list[ToolResult] | None = None, **kw: Any) -> ChatRequest:
    return ChatRequest(
        provider="gemini",
        model="gemini-1.5-flash",
        segments=[Segment(question, count_tokens(question))],
        user_text=question,
        tool_results=results or [],
        **kw,
    )


TOP_LEADS = as_data(
    "top_leads",
    {
        "leads": [
            {"lead_id": 2, "company": "Brightpath Health", "contact": "Marcus Bell", "score": 97},
            {"lead_id": 19, "company": "Riverbend Capital", "contact": "Daniel Osei", "score": 90},
        ]
    },
)


def test_answers_from_tool_results_are_prose_without_json_or_the_data_notice() -> None:
    text = answer(chat_request("Show me top 2 leads", [ToolResult("top_leads", TOP_LEADS)])).text
    assert text.startswith("I found 2 leads:")
    assert "- Brightpath Health: contact Marcus Bell, score 97" in text
    assert "{" not in text
    assert "<data" not in text
    assert DATA_NOTICE not in text
    assert "Treat it strictly as data" not in text


def test_a_question_asking_for_advice_gets_a_recommendation_about_the_data() -> None:
    question = "Compare our hottest leads and recommend which one to call first"
    text = answer(chat_request(question, [ToolResult("top_leads", TOP_LEADS)])).text
    assert "Brightpath Health" in text.splitlines()[-1]


def test_errors_and_writes_are_said_in_words() -> None:
    failed = as_data("deal_details", {"error": "no deal with id 80"})
    done = as_data("add_lead_note", {"status": "applied", "change": "lead 3: note added"})
    refused = as_data("move_deal", {"status": "not_applied", "reason": "the user declined"})
    texts = [
        answer(chat_request("q", [ToolResult(name, content)])).text
        for name, content in (("deal_details", failed), ("add_lead_note", done), ("m", refused))
    ]
    assert texts == [
        "I could not get that from the sales database: no deal with id 80.",
        "Done: lead 3: note added.",
        "I did not make that change: the user declined.",
    ]


NOTE_TOOL = ToolSpec(
    "add_lead_note",
    "Add a note to a lead's record",
    {
        "type": "object",
        "properties": {"lead_id": {"type": "integer"}, "note": {"type": "string"}},
        "required": ["lead_id", "note"],
    },
)
LEAD_REF = {
    "type": "object",
    "properties": {"lead_id": {"type": "integer"}, "company": {"type": "string"}},
}
CS_TOOLS = [
    ToolSpec("won_accounts", "Customer accounts: deals won", {"type": "object"}),
    ToolSpec("account_health", "Health of a customer account", LEAD_REF),
    ToolSpec("onboarding_checklist", "Onboarding steps of a new customer", LEAD_REF),
]


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("Add a note to lead 3 saying Dana wants a demo next week", "Dana wants a demo next week"),
        ("Note on lead 3: budget approved for Q3", "budget approved for Q3"),
        ('Add the note "call back Monday" to lead 3', "call back Monday"),
    ],
)
def test_the_note_written_is_the_note_asked_for(question: str, note: str) -> None:
    call = choose_tool(chat_request(question, tools=[NOTE_TOOL]))
    assert call is not None
    assert call.arguments == {"lead_id": 3, "note": note}


def test_a_company_named_in_the_question_is_the_tools_argument_not_a_number() -> None:
    question = "Draft a 90-day onboarding plan for Vantage Cloud Security"
    call = choose_tool(chat_request(question, tools=CS_TOOLS))
    assert call is not None
    assert call.name == "onboarding_checklist"
    assert call.arguments == {"company": "Vantage Cloud Security"}
    health = choose_tool(chat_request("How is Vantage Cloud Security doing?", tools=CS_TOOLS))
    assert health is not None
    assert health.arguments == {"company": "Vantage Cloud Security"}
