"""Usage shapes scripted per provider, as each API reports them to its real SDK; cut
streams at a chosen byte; and what the ledger says each request was billed."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as gt

from salesctl.llm.simulator import RemoteSimulator, Simulator

ASK = [{"role": "user", "content": "How should I follow up with Acme about the renewal?"}]
TLS = ssl.create_default_context()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def oai(sim: Simulator, provider: str = "openai") -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    return openai.AsyncOpenAI(
        base_url=sim.base_urls()[provider], api_key="k", max_retries=0, http_client=http
    )


async def test_anthropic_reports_five_minute_and_one_hour_cache_writes_and_thinking(
    sim: Simulator,
) -> None:
    sim.shape_next(
        "claude",
        prompt_tokens=12_000,
        cache_read_tokens=3000,
        cache_write_tokens=5000,
        cache_write_1h_tokens=2000,
        output_tokens=40,
        reasoning_tokens=300,
        served_model="claude-sonnet-4-5-20991231",
    )
    client = anthropic.AsyncAnthropic(base_url=sim.base_urls()["claude"], api_key="k")
    message = await client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=ASK)
    await client.close()
    usage = message.usage
    assert message.model == "claude-sonnet-4-5-20991231"
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (4000, 3000)
    assert usage.cache_creation_input_tokens == 5000
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_5m_input_tokens == 3000
    assert usage.cache_creation.ephemeral_1h_input_tokens == 2000
    assert usage.output_tokens == 340  # thinking is inside output_tokens
    [served] = sim.ledger
    assert (served.cache_write_1h_tokens, served.output_tokens, served.reasoning_tokens) == (
        2000,
        40,
        300,
    )
    assert served.fully_reported


async def test_openai_style_reasoning_cached_input_and_openrouter_cost(sim: Simulator) -> None:
    sim.shape_next("openai", prompt_tokens=5000, cache_read_tokens=4096, reasoning_tokens=700)
    async with oai(sim) as client:
        completion = await client.chat.completions.create(model="o4-mini", messages=ASK)
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 5000
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4096
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 700
    assert usage.completion_tokens > 700

    body = {"usage": {"include": True}}
    async with oai(sim, "openrouter") as client:
        sim.shape_next("openrouter", cache_write_tokens=64)
        with_cost = await client.chat.completions.create(
            model="deepseek/deepseek-chat", messages=ASK, extra_body=body
        )
        sim.shape_next("openrouter", report_cost=False)
        without = await client.chat.completions.create(
            model="deepseek/deepseek-chat", messages=ASK, extra_body=body
        )
    assert with_cost.usage is not None
    assert with_cost.usage.model_extra is not None
    assert with_cost.usage.model_extra["cost"] > 0
    assert with_cost.usage.prompt_tokens_details is not None
    assert with_cost.usage.prompt_tokens_details.cache_write_tokens == 64
    assert without.usage is not None
    assert "cost" not in (without.usage.model_extra or {})
    assert [c.cost_usd_reported is None for c in sim.ledger[1:]] == [False, True]


async def test_gemini_thoughts_cached_and_long_prompts(sim: Simulator) -> None:
    sim.shape_next("gemini", prompt_tokens=150_000, cache_read_tokens=20_000, reasoning_tokens=900)
    tls = {"verify": TLS}
    options = gt.HttpOptions(
        base_url=sim.base_urls()["gemini"], client_args=tls, async_client_args=tls
    )
    client = genai.Client(api_key="k", http_options=options)
    try:
        response = await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="How should I follow up with Acme?"
        )
    finally:
        await client.aio.aclose()
        client.close()
    metadata = response.usage_metadata
    assert metadata is not None
    assert (metadata.prompt_token_count, metadata.cached_content_token_count) == (150_000, 20_000)
    assert metadata.thoughts_token_count == 900
    [served] = sim.ledger
    assert (served.input_tokens, served.cache_read_tokens) == (130_000, 20_000)


async def test_a_stream_cut_at_a_byte_is_billed_for_what_it_sent(sim: Simulator) -> None:
    sim.shape_next("openai", output_tokens=300)
    sim.fail_next("openai", kind="cut_stream", after_bytes=700)
    received: list[str] = []
    async with oai(sim) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ASK,
            stream=True,
            stream_options={"include_usage": True},
        )
        with pytest.raises(openai.APIError):
            await _drain(stream, received)
    [served] = sim.ledger
    assert not served.usage_reported
    assert not served.fully_reported
    assert served.billed_prompt_tokens > 0
    # Billed for the share of its 300 output tokens it sent before the cut.
    assert 0 < served.billed_output_tokens < 300
    assert received


async def _drain(stream: Any, into: list[str]) -> None:
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            into.append(chunk.choices[0].delta.content)


async def test_a_held_request_is_billed_its_prompt_and_an_error_status_nothing(
    sim: Simulator,
) -> None:
    sim.fail_next("openai", kind="timeout", delay=1.0)
    sim.fail_next("openai", 500)
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    async with openai.AsyncOpenAI(
        base_url=sim.base_urls()["openai"],
        api_key="k",
        max_retries=0,
        timeout=0.2,
        http_client=http,
    ) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    for _ in range(100):  # the held request is recorded once the simulator lets go of it
        if len(sim.ledger) == 2:
            break
        await asyncio.sleep(0.05)
    held, failed = sorted(sim.ledger, key=lambda c: c.status)
    assert (held.fault, held.billed_prompt_tokens > 0, held.billed_output_tokens) == (
        "timeout",
        True,
        0,
    )
    assert (failed.status, failed.billed_prompt_tokens, failed.fully_reported) == (500, 0, True)


def test_shapes_are_validated_and_scriptable_over_http(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown usage figure"):
        sim.shape_next("openai", cache_tokens=5)
    with pytest.raises(ValueError, match="cannot exceed prompt_tokens"):
        sim.shape_next("claude", prompt_tokens=10, cache_read_tokens=20)
    with pytest.raises(ValueError, match="part of cache_write_tokens"):
        sim.shape_next("claude", cache_write_tokens=1, cache_write_1h_tokens=2)
    with pytest.raises(ValueError, match="after_bytes"):
        sim.fail_next("openai", 500, after_bytes=10)
    remote = RemoteSimulator(sim.url)
    remote.shape_next("openai", reasoning_tokens=33)
    with openai.OpenAI(base_url=sim.base_urls()["openai"], api_key="k") as client:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 33
    assert remote.ledger[0].reasoning_tokens == 33
