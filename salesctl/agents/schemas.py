"""The structured answers the lead agents ask models for, validated with pydantic.

Every field is required (nullable where a fact may be unknown), so the JSON schema suits the
strict structured-output modes of every provider. Numbers and enums are constrained here;
long texts and lists are clipped rather than rejected, because a verbose answer is still a
useful one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _clip_text(limit: int) -> Callable[[str], str]:
    def clip(value: str) -> str:
        value = value.strip()
        return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"

    return clip


def _clip_list(limit: int) -> Callable[[list[Any]], list[Any]]:
    return lambda items: items[:limit]


Line = Annotated[str, AfterValidator(_clip_text(300))]
Text = Annotated[str, AfterValidator(_clip_text(4000))]
Lines = Annotated[list[Line], AfterValidator(_clip_list(10))]


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- qualification ---------------------------------------------------------------------------


class QualificationAnswer(Answer):
    """How well a lead fits the ideal customer profile."""

    score: int = Field(ge=0, le=100, description="Fit with the ideal customer profile, 0-100.")
    reasoning: Text = Field(
        min_length=1, description="Why this score: which parts of the profile are met or missed."
    )
    signals: Lines = Field(description="Buying signals or red flags found in the lead data.")


# --- enrichment ------------------------------------------------------------------------------


class DecisionMaker(Answer):
    name: Line
    title: Line


class EnrichmentAnswer(Answer):
    """Company facts extracted from the lead's notes, website text or a source document."""

    industry: Line | None
    employee_count: int | None = Field(ge=0, le=10_000_000)
    headquarters: Line | None
    region: Line | None = Field(description="Continent or market, e.g. North America, Europe.")
    founded_year: int | None = Field(ge=1600, le=2100)
    description: Text = Field(description="What the company does, in one or two sentences.")
    technologies: Lines
    decision_makers: Annotated[list[DecisionMaker], AfterValidator(_clip_list(10))]
    funding: Line | None
    revenue_range: Line | None
    confidence: Literal["high", "medium", "low"] = Field(
        description="How well the sources support these facts."
    )


# --- growth ----------------------------------------------------------------------------------


class Opportunity(Answer):
    title: Line
    rationale: Text


class Competitor(Answer):
    name: Line
    note: Line


class GrowthAnswer(Answer):
    """A market analysis of the lead's company: where it can grow and what stands in the way."""

    summary: Text = Field(min_length=1)
    expansion_opportunities: Annotated[
        list[Opportunity], Field(min_length=1), AfterValidator(_clip_list(6))
    ]
    competitors: Annotated[list[Competitor], AfterValidator(_clip_list(8))]
    risks: Lines
    recommended_plays: Annotated[list[Line], Field(min_length=1), AfterValidator(_clip_list(6))]


# --- marketing -------------------------------------------------------------------------------


class Messaging(Answer):
    value_proposition: Text = Field(min_length=1)
    pain_points: Lines
    proof_points: Lines


class EmailTouch(Answer):
    day: int = Field(ge=0, le=90, description="Days after the campaign starts.")
    subject: Line = Field(min_length=1)
    body: Text = Field(min_length=1)


def _in_send_order(touches: list[EmailTouch]) -> list[EmailTouch]:
    return sorted(touches, key=lambda touch: touch.day)


class MarketingAnswer(Answer):
    """A campaign for the lead's company: audience, messaging, a short email sequence."""

    audience: Text = Field(min_length=1)
    messaging: Messaging
    email_sequence: Annotated[
        list[EmailTouch], Field(min_length=2, max_length=6), AfterValidator(_in_send_order)
    ]
    call_to_action: Line = Field(min_length=1)


# --- bdr -------------------------------------------------------------------------------------


class OutreachDraft(Answer):
    subject: Line = Field(min_length=1)
    body: Text = Field(min_length=1)


class FollowUpStep(Answer):
    day: int = Field(ge=0, le=60, description="Days after the outreach is sent.")
    channel: Literal["email", "call", "linkedin"]
    action: Line = Field(min_length=1)


class BDRAnswer(Answer):
    """A meeting workflow: the outreach, the follow-ups and the next step on the deal."""

    outreach: OutreachDraft
    follow_up_plan: Annotated[
        list[FollowUpStep], Field(min_length=1), AfterValidator(_clip_list(6))
    ]
    deal_next_step: Line = Field(min_length=1)


# --- conversation ----------------------------------------------------------------------------


class Objection(Answer):
    objection: Line
    suggested_response: Line


class Commitment(Answer):
    owner: Literal["us", "prospect"]
    commitment: Line
    due: Line | None


class ConversationAnswer(Answer):
    """What a call transcript says: summary, objections, sentiment, commitments, next steps."""

    summary: Text = Field(min_length=1)
    sentiment: Literal["positive", "neutral", "negative", "mixed"]
    objections: Annotated[list[Objection], AfterValidator(_clip_list(10))]
    commitments: Annotated[list[Commitment], AfterValidator(_clip_list(10))]
    next_steps: Lines
