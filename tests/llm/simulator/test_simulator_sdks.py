"""The simulator driven by the real, unmodified provider SDKs (async clients) over loopback."""

from __future__ import annotations

import asyncio
import enum
import json
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import cerebras.cloud.sdk as cerebras_sdk
import httpx
import httpx2
import openai
import pytest
from cerebras.cloud.sdk import AsyncCerebras
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gt
from pydantic import BaseModel, Field, ValidationError

from salesctl.llm.simulator import RemoteSimulator, Simulator


class Stage(enum.StrEnum):
    new = "new"
    qualified = "qualified"
    lost = "lost"


class Contact(BaseModel):
    name: str
    email: str


class LeadScore(BaseModel):
    company: str
    score: int = Field(ge=0, le=100)
    stage: Stage
    contacts: list[Contact] = Field(min_length=1, max_length=3)
    notes: str | None = None
    probability: float = Field(ge=0, le=1)


DEAL_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_deal",
            "description": "Fetch one deal by its id",
            "parameters": {
                "type": "object",
                "properties": {"deal_id": {"type": "integer"}},
                "required": ["deal_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "top_leads",
            "description": "List the best leads ranked by score",
            "parameters": {
                "type": "object",
                "properties": {"limit": {"type": "integer", "minimum": 1}},
            },
        },
    },
]
CLAUDE_TOOLS = [
    {
        "name": t["function"]["name"],
        "description": t["function"]["description"],
        "input_schema": t["function"]["parameters"],
    }
    for t in DEAL_TOOLS
]
TOOL_RESULT = '{"deal_id": 1, "stage": "negotiation", "value_usd": 42000}'
LONG_SYSTEM = "You are a meticulous sales assistant for Acme. " * 120  # > 1024 tokens
ASK = [{"role": "user", "content": "How should I follow up with Acme about the renewal?"}]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


# Loading the CA bundle costs ~70 ms per client; the simulator is plain HTTP, so share one.
TLS = ssl.create_default_context()


def oai(sim: Simulator, provider: str = "openai", **kw: Any) -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    options: dict[str, Any] = {"max_retries": 0, "timeout": 5.0, "http_client": http, **kw}
    return openai.AsyncOpenAI(base_url=sim.base_urls()[provider], api_key="sk-test", **options)


def claude(sim: Simulator, **kw: Any) -> anthropic.AsyncAnthropic:
    http = anthropic.DefaultAsyncHttpxClient(verify=TLS)
    options: dict[str, Any] = {"max_retries": 0, "timeout": 5.0, "http_client": http, **kw}
    return anthropic.AsyncAnthropic(base_url=sim.base_urls()["claude"], api_key="k", **options)


def cerebras(sim: Simulator, **kw: Any) -> AsyncCerebras:
    http = cerebras_sdk.DefaultAsyncHttpxClient(verify=TLS)
    options: dict[str, Any] = {"max_retries": 0, "timeout": 5.0, "http_client": http, **kw}
    return AsyncCerebras(
        base_url=sim.base_urls()["cerebras"], api_key="k", warm_tcp_connection=False, **options
    )


@asynccontextmanager
async def gemini(sim: Simulator, **http: Any) -> AsyncIterator[Any]:
    tls = {"verify": TLS}
    options = gt.HttpOptions(
        base_url=sim.base_urls()["gemini"],
        **{"timeout": 5000, "client_args": tls, "async_client_args": tls, **http},
    )
    client = genai.Client(api_key="k", http_options=options)
    try:
        yield client.aio
    finally:
        await client.aio.aclose()
        client.close()


async def collect(stream: Any, into: list[Any]) -> None:
    """Drain a stream into `into`, so a test sees what arrived before an error."""
    async for item in stream:
        into.append(item)


async def collect_texts(manager: Any, into: list[str]) -> None:
    """Drain an anthropic `messages.stream(...)` manager's text into `into`."""
    async with manager as stream:
        async for text in stream.text_stream:
            into.append(text)


# --- OpenAI -----------------------------------------------------------------------------------


async def test_openai_completion_served_model_usage_and_labels(sim: Simulator) -> None:
    async with oai(sim) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ASK
        )
        response = raw.parse()
    assert raw.headers["x-salesctl-simulated"] == "true"
    assert response.id.startswith("sim-")
    assert response.model == "gpt-4o-mini-2024-07-18"
    text = response.choices[0].message.content or ""
    assert "Acme" in text
    assert "simulat" not in text.lower()
    usage = response.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    [call] = sim.ledger
    assert (call.provider, call.model, call.requested_model) == (
        "openai",
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini",
    )
    assert (call.input_tokens, call.output_tokens, call.status) == (
        usage.prompt_tokens,
        usage.completion_tokens,
        200,
    )


async def test_openai_answers_are_deterministic(sim: Simulator) -> None:
    async with oai(sim) as client:
        first = await client.chat.completions.create(model="gpt-4o", messages=ASK)
        second = await client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage


@pytest.mark.parametrize("choices_on_usage_chunk", [False, True])
async def test_openai_stream_reports_usage_in_final_chunk(
    sim: Simulator, choices_on_usage_chunk: bool
) -> None:
    sim.quirks["usage_chunk_has_choices"] = choices_on_usage_chunk
    async with oai(sim) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ASK,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert all(c.usage is None for c in chunks[:-1])
    final = chunks[-1]
    assert final.usage is not None
    assert bool(final.choices) is choices_on_usage_chunk
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-2:] == (
        ["stop", None] if choices_on_usage_chunk else [None, "stop"]
    )
    [call] = sim.ledger
    assert call.stream
    assert call.output_tokens == final.usage.completion_tokens


async def test_openai_stream_without_include_usage_reports_nothing(sim: Simulator) -> None:
    async with oai(sim) as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True)
        chunks = [chunk async for chunk in stream]
    assert all(c.usage is None for c in chunks)
    [call] = sim.ledger
    assert not call.usage_reported
    assert call.output_tokens == 0


async def test_openai_tool_call_then_tool_result_answer(sim: Simulator) -> None:
    question = {"role": "user", "content": "What is the status of deal 1?"}
    async with oai(sim) as client:
        first = await client.chat.completions.create(
            model="gpt-4o", messages=[question], tools=DEAL_TOOLS
        )
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls or []
        assert call.function.name == "get_deal"
        assert json.loads(call.function.arguments) == {"deal_id": 1}
        second = await client.chat.completions.create(
            model="gpt-4o",
            tools=DEAL_TOOLS,
            messages=[
                question,
                choice.message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT},
            ],
        )
        top = await client.chat.completions.create(
            model="gpt-4o",
            tools=DEAL_TOOLS,
            messages=[{"role": "user", "content": "Show me the top 3 leads"}],
        )
    assert second.choices[0].finish_reason == "stop"
    assert "negotiation" in (second.choices[0].message.content or "")
    [top_call] = top.choices[0].message.tool_calls or []
    assert (top_call.function.name, json.loads(top_call.function.arguments)) == (
        "top_leads",
        {"limit": 3},
    )


async def test_openai_streamed_tool_call_and_forced_tool_choice(sim: Simulator) -> None:
    async with oai(sim) as client:
        async with client.chat.completions.stream(
            model="gpt-4o",
            messages=[{"role": "user", "content": "What is the status of deal 12?"}],
            tools=DEAL_TOOLS,
        ) as stream:
            completion = await stream.get_final_completion()
        forced = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hello"}],
            tools=DEAL_TOOLS,
            tool_choice={"type": "function", "function": {"name": "top_leads"}},
        )
        declined = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}], tools=DEAL_TOOLS
        )
    [call] = completion.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_deal",
        {"deal_id": 12},
    )
    assert (forced.choices[0].message.tool_calls or [])[0].function.name == "top_leads"
    assert declined.choices[0].message.tool_calls is None  # nothing in "hello" matches a tool


async def test_openai_structured_output_parses(sim: Simulator) -> None:
    async with oai(sim) as client:
        response = await client.chat.completions.parse(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Score the lead Initech from the call notes"}],
            response_format=LeadScore,
        )
        json_mode = await client.chat.completions.create(
            model="gpt-4o", messages=ASK, response_format={"type": "json_object"}
        )
    parsed = response.choices[0].message.parsed
    assert isinstance(parsed, LeadScore)
    assert parsed.company == "Initech"
    assert isinstance(json.loads(json_mode.choices[0].message.content or ""), dict)


async def test_openai_wrong_content_does_not_fit_schema(sim: Simulator) -> None:
    sim.fail_next("openai", kind="wrong_content")
    async with oai(sim) as client:
        with pytest.raises(ValidationError):
            await client.chat.completions.parse(
                model="gpt-4o", messages=ASK, response_format=LeadScore
            )
    assert sim.ledger[0].fault == "wrong_content"


async def test_openai_automatic_prompt_cache(sim: Simulator) -> None:
    messages = [{"role": "system", "content": LONG_SYSTEM}, *ASK]
    async with oai(sim) as client:
        first = await client.chat.completions.create(model="gpt-4o", messages=messages)
        other = [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "Hi"}]
        second = await client.chat.completions.create(model="gpt-4o", messages=other)
    assert first.usage
    assert second.usage
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 1024
    assert cached % 128 == 0
    assert cached < second.usage.prompt_tokens
    assert sim.ledger[1].cache_read_tokens == cached
    assert sim.ledger[1].input_tokens == second.usage.prompt_tokens - cached  # uncached part


async def test_openai_max_tokens_truncates(sim: Simulator) -> None:
    async with oai(sim) as client:
        response = await client.chat.completions.create(
            model="gpt-4o", messages=ASK, max_completion_tokens=5
        )
    assert response.choices[0].finish_reason == "length"
    assert response.usage
    assert response.usage.completion_tokens <= 5


async def test_scripted_answers_override_the_brain(sim: Simulator) -> None:
    sim.script("openai", text="exact answer")
    sim.script("openai", json={"score": 7})
    sim.script("openai", tool_calls=[{"name": "get_deal", "arguments": {"deal_id": 9}}])
    async with oai(sim) as client:
        texts = []
        for _ in range(3):
            response = await client.chat.completions.create(model="gpt-4o", messages=ASK)
            texts.append(response.choices[0].message)
    assert texts[0].content == "exact answer"
    assert json.loads(texts[1].content or "") == {"score": 7}
    assert json.loads((texts[2].tool_calls or [])[0].function.arguments) == {"deal_id": 9}


async def test_openai_429_retry_after_then_success(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:  # the SDK's clock: record, do not wait
        waits.append(seconds)

    monkeypatch.setattr(openai._base_client.anyio, "sleep", fake_sleep)
    sim.fail_next("openai", 429, retry_after=0.2)
    async with oai(sim, max_retries=2) as client:
        response = await client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert waits == [pytest.approx(0.2)]  # it waited as long as retry-after said
    assert response.choices[0].message.content
    assert [c.status for c in sim.ledger] == [429, 200]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
async def test_openai_status_errors(sim: Simulator, status: int, error: type) -> None:
    sim.fail_next("openai", status)
    async with oai(sim) as client:
        with pytest.raises(error) as info:
            await client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict)
    assert "message" in info.value.body
    assert sim.ledger[0].status == status


async def test_openai_malformed_timeout_refused_and_cut(sim: Simulator) -> None:
    async with oai(sim, timeout=0.3) as client:
        sim.fail_next("openai", kind="malformed")
        with pytest.raises(json.JSONDecodeError):
            await client.chat.completions.create(model="gpt-4o", messages=ASK)
        sim.fail_next("openai", kind="timeout", delay=2.0)
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="gpt-4o", messages=ASK)
        sim.fail_next("openai", kind="refused")
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(model="gpt-4o", messages=ASK)
        sim.fail_next("openai", kind="cut_stream", after_chunks=2)
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
        received: list[Any] = []
        with pytest.raises(openai.APIConnectionError):
            await collect(stream, received)
    assert len([c for c in received if c.choices and c.choices[0].delta.content]) == 2
    assert [(c.fault, c.status, c.usage_reported) for c in sim.ledger] == [
        ("malformed", 200, False),
        ("timeout", 0, False),
        ("refused", 0, False),
        ("cut_stream", 200, False),
    ]


async def test_openai_timeout_is_retried_by_the_sdk(sim: Simulator) -> None:
    sim.fail_next("openai", kind="timeout", delay=2.0)
    async with oai(sim, timeout=0.3, max_retries=1) as client:
        response = await client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert response.choices[0].message.content
    assert [c.status for c in sim.ledger] == [0, 200]


# --- OpenRouter and Cerebras ------------------------------------------------------------------


async def test_openrouter_reports_cost_and_served_model(sim: Simulator) -> None:
    async with oai(sim, "openrouter") as client:
        response = await client.chat.completions.create(
            model="deepseek/deepseek-chat", messages=ASK, extra_body={"usage": {"include": True}}
        )
        stream = await client.chat.completions.create(
            model="deepseek/deepseek-chat",
            messages=ASK,
            stream=True,
            extra_body={"usage": {"include": True}},
        )
        chunks = [chunk async for chunk in stream]
        plain = await client.chat.completions.create(model="deepseek/deepseek-chat", messages=ASK)
    assert response.model == "deepseek/deepseek-chat-v3-0324"
    usage = response.usage
    assert usage is not None
    expected = (usage.prompt_tokens * 0.27 + usage.completion_tokens * 1.10) / 1e6
    cost = (usage.model_extra or {})["cost"]
    assert cost == pytest.approx(expected)
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.model_extra or {})["cost"] == pytest.approx(expected)
    assert "cost" not in (plain.usage.model_extra or {}) if plain.usage else True
    assert [c.cost_usd_reported for c in sim.ledger] == [cost, cost, None]


async def test_cerebras_stream_tools_and_json_schema(sim: Simulator) -> None:
    schema = LeadScore.model_json_schema()
    async with cerebras(sim) as client:
        stream = await client.chat.completions.create(
            model="llama3.1-8b", messages=ASK, stream=True
        )
        chunks = [chunk async for chunk in stream]
        tools = await client.chat.completions.create(
            model="llama3.1-8b",
            messages=[{"role": "user", "content": "Get deal 5"}],
            tools=DEAL_TOOLS,
        )
        structured = await client.chat.completions.create(
            model="llama3.1-8b",
            messages=ASK,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "lead", "schema": schema, "strict": True},
            },
        )
    final = chunks[-1]
    assert final.usage is not None
    assert final.time_info is not None
    assert final.choices
    assert final.choices[0].finish_reason == "stop"
    [call] = tools.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments or "") == {"deal_id": 5}
    LeadScore.model_validate_json(structured.choices[0].message.content or "")
    assert structured.time_info is not None
    assert sim.ledger[0].output_tokens == final.usage.completion_tokens


async def test_cerebras_429_retry_and_error_shape(sim: Simulator) -> None:
    sim.fail_next("cerebras", 429, retry_after=0.05)
    async with cerebras(sim, max_retries=1) as client:
        response = await client.chat.completions.create(model="llama3.1-8b", messages=ASK)
        assert response.choices[0].message.content
        sim.fail_next("cerebras", 429)
        client_no_retry = client.with_options(max_retries=0)
        with pytest.raises(cerebras_sdk.RateLimitError) as info:
            await client_no_retry.chat.completions.create(model="llama3.1-8b", messages=ASK)
    assert info.value.status_code == 429
    assert info.value.body["type"] == "too_many_requests_error"  # type: ignore[index]


# --- Anthropic --------------------------------------------------------------------------------


async def test_anthropic_message_and_stream_event_sequence(sim: Simulator) -> None:
    async with claude(sim) as client:
        message = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=200, messages=ASK
        )
        stream = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=200, messages=ASK, stream=True
        )
        events = [event async for event in stream]
    assert message.id.startswith("sim_")
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.stop_reason == "end_turn"
    assert "Acme" in message.content[0].text
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    start, delta = events[0], events[-2]
    assert start.message.usage.input_tokens == message.usage.input_tokens  # type: ignore[union-attr]
    assert delta.usage.output_tokens == message.usage.output_tokens  # type: ignore[union-attr]
    assert [c.output_tokens for c in sim.ledger] == [message.usage.output_tokens] * 2


async def test_anthropic_tool_use_streamed_then_tool_result(sim: Simulator) -> None:
    question = {"role": "user", "content": "What is the status of deal 1?"}
    async with claude(sim) as client:
        async with client.messages.stream(
            model="claude-opus-4-5", max_tokens=300, messages=[question], tools=CLAUDE_TOOLS
        ) as stream:
            kinds = [event.type async for event in stream]
            first = await stream.get_final_message()
        assert "input_json" in kinds
        assert first.stop_reason == "tool_use"
        [tool_use] = [b for b in first.content if b.type == "tool_use"]
        assert (tool_use.name, tool_use.input) == ("get_deal", {"deal_id": 1})
        second = await client.messages.create(
            model="claude-opus-4-5",
            max_tokens=300,
            tools=CLAUDE_TOOLS,
            messages=[
                question,
                {"role": "assistant", "content": [b.model_dump() for b in first.content]},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}
                    ],
                },
            ],
        )
    assert second.stop_reason == "end_turn"
    assert "negotiation" in second.content[0].text  # type: ignore[union-attr]


async def test_anthropic_cache_control_buckets(sim: Simulator) -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    async with claude(sim) as client:
        first = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, system=system, messages=ASK
        )
        second = await client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            system=system,
            messages=[{"role": "user", "content": "Anything else?"}],
        )
        async with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=100, system=system, messages=ASK
        ) as stream:
            streamed = await stream.get_final_message()
    assert first.usage.cache_creation_input_tokens
    assert not first.usage.cache_read_input_tokens
    written = first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens < 20  # only the uncached question
    assert streamed.usage.cache_read_input_tokens == written
    assert [(c.cache_read_tokens, c.cache_write_tokens) for c in sim.ledger] == [
        (0, written),
        (written, 0),
        (written, 0),
    ]


async def test_anthropic_structured_output_native_and_forced_tool(sim: Simulator) -> None:
    record = {
        "name": "record_lead",
        "description": "Record the lead assessment",
        "input_schema": LeadScore.model_json_schema(),
    }
    async with claude(sim) as client:
        parsed = await client.messages.parse(
            model="claude-opus-4-5",
            max_tokens=500,
            messages=[{"role": "user", "content": "Assess the lead Globex"}],
            output_format=LeadScore,
        )
        forced = await client.messages.create(
            model="claude-opus-4-5",
            max_tokens=500,
            messages=[{"role": "user", "content": "Assess the lead Globex"}],
            tools=[record],
            tool_choice={"type": "tool", "name": "record_lead"},
        )
    assert isinstance(parsed.parsed_output, LeadScore)
    assert parsed.parsed_output.company == "Globex"
    [block] = forced.content
    assert block.type == "tool_use"
    assert forced.stop_reason == "tool_use"
    assert LeadScore.model_validate(block.input).company == "Globex"


async def test_anthropic_errors_and_retry(sim: Simulator) -> None:
    sim.fail_next("claude", 429, retry_after=0.05)
    async with claude(sim, max_retries=1) as client:
        message = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=ASK
        )
    assert message.content
    sim.fail_next("claude", 429, retry_after=3)
    sim.fail_next("claude", 529)
    async with claude(sim) as client:
        with pytest.raises(anthropic.RateLimitError) as info:
            await client.messages.create(model="m", max_tokens=50, messages=ASK)
        assert info.value.response.headers["retry-after"] == "3"
        assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        with pytest.raises(anthropic.APIStatusError) as overloaded:
            await client.messages.create(model="m", max_tokens=50, messages=ASK)
        assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_anthropic_cut_stream_keeps_message_start_usage(sim: Simulator) -> None:
    sim.fail_next("claude", kind="cut_stream", after_chunks=2)
    async with claude(sim) as client:
        texts: list[str] = []
        stream = client.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=ASK)
        # anthropic 2.x wraps a transport error raised while iterating a stream in its own
        # APIConnectionError (1.x let httpx2's error through); salesctl classifies both.
        with pytest.raises(anthropic.APIConnectionError, match="incomplete chunked read") as cut:
            await collect_texts(stream, texts)
        assert isinstance(cut.value.__cause__, httpx2.RemoteProtocolError)
    assert len(texts) == 2
    [call] = sim.ledger
    assert call.fault == "cut_stream"
    assert call.usage_reported
    assert call.input_tokens > 0
    assert call.output_tokens == 1


# --- Gemini -----------------------------------------------------------------------------------


async def test_gemini_generate_and_stream(sim: Simulator) -> None:
    async with gemini(sim) as client:
        response = await client.models.generate_content(
            model="gemini-2.5-flash", contents="Which leads at Acme are hot?"
        )
        chunks = [
            chunk
            async for chunk in await client.models.generate_content_stream(
                model="gemini-2.5-flash", contents="Which leads at Acme are hot?"
            )
        ]
    assert response.response_id
    assert response.response_id.startswith("sim-")
    assert response.model_version == "gemini-2.5-flash"
    assert "Acme" in (response.text or "")
    usage = response.usage_metadata
    assert usage is not None
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert "".join(c.text or "" for c in chunks) == response.text
    assert all(c.usage_metadata is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata == usage
    assert [c.output_tokens for c in sim.ledger] == [usage.candidates_token_count] * 2


async def test_gemini_function_call_then_function_response(sim: Simulator) -> None:
    tool = gt.Tool(
        function_declarations=[
            gt.FunctionDeclaration(
                name=t["function"]["name"],
                description=t["function"]["description"],
                parameters_json_schema=t["function"]["parameters"],
            )
            for t in DEAL_TOOLS
        ]
    )
    config = gt.GenerateContentConfig(tools=[tool])
    question = gt.Content(role="user", parts=[gt.Part(text="What is the status of deal 1?")])
    async with gemini(sim) as client:
        first = await client.models.generate_content(
            model="gemini-2.5-flash", contents=[question], config=config
        )
        [call] = first.function_calls or []
        assert (call.name, call.args) == ("get_deal", {"deal_id": 1})
        answer = gt.Part.from_function_response(
            name="get_deal", response={"result": json.loads(TOOL_RESULT)}
        )
        second = await client.models.generate_content(
            model="gemini-2.5-flash",
            contents=[
                question,
                first.candidates[0].content,
                gt.Content(role="user", parts=[answer]),
            ],  # type: ignore[index]
            config=config,
        )
    assert not second.function_calls
    assert "negotiation" in (second.text or "")


async def test_gemini_structured_output_and_thinking(sim: Simulator) -> None:
    async with gemini(sim) as client:
        response = await client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Assess the lead Umbrella",
            config=gt.GenerateContentConfig(
                response_mime_type="application/json",
                response_schema=LeadScore,
                thinking_config=gt.ThinkingConfig(thinking_budget=256),
            ),
        )
        json_schema = await client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Assess the lead Umbrella",
            config=gt.GenerateContentConfig(
                response_mime_type="application/json",
                response_json_schema=LeadScore.model_json_schema(),
            ),
        )
    assert isinstance(response.parsed, LeadScore)
    assert response.parsed.company == "Umbrella"
    LeadScore.model_validate_json(json_schema.text or "")
    usage = response.usage_metadata
    assert usage
    assert usage.thoughts_token_count
    assert usage.total_token_count == (
        (usage.prompt_token_count or 0)
        + (usage.candidates_token_count or 0)
        + usage.thoughts_token_count
    )
    assert sim.ledger[0].reasoning_tokens == usage.thoughts_token_count


async def test_gemini_implicit_cache(sim: Simulator) -> None:
    config = gt.GenerateContentConfig(system_instruction=LONG_SYSTEM)
    async with gemini(sim) as client:
        first = await client.models.generate_content(
            model="gemini-2.5-flash", contents="Hi", config=config
        )
        second = await client.models.generate_content(
            model="gemini-2.5-flash", contents="Anything new?", config=config
        )
    assert first.usage_metadata
    assert not first.usage_metadata.cached_content_token_count
    usage = second.usage_metadata
    assert usage
    assert usage.cached_content_token_count
    assert usage.cached_content_token_count < (usage.prompt_token_count or 0)
    assert sim.ledger[1].cache_read_tokens == usage.cached_content_token_count


async def test_gemini_errors_and_retry(sim: Simulator) -> None:
    sim.fail_next("gemini", 429)
    async with gemini(sim) as client:
        with pytest.raises(genai_errors.ClientError) as info:
            await client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    sim.fail_next("gemini", 503)
    retry = gt.HttpRetryOptions(attempts=2, initial_delay=0.01, max_delay=0.05)
    async with gemini(sim, retry_options=retry) as client:
        response = await client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
        assert response.text
        sim.fail_next("gemini", kind="malformed")
        with pytest.raises(json.JSONDecodeError):
            await client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    async with gemini(sim, timeout=300) as client:
        sim.fail_next("gemini", kind="timeout", delay=2.0)
        with pytest.raises((httpx.TimeoutException, httpx2.TimeoutException)):
            await client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert [c.status for c in sim.ledger] == [429, 503, 200, 200, 0]


async def test_gemini_cut_stream(sim: Simulator) -> None:
    sim.fail_next("gemini", kind="cut_stream", after_chunks=1)
    async with gemini(sim) as client:
        received: list[Any] = []
        stream = await client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Which leads at Acme are hot?"
        )
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            await collect(stream, received)
    assert len(received) == 1
    assert received[0].usage_metadata is None


# --- every provider ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "shape"),
    [
        ("openai", "/chat/completions", lambda b: b["error"]["code"] == "invalid_api_key"),
        ("openrouter", "/chat/completions", lambda b: b["error"]["code"] == 401),
        ("cerebras", "/v1/chat/completions", lambda b: b["type"] == "invalid_request_error"),
        ("claude", "/v1/messages", lambda b: b["error"]["type"] == "authentication_error"),
        (
            "gemini",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            lambda b: b["error"]["status"] == "UNAUTHENTICATED",
        ),
    ],
)
async def test_missing_key_is_401_in_provider_shape(
    sim: Simulator, provider: str, path: str, shape: Any
) -> None:
    body = {
        "model": "m",
        "messages": ASK,
        "max_tokens": 10,
        "contents": [{"parts": [{"text": "x"}]}],
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(sim.base_urls()[provider] + path, json=body)
    assert response.status_code == 401
    assert response.headers["x-salesctl-simulated"] == "true"
    assert shape(response.json())
    assert [(c.provider, c.status) for c in sim.ledger] == [(provider, 401)]


async def test_fail_next_without_provider_hits_any_and_reset_clears(sim: Simulator) -> None:
    sim.fail_next(status=500, times=2)
    async with claude(sim) as client, oai(sim) as other:
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(model="m", max_tokens=10, messages=ASK)
        with pytest.raises(openai.InternalServerError):
            await other.chat.completions.create(model="gpt-4o", messages=ASK)
        sim.fail_next(status=500)
        sim.reset()
        assert sim.ledger == []
        assert sim.pending_faults == []
        await other.chat.completions.create(model="gpt-4o", messages=ASK)


async def test_control_surface_over_http(sim: Simulator) -> None:
    remote = RemoteSimulator(sim.url)
    assert remote.env() == sim.env()
    await asyncio.to_thread(remote.script, "openai", text="from the control surface")
    await asyncio.to_thread(remote.fail_next, "openai", 503, retry_after=0.01)
    async with oai(sim, max_retries=1) as client:
        response = await client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert response.choices[0].message.content == "from the control surface"
    ledger = await asyncio.to_thread(lambda: remote.ledger)
    assert [c.status for c in ledger] == [503, 200]
    assert ledger == sim.ledger
    await asyncio.to_thread(remote.reset)
    assert sim.ledger == []


async def test_concurrent_requests_are_served_in_parallel() -> None:
    def ask(client: openai.AsyncOpenAI, i: int) -> Any:
        return client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"lead {i}"}]
        )

    with Simulator() as sim:
        sim.fail_next("openai", kind="slow", delay=600)  # holds the first request it takes
        async with oai(sim, timeout=60) as client:
            tasks = [asyncio.create_task(ask(client, i)) for i in range(32)]
            answered = asyncio.as_completed(tasks)
            # Served one after another, none would be answered before the held one (whose
            # client gives up after a minute: then this fails instead of waiting).
            for _ in range(31):
                await next(answered)
            (held,) = [task for task in tasks if not task.done()]
            assert len(sim.ledger) == 31
            held.cancel()
            with pytest.raises(asyncio.CancelledError):
                await held


def test_module_main_prints_env_lines() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "salesctl.llm.simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(5)]
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout:
            process.stdout.close()
    assert [line.split("=")[0] for line in lines] == [
        "export CEREBRAS_BASE_URL",
        "export ANTHROPIC_BASE_URL",
        "export GOOGLE_GEMINI_BASE_URL",
        "export OPENROUTER_BASE_URL",
        "export OPENAI_BASE_URL",
    ]
    assert lines[4].endswith("/openai/v1")
