"""The simulator's brain without HTTP: schema faking, tool choice, tokens and caching."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from salesctl.llm.simulator.brain import (
    ChatRequest,
    Script,
    Segment,
    ToolResult,
    ToolSpec,
    answer,
    choose_tool,
    count_tokens,
    split_chunks,
    wrong_value,
)
from salesctl.llm.simulator.cache import PromptCache
from salesctl.llm.simulator.schema_faker import SchemaFaker


class Priority(enum.IntEnum):
    low = 1
    high = 2


class Address(BaseModel):
    city: str
    country: str
    postcode: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    first_name: str
    last_name: str
    email: str
    title: str | None = None
    address: Address


class Node(BaseModel):
    label: str
    children: list[Node] = []


class Everything(BaseModel):
    id: str
    score: int = Field(ge=0, le=10)
    rating: float = Field(gt=0, lt=5)
    confidence: float = Field(ge=0, le=1)
    priority: Priority
    kind: Literal["inbound", "outbound"]
    tags: list[str] = Field(min_length=2, max_length=4)
    unique: set[int] = Field(min_length=3)
    people: list[Person] = Field(min_length=1)
    counts: dict[str, int]
    pair: tuple[int, str]
    due: dt.date
    at: dt.datetime
    tree: Node
    maybe: Address | None = None
    step: int = Field(multiple_of=5, ge=1, le=50)
    summary: str


def fake(schema: dict[str, Any], seed: int = 7, context: str = "") -> Any:
    return SchemaFaker(seed=seed, context=context).value(schema)


@pytest.mark.parametrize("seed", range(25))
def test_faked_values_validate_against_pydantic_schemas(seed: int) -> None:
    value = fake(Everything.model_json_schema(), seed, "Score the lead Initech please")
    Everything.model_validate(value)


def test_faker_is_deterministic_and_plausible() -> None:
    schema = Person.model_json_schema()
    assert fake(schema, 3) == fake(schema, 3)
    assert fake(schema, 3) != fake(schema, 4)
    person = fake(schema, 3)
    first, last = person["first_name"].lower(), person["last_name"].lower()
    assert person["email"].startswith(f"{first}.{last}@")


def test_score_is_tied_to_the_prompt_and_in_range() -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 40}}}
    scores = {fake(schema, seed)["score"] for seed in range(30)}
    assert all(40 <= s <= 100 for s in scores)
    assert len(scores) > 5


def test_gemini_openapi_schema_spellings() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "names": {"type": "ARRAY", "items": {"type": "STRING"}, "min_items": "3"},
            "level": {"type": "INTEGER", "minimum": 2.0, "maximum": 4.0},
            "stage": {"type": "STRING", "format": "enum", "enum": ["a", "b"]},
            "note": {"type": "STRING", "nullable": True},
            "either": {"any_of": [{"type": "NULL"}, {"type": "BOOLEAN"}]},
        },
        "required": ["names", "level"],
    }
    value = fake(schema)
    assert len(value["names"]) >= 3
    assert 2 <= value["level"] <= 4
    assert value["stage"] in ("a", "b")
    assert isinstance(value["either"], bool)


def test_wrong_value_never_validates() -> None:
    for model in (Everything, Person, Address):
        with pytest.raises(ValidationError):
            model.model_validate(wrong_value(model.model_json_schema()))
    with pytest.raises(ValidationError):
        TypeAdapter(list[int]).validate_python(wrong_value({"type": "array", "items": {}}))


def request(text: str, **kw: Any) -> ChatRequest:
    segment = Segment(json.dumps({"user": text}), 4 + count_tokens(text))
    return ChatRequest(provider="openai", model="m", segments=[segment], user_text=text, **kw)


TOOLS = [
    ToolSpec(
        "get_deal",
        "Fetch one deal by its id",
        {
            "type": "object",
            "properties": {"deal_id": {"type": "integer"}, "note": {"type": "string"}},
            "required": ["deal_id"],
        },
    ),
    ToolSpec(
        "search_leads",
        "Search leads by company name",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer"},
                "status": {"type": "string", "enum": ["new", "qualified"]},
            },
            "required": ["query"],
        },
    ),
    ToolSpec(
        "email_contact",
        "Send an email to a contact",
        {
            "type": "object",
            "properties": {"to": {"type": "string"}, "subject": {"type": "string"}},
            "required": ["to", "subject"],
        },
    ),
]


@pytest.mark.parametrize(
    ("text", "name", "arguments"),
    [
        ("What's going on with deal 42?", "get_deal", {"deal_id": 42}),
        (
            "Search the top 3 qualified leads at Acme",
            "search_leads",
            {
                "query": "Search the top 3 qualified leads at Acme",
                "limit": 3,
                "status": "qualified",
            },
        ),
        ('Email "jo@acme.io" with subject "Renewal"', "email_contact", None),
    ],
)
def test_tool_choice_and_arguments_from_the_question(
    text: str, name: str, arguments: dict[str, Any] | None
) -> None:
    call = choose_tool(request(text, tools=TOOLS))
    assert call is not None
    assert call.name == name
    if arguments is not None:
        assert call.arguments == arguments
    else:
        assert call.arguments == {"to": "jo@acme.io", "subject": "Renewal"}


def test_tool_choice_modes() -> None:
    assert choose_tool(request("hello", tools=TOOLS)) is None
    assert choose_tool(request("deal 1", tools=TOOLS, tool_choice="none")) is None
    forced = choose_tool(request("hello", tools=TOOLS, tool_choice="email_contact"))
    assert forced
    assert set(forced.arguments) == {"to", "subject"}
    assert choose_tool(request("hello", tools=TOOLS, tool_choice="required"))
    after = request("deal 1", tools=TOOLS, tool_results=[ToolResult("get_deal", "won")])
    assert choose_tool(after) is None  # one tool round, then answer


def test_answers_tokens_and_chunks() -> None:
    req = request("How should I approach Globex about pricing?")
    first, second = answer(req), answer(req)
    assert first.text == second.text
    assert "Globex" in first.text
    assert first.output_tokens == count_tokens(first.text)
    assert "".join(split_chunks(first.text)) == first.text
    short = answer(request("How should I approach Globex?", max_tokens=4))
    assert short.finish == "length"
    assert short.output_tokens <= 4
    assert answer(req, Script(text="fixed")).text == "fixed"
    summary = answer(request("deal 1", tool_results=[ToolResult("get_deal", "stage: won")]))
    assert summary.text == "The get deal lookup says: stage: won"


def segments(*texts: str, marks: tuple[int, ...] = ()) -> list[Segment]:
    return [Segment(t, count_tokens(t), i in marks) for i, t in enumerate(texts)]


def test_automatic_cache_needs_a_long_repeated_prefix() -> None:
    cache = PromptCache()
    long = "x" * 6000  # 1500 tokens
    assert cache.automatic("s", segments(long, "q1")).read == 0
    hit = cache.automatic("s", segments(long, "q2")).read
    assert hit == 1408  # 1500 rounded down to 128-token steps
    assert cache.automatic("other-model", segments(long, "q2")).read == 0
    assert cache.automatic("s", segments("short", "q")).read == 0
    assert cache.automatic("s", segments("short", "q")).read == 0


def test_explicit_cache_writes_then_reads_at_breakpoints() -> None:
    cache = PromptCache()
    system = "s" * 400  # 100 tokens
    first = cache.explicit("c", segments(system, "q1", marks=(0,)))
    assert (first.read, first.write) == (0, 100)
    second = cache.explicit("c", segments(system, "q2", "q3", marks=(0, 2)))
    assert (second.read, second.write) == (100, 2)
    assert cache.explicit("c", segments(system, "q1")).write == 0  # no breakpoint: no caching
    assert cache.explicit("c", segments("t" * 40, marks=(0,)), min_tokens=1024).write == 0
