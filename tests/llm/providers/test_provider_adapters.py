"""Every adapter, through its real SDK, against the provider simulator over HTTP.

The simulator's ledger records the usage each response reported (normalised to salesctl's
convention), so each test compares what the adapter returned with what the server said.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from provider_cases import MAX_RETRIES, MODELS

from salesctl.config import ProviderOptions, Settings
from salesctl.errors import MissingAPIKey, ProviderError
from salesctl.llm.simulator import ServedCall, Simulator
from salesctl.llm.types import (
    Message,
    ProviderAdapter,
    ProviderRequest,
    ProviderResponse,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROVIDERS = list(MODELS)
Providers = dict[str, ProviderAdapter]
OPENAI_STYLE = ["cerebras", "openrouter", "openai"]

TOP_LEADS = ToolSpec(
    name="get_top_leads",
    description="List the top leads by qualification score.",
    parameters={
        "type": "object",
        "properties": {"limit": {"type": "integer", "description": "How many leads"}},
        "required": ["limit"],
    },
)
SCORE_SCHEMA: dict[str, Any] = {
    "title": "LeadScore",
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "tier": {"type": "string", "enum": ["hot", "warm", "cold"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["score", "tier", "reasons"],
}


def ask(
    provider: str, text: str = "Qualify TechCorp Inc as a lead", **fields: Any
) -> ProviderRequest:
    return ProviderRequest(model=MODELS[provider], messages=(Message("user", text),), **fields)


def expected_usage(call: ServedCall) -> Usage:
    """The ledger's usage in salesctl's convention (thinking tokens count as output)."""
    return Usage(
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens + call.reasoning_tokens,
        cache_read_tokens=call.cache_read_tokens,
        cache_write_tokens=call.cache_write_tokens,
    )


async def collect(provider: Any, request: ProviderRequest) -> tuple[list[str], ProviderResponse]:
    """Run a stream to its end: the text deltas, and the one final response."""
    deltas: list[str] = []
    finals: list[ProviderResponse] = []
    async for event in provider.stream(request):
        assert not finals, "nothing may follow the final response"
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            finals.append(event)
    assert len(finals) == 1
    return deltas, finals[0]


# --- plain and streamed answers -----------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
async def test_completion_reports_the_servers_usage_and_served_model(
    name: str, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    response = await provider.complete(ask(name, system="You qualify B2B leads."))

    [served] = sim.ledger
    assert response.text.strip()
    assert response.usage == expected_usage(served)
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert response.model == served.model
    assert response.finish_reason == "stop"
    assert response.attempts == 1
    assert response.simulated is True
    assert response.usage_reported is True
    if name != "openrouter":  # only OpenRouter reports the call's cost itself
        assert response.reported_cost_usd is None


@pytest.mark.parametrize("name", ["openai", "claude", "gemini"])
async def test_served_model_is_the_one_the_provider_names(
    name: str, sim: Simulator, providers: Providers
) -> None:
    aliases = {
        "openai": "gpt-4o",
        "claude": "claude-3-5-sonnet-latest",
        "gemini": "gemini-2.0-flash",
    }
    request = ProviderRequest(model=aliases[name], messages=(Message("user", "Hello"),))
    response = await providers[name].complete(request)
    assert response.model == sim.ledger[0].model != aliases[name]


@pytest.mark.parametrize("name", PROVIDERS)
async def test_system_prompt_is_sent_in_the_native_field(
    name: str, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    bare = await provider.complete(ask(name))
    system = "You are a meticulous revenue-operations analyst. " * 10
    with_system = await provider.complete(ask(name, system=system))
    assert with_system.usage.prompt_tokens >= bare.usage.prompt_tokens + len(system) // 4


@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_temperature_reaches_every_provider(
    name: str, sim: Simulator, providers: Providers
) -> None:
    response = await providers[name].complete(ask(name, temperature=0.2))
    assert response.text.strip()
    assert len(sim.ledger) == 1


@pytest.mark.parametrize("name", PROVIDERS)
async def test_stream_yields_text_then_one_response_with_usage(
    name: str, sim: Simulator, providers: Providers
) -> None:
    deltas, final = await collect(providers[name], ask(name))

    [served] = sim.ledger
    assert len(deltas) > 1
    assert "".join(deltas) == final.text
    assert final.usage == expected_usage(served)
    assert final.usage.output_tokens > 0
    assert final.model == served.model
    assert final.finish_reason == "stop"
    assert final.simulated is True


@pytest.mark.parametrize("name", ["openrouter", "openai"])
async def test_stream_usage_on_a_final_chunk_that_still_carries_a_choice(
    name: str, sim: Simulator, providers: Providers
) -> None:
    sim.quirks["usage_chunk_has_choices"] = True
    _, final = await collect(providers[name], ask(name))
    assert final.usage == expected_usage(sim.ledger[0])
    assert final.usage.output_tokens > 0


async def test_gemini_stream_keeps_the_final_usage_when_every_chunk_has_some(
    sim: Simulator, providers: Providers
) -> None:
    sim.quirks["gemini_usage_on_every_chunk"] = True
    _, final = await collect(providers["gemini"], ask("gemini"))
    assert final.usage == expected_usage(sim.ledger[0])
    assert final.usage.output_tokens > 0


# --- tools and structured output ----------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_tool_call_and_tool_result_round_trip(
    name: str, streamed: bool, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    question = Message("user", "Show me top 3 leads")
    first_request = ProviderRequest(
        model=MODELS[name],
        messages=(question,),
        tools=(TOP_LEADS,),
    )
    if streamed:
        _, first = await collect(provider, first_request)
    else:
        first = await provider.complete(first_request)

    [call] = first.tool_calls
    assert call.name == "get_top_leads"
    assert call.arguments == {"limit": 3}
    assert call.id
    assert first.finish_reason == "tool_calls"
    assert first.usage == expected_usage(sim.ledger[0])

    result = json.dumps([{"company": "TechCorp Inc", "score": 92}])
    follow_up = ProviderRequest(
        model=MODELS[name],
        messages=(
            question,
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", result, tool_call_id=call.id),
        ),
        tools=(TOP_LEADS,),
    )
    answer = await provider.complete(follow_up)
    # The simulator answers in prose from the tool result it received.
    assert "TechCorp Inc" in answer.text
    assert "score 92" in answer.text
    assert answer.tool_calls == ()


@pytest.mark.parametrize("name", PROVIDERS)
async def test_several_tool_results_answer_one_assistant_turn(
    name: str, sim: Simulator, providers: Providers
) -> None:
    calls = (
        ToolCall("call_a", "get_top_leads", {"limit": 1}),
        ToolCall("call_b", "get_top_leads", {"limit": 2}),
    )
    request = ProviderRequest(
        model=MODELS[name],
        messages=(
            Message("user", "Compare the top lead with the top two"),
            Message("assistant", "Checking both.", tool_calls=calls),
            Message("tool", "Acme Corp", tool_call_id="call_a"),
            Message("tool", "Acme Corp, Globex", tool_call_id="call_b"),
        ),
        tools=(TOP_LEADS,),
    )
    answer = await providers[name].complete(request)
    assert "Acme Corp" in answer.text
    assert "Globex" in answer.text


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_structured_output_is_json_matching_the_schema(
    name: str, streamed: bool, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    request = ask(name, response_schema=SCORE_SCHEMA)
    if streamed:
        deltas, response = await collect(provider, request)
        assert "".join(deltas) == response.text
    else:
        response = await provider.complete(request)

    value = json.loads(response.text)
    assert set(value) >= {"score", "tier", "reasons"}
    assert isinstance(value["score"], int)
    assert 0 <= value["score"] <= 100
    assert value["tier"] in ("hot", "warm", "cold")
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    assert response.usage == expected_usage(sim.ledger[0])


async def test_claude_structured_output_with_a_non_object_schema(
    sim: Simulator, providers: Providers
) -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    response = await providers["claude"].complete(ask("claude", response_schema=schema))
    value = json.loads(response.text)
    assert isinstance(value, list)
    assert all(isinstance(item, str) for item in value)


# --- retries and failures -----------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
async def test_rate_limit_is_retried_after_the_servers_retry_after(
    name: str, sim: Simulator, providers: Providers, sleeps: list[float]
) -> None:
    sim.fail_next(name, 429, retry_after=0.25)
    response = await providers[name].complete(ask(name))

    assert response.attempts == 2
    assert sleeps == [0.25]
    assert [call.status for call in sim.ledger] == [429, 200]
    assert response.usage == expected_usage(sim.ledger[1])


@pytest.mark.parametrize("name", ["cerebras", "claude", "gemini", "openai"])
async def test_a_retry_after_longer_than_the_cap_fails_at_once(
    name: str, sim: Simulator, providers: Providers, sleeps: list[float]
) -> None:
    sim.fail_next(name, 429, retry_after=120)
    with pytest.raises(ProviderError) as caught:
        await providers[name].complete(ask(name))
    assert caught.value.error_type == "rate_limited"
    assert caught.value.retry_after == 120
    assert caught.value.attempts == 1
    assert sleeps == []


@pytest.mark.parametrize("name", PROVIDERS)
async def test_stream_opening_is_retried_like_a_completion(
    name: str, sim: Simulator, providers: Providers, sleeps: list[float]
) -> None:
    sim.fail_next(name, 503)
    _, final = await collect(providers[name], ask(name))
    assert final.attempts == 2
    assert len(sleeps) == 1
    assert final.usage == expected_usage(sim.ledger[1])


@pytest.mark.parametrize("name", PROVIDERS)
async def test_server_errors_exhaust_the_retries(
    name: str, sim: Simulator, providers: Providers, sleeps: list[float]
) -> None:
    sim.fail_next(name, 500, times=MAX_RETRIES + 1)
    with pytest.raises(ProviderError) as caught:
        await providers[name].complete(ask(name))

    error = caught.value
    assert error.error_type == "server_error"
    assert error.status_code == 500
    assert error.attempts == MAX_RETRIES + 1
    assert error.provider == name
    assert error.simulated is True  # the error response carried the simulator's mark
    assert f"after {MAX_RETRIES + 1} attempts" in str(error)
    assert "\n" not in str(error)
    assert len(sim.ledger) == MAX_RETRIES + 1
    # Exponential backoff: each wait at least half of a doubling step.
    assert len(sleeps) == MAX_RETRIES
    assert sleeps[1] > sleeps[0] / 2


@pytest.mark.parametrize(("status", "error_type"), [(400, "bad_request"), (401, "auth_error")])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_client_errors_fail_at_once(
    name: str, status: int, error_type: str, sim: Simulator, providers: Providers
) -> None:
    sim.fail_next(name, status)
    with pytest.raises(ProviderError) as caught:
        await providers[name].complete(ask(name))
    assert caught.value.error_type == error_type
    assert caught.value.status_code == status
    assert caught.value.attempts == 1
    assert len(sim.ledger) == 1


def quick_timeout(name: str, retries: int) -> Settings:
    """Settings from the environment with a very short timeout for `name`."""
    options = ProviderOptions(timeout_s=0.15, max_retries=retries)
    return Settings(providers={name: options})


@pytest.mark.parametrize("name", PROVIDERS)
async def test_timeouts_are_retried_then_reported(
    name: str, sim: Simulator, make_provider: Any
) -> None:
    sim.fail_next(name, kind="timeout", delay=2, times=2)
    with pytest.raises(ProviderError) as caught:
        await make_provider(name, quick_timeout(name, retries=1)).complete(ask(name))
    assert caught.value.error_type == "timeout"
    assert caught.value.attempts == 2


@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_timeout_then_an_answer_counts_two_attempts(
    name: str, sim: Simulator, make_provider: Any
) -> None:
    sim.fail_next(name, kind="timeout", delay=2)
    response = await make_provider(name, quick_timeout(name, retries=1)).complete(ask(name))
    assert response.attempts == 2


@pytest.mark.parametrize("name", PROVIDERS)
async def test_refused_connection_is_retried(
    name: str, sim: Simulator, providers: Providers
) -> None:
    sim.fail_next(name, kind="refused")
    response = await providers[name].complete(ask(name))
    assert response.attempts == 2


@pytest.mark.parametrize("name", PROVIDERS)
async def test_malformed_body_fails_at_once(
    name: str, sim: Simulator, providers: Providers
) -> None:
    sim.fail_next(name, kind="malformed")
    with pytest.raises(ProviderError) as caught:
        await providers[name].complete(ask(name))
    assert caught.value.error_type == "malformed_response"
    assert caught.value.attempts == 1
    assert len(sim.ledger) == 1


@pytest.mark.parametrize("quirk", [False, True], ids=["plain", "usage-every-chunk"])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_cut_stream_raises_with_the_partial_answer_and_usage(
    name: str, quirk: bool, sim: Simulator, providers: Providers
) -> None:
    sim.quirks["gemini_usage_on_every_chunk"] = quirk
    sim.fail_next(name, kind="cut_stream", after_chunks=2)
    deltas: list[str] = []

    async def consume() -> None:
        async for event in providers[name].stream(ask(name)):
            assert isinstance(event, TextDelta), "a cut stream must not look finished"
            deltas.append(event.text)

    with pytest.raises(ProviderError) as caught:
        await consume()

    error = caught.value
    [served] = sim.ledger
    assert error.error_type == "stream_interrupted"
    assert error.attempts == 1
    assert error.simulated is True
    assert error.partial is not None
    assert len(deltas) == 2
    assert error.partial.text == "".join(deltas)
    assert error.partial.usage == expected_usage(served)
    assert error.partial.usage_reported == served.usage_reported
    assert error.partial.model == served.model


async def test_claude_cut_stream_keeps_the_input_tokens_already_reported(
    sim: Simulator, providers: Providers
) -> None:
    sim.fail_next("claude", kind="cut_stream", after_chunks=1)
    with pytest.raises(ProviderError) as caught:
        await collect(providers["claude"], ask("claude"))
    partial = caught.value.partial
    assert partial is not None
    assert partial.usage_reported
    assert partial.usage.input_tokens == sim.ledger[0].input_tokens > 0


@pytest.mark.parametrize("name", PROVIDERS)
async def test_malformed_event_mid_stream_is_an_interruption(
    name: str, sim: Simulator, providers: Providers
) -> None:
    sim.fail_next(name, kind="malformed")
    with pytest.raises(ProviderError) as caught:
        await collect(providers[name], ask(name))
    assert caught.value.error_type == "stream_interrupted"
    assert caught.value.partial is not None
    assert caught.value.partial.text


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
async def test_missing_key_names_the_variable_and_leaves_others_working(
    name: str, sim: Simulator, make_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import API_KEY_ENV

    monkeypatch.delenv(API_KEY_ENV[name], raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    settings = Settings()
    with pytest.raises(MissingAPIKey) as caught:
        await make_provider(name, settings).complete(ask(name))
    assert API_KEY_ENV[name] in str(caught.value)
    assert caught.value.error_type == "missing_api_key"

    with pytest.raises(MissingAPIKey):
        await collect(make_provider(name, settings), ask(name))
    assert sim.ledger == []

    other = "openai" if name != "openai" else "claude"
    assert (await make_provider(other, settings).complete(ask(other))).text


async def test_gemini_api_key_is_an_accepted_spelling(
    sim: Simulator, make_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY", "gem-key-0123456789")
    response = await make_provider("gemini", Settings()).complete(ask("gemini"))
    assert response.text


async def test_gemini_stays_on_httpx_where_aiohttp_is_installed(
    sim: Simulator, make_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """google-genai turns to aiohttp whenever aiohttp imports (other packages bring it in);
    the adapter keeps it on httpx, whose errors it classifies. aiohttp is not installed here,
    so a client that took the aiohttp path would fail to import it."""
    from google.genai import _api_client

    monkeypatch.setattr(_api_client, "has_aiohttp", True)
    provider = make_provider("gemini", Settings())
    assert (await provider.complete(ask("gemini"))).text
    assert not provider._sdk_client()._api_client._use_aiohttp()


@pytest.mark.parametrize("name", PROVIDERS)
async def test_errors_never_show_the_api_key(
    name: str, sim: Simulator, make_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import API_KEY_ENV

    secret = "sk-live-SECRETSECRET0123456789"
    monkeypatch.setenv(API_KEY_ENV[name], secret)
    sim.fail_next(name, 401, message=f"Incorrect API key provided: {secret}.")
    with pytest.raises(ProviderError) as caught:
        await make_provider(name, Settings()).complete(ask(name))
    assert caught.value.error_type == "auth_error"
    assert "SECRETSECRET" not in str(caught.value)
    assert "Incorrect API key provided" in str(caught.value)


# --- provider-side caching and reported cost ----------------------------------------------------

LONG_SYSTEM = "You are the qualification agent. Score leads against the ICP. " * 80
"""Long enough (≈1,250 tokens) for automatic prompt caching to kick in."""


@pytest.mark.parametrize("name", PROVIDERS)
async def test_cached_prompt_tokens_are_split_out_exactly_once(
    name: str, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    first = await provider.complete(ask(name, system=LONG_SYSTEM, cache_prompt=True))
    second = await provider.complete(
        ask(name, "Now qualify Globex Corp", system=LONG_SYSTEM, cache_prompt=True)
    )

    assert first.usage == expected_usage(sim.ledger[0])
    assert second.usage == expected_usage(sim.ledger[1])
    assert second.usage.cache_read_tokens > 0
    assert second.usage.input_tokens < first.usage.prompt_tokens / 2
    # The buckets add up to the prompt the provider counted, cached or not.
    raw = second.raw_usage or {}
    reported_prompt = {
        "claude": raw.get("input_tokens", 0)
        + raw.get("cache_read_input_tokens", 0)
        + raw.get("cache_creation_input_tokens", 0),
        "gemini": raw.get("promptTokenCount"),
    }.get(name, raw.get("prompt_tokens"))
    assert second.usage.prompt_tokens == reported_prompt
    if name == "claude":
        assert first.usage.cache_write_tokens > 0
        assert first.usage.cache_read_tokens == 0


async def test_claude_caches_nothing_unless_asked(sim: Simulator, providers: Providers) -> None:
    provider = providers["claude"]
    for _ in range(2):
        response = await provider.complete(ask("claude", system=LONG_SYSTEM))
        assert response.usage.cache_read_tokens == response.usage.cache_write_tokens == 0


@pytest.mark.parametrize("name", [*OPENAI_STYLE, "gemini"])
async def test_cached_tokens_in_streamed_usage(
    name: str, sim: Simulator, providers: Providers
) -> None:
    provider = providers[name]
    await provider.complete(ask(name, system=LONG_SYSTEM))
    _, final = await collect(provider, ask(name, "Another lead", system=LONG_SYSTEM))
    assert final.usage == expected_usage(sim.ledger[1])
    assert final.usage.cache_read_tokens > 0


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_openrouter_reports_the_calls_cost(
    streamed: bool, sim: Simulator, providers: Providers
) -> None:
    provider = providers["openrouter"]
    if streamed:
        _, response = await collect(provider, ask("openrouter"))
    else:
        response = await provider.complete(ask("openrouter"))
    reported = sim.ledger[0].cost_usd_reported
    assert reported is not None
    assert response.reported_cost_usd == Decimal(str(reported))


# --- lifecycle ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
async def test_provider_works_again_after_aclose(
    name: str, sim: Simulator, make_provider: Any
) -> None:
    provider = make_provider(name)
    await provider.complete(ask(name))
    await provider.aclose()
    await provider.aclose()
    assert (await provider.complete(ask(name))).text


@pytest.mark.parametrize("name", PROVIDERS)
async def test_abandoned_stream_closes_cleanly(
    name: str, sim: Simulator, make_provider: Any
) -> None:
    provider = make_provider(name)
    stream = provider.stream(ask(name))
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    assert (await provider.complete(ask(name))).text
