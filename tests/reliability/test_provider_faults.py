"""Provider faults through the real SDKs against the simulator: what the caller sees, what is
tracked, and whether the tracked totals (and `costs --json`) equal what was actually served.

Every request the simulator saw is one attempt of exactly one tracked row, and the tracked
cost of a scenario is the simulator ledger's usage priced by salesctl.llm.pricing.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from reliability_kit import billed_cost, ledger_cost, rows, salesctl, total_cost

from salesctl.llm.simulator import Simulator

Tracked = tuple[str, str | None, int]
"""(status, error_type, attempts) of one tracking row."""


class Verdict(BaseModel):
    score: int
    tier: str


@dataclass(frozen=True)
class Case:
    name: str
    faults: tuple[dict[str, Any], ...]
    tracked: tuple[Tracked, ...]
    raises: str | None = None
    """The ProviderError.error_type the caller sees ('invalid_output': InvalidModelOutput)."""
    provider: str = "cerebras"
    model: str = "llama3.1-8b"
    stream: bool = False
    schema: bool = False
    router: bool = False
    timeout_s: float = 5.0
    waits: tuple[float, ...] | None = None
    """The exact backoff waits expected (None: not checked)."""
    providers: tuple[str, ...] = field(default=())
    """The providers of the tracked rows, in order, when they matter."""


CLAUDE = {"provider": "claude", "model": "claude-3-haiku-20240307"}
CASES = [
    Case(
        "429 with Retry-After, then an answer",
        ({"provider": "cerebras", "status": 429, "retry_after": 0.05},),
        (("ok", None, 2),),
        waits=(0.05,),
    ),
    Case(
        "429 without Retry-After backs off, then answers",
        ({"provider": "cerebras", "status": 429, "retry_after": False},),
        (("ok", None, 2),),
    ),
    Case(
        "429 on every attempt",
        ({"provider": "cerebras", "status": 429, "retry_after": 0, "times": 3},),
        (("error", "rate_limited", 3),),
        raises="rate_limited",
        waits=(0, 0),
    ),
    Case(
        "429 asking for more than the 30 s salesctl waits fails at once",
        ({"provider": "cerebras", "status": 429, "retry_after": 120},),
        (("error", "rate_limited", 1),),
        raises="rate_limited",
        waits=(),
    ),
    Case(
        "the router falls back at once from a Retry-After over 30 s",
        ({"provider": "gemini", "status": 429, "retry_after": 600},),
        (("error", "rate_limited", 1), ("ok", None, 1)),
        router=True,
        providers=("gemini", "openai"),
        waits=(),
    ),
    Case("500, then an answer", ({"provider": "cerebras", "status": 500},), (("ok", None, 2),)),
    Case(
        "502, then an answer",
        ({"provider": "claude", "status": 502},),
        (("ok", None, 2),),
        **CLAUDE,
    ),
    Case(
        "503 without Retry-After backs off, then answers",
        ({"provider": "gemini", "status": 503},),
        (("ok", None, 2),),
        provider="gemini",
        model="gemini-1.5-flash",
    ),
    Case(
        "503 on every attempt",
        ({"provider": "claude", "status": 503, "times": 3},),
        (("error", "server_error", 3),),
        raises="server_error",
        **CLAUDE,
    ),
    Case(
        "a timeout, then an answer",
        ({"provider": "openai", "kind": "timeout", "delay": 1.0},),
        (("ok", None, 2),),
        provider="openai",
        model="gpt-4o-mini",
        timeout_s=0.3,
    ),
    Case(
        "connection closed without an answer, then an answer",
        ({"provider": "cerebras", "kind": "refused"},),
        (("ok", None, 2),),
    ),
    Case(
        "a malformed (truncated JSON) body",
        ({"provider": "cerebras", "kind": "malformed"},),
        (("error", "malformed_response", 1),),
        raises="malformed_response",
    ),
    Case(
        "a body cut short of its length, then an answer",
        ({"provider": "openrouter", "kind": "cut_stream"},),
        (("ok", None, 2),),
        provider="openrouter",
        model="deepseek/deepseek-chat",
    ),
    Case(
        "a stream cut midway",
        ({"provider": "claude", "kind": "cut_stream", "after_chunks": 2},),
        (("error", "stream_interrupted", 1),),
        raises="stream_interrupted",
        stream=True,
        **CLAUDE,
    ),
    Case(
        "an OpenAI-style stream cut midway",
        ({"provider": "openai", "kind": "cut_stream", "after_chunks": 3},),
        (("error", "stream_interrupted", 1),),
        raises="stream_interrupted",
        stream=True,
        provider="openai",
        model="gpt-4o-mini",
    ),
    Case(
        "a malformed event mid-stream",
        ({"provider": "cerebras", "kind": "malformed"},),
        (("error", "stream_interrupted", 1),),
        raises="stream_interrupted",
        stream=True,
    ),
    Case(
        "valid JSON with the wrong content is repaired once",
        ({"provider": "gemini", "kind": "wrong_content"},),
        (("ok", None, 1), ("ok", None, 1)),
        provider="gemini",
        model="gemini-1.5-flash",
        schema=True,
    ),
    Case(
        "valid JSON with the wrong content twice",
        ({"provider": "claude", "kind": "wrong_content", "times": 2},),
        (("ok", None, 1), ("ok", None, 1)),
        raises="invalid_output",
        schema=True,
        **CLAUDE,
    ),
    Case(
        "the router falls back when a provider keeps failing",
        ({"provider": "gemini", "status": 503, "times": 3},),
        (("error", "server_error", 3), ("ok", None, 1)),
        router=True,
        providers=("gemini", "openai"),
    ),
]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def call(case: Case, url: str, session_id: str) -> str | None:
    """Make the case's one call; the error type it raised, or None."""
    from salesctl.config import ProviderOptions, Settings
    from salesctl.db.session import create_engine
    from salesctl.errors import InvalidModelOutput, ProviderError
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    options = ProviderOptions(timeout_s=case.timeout_s, max_retries=2)
    settings = Settings(
        providers={p: options for p in ("cerebras", "claude", "gemini", "openai", "openrouter")}
    )
    if case.router:
        config = LLMConfig(agent_type="sr_bdr", mode="smart_router", session_id=session_id)
    else:
        config = LLMConfig(
            agent_type="qualification",
            provider=case.provider,
            model=case.model,
            session_id=session_id,
            cache=False,
        )
    engine = create_engine(url)
    llm = CostOptimizedLLMProvider(engine=engine, settings=settings)
    try:
        if case.stream:
            stream = await llm.complete("Open the call with TechCorp", config=config, stream=True)
            text = await stream.text()
            assert stream.result is not None
            assert stream.result.text == text
        else:
            await llm.complete(
                "Show me top 3 leads" if case.router else "Qualify TechCorp Inc",
                config=config,
                response_schema=Verdict if case.schema else None,
            )
    except ProviderError as exc:
        return exc.error_type
    except InvalidModelOutput:
        return "invalid_output"
    finally:
        await llm.aclose()
        await engine.dispose()
    return None


def check_totals(url: str, session_id: str, served: list[Any]) -> None:
    """The scenario's rows add up to what was served, in the database and in `costs --json`.

    Where the simulator reported everything it billed, the tracked cost is exactly the
    reported usage priced. Where it billed more than it reported (a cut stream, a timeout
    after the request arrived, an unreadable body), the rows say their cost is estimated, and
    the estimate is above what was reported and never a quarter above what was billed (it
    can be below: an unreadable answer's output cannot be counted).
    """
    tracked = rows(url, session_id=session_id)
    assert sum(r.attempts for r in tracked) == len(served), "a request without its attempt"
    estimated = [r for r in tracked if r.cost_estimated]
    requested = [r for r in tracked if not r.cache_hit]  # a hit repeats the tokens it saved
    if all(c.fully_reported for c in served):
        assert not estimated
        assert total_cost(tracked) == ledger_cost(served)
        assert sum(r.prompt_tokens for r in requested) == sum(c.prompt_tokens for c in served)
        assert sum(r.completion_tokens for r in requested) == sum(
            c.output_tokens + c.reasoning_tokens for c in served
        )
    else:
        assert estimated, "served without a usage report, yet nothing estimated"
        assert ledger_cost(served) < total_cost(tracked) <= billed_cost(served) * 5 / 4
    result = salesctl("costs", "--json", "--session", session_id)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout, parse_float=Decimal)
    assert report["total_requests"] == len(tracked)
    assert Decimal(report["total_cost_usd"]) == total_cost(tracked)
    assert report["estimated_requests"] == len(estimated)
    assert Decimal(report["estimated_cost_usd"]) == total_cost(estimated)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_provider_fault(
    case: Case, sim: Simulator, shared_env: str, scenario_id: str, waits: list[float]
) -> None:
    before = len(sim.ledger)
    for fault in case.faults:
        sim.fail_next(**fault)
    raised = asyncio.run(call(case, shared_env, scenario_id))
    served = sim.ledger[before:]

    assert raised == case.raises
    tracked = rows(shared_env, session_id=scenario_id)
    assert [(r.status, r.error_type, r.attempts) for r in tracked] == list(case.tracked)
    if case.providers:
        assert tuple(r.provider for r in tracked) == case.providers
    if case.waits is not None:
        assert tuple(waits) == case.waits
    check_totals(shared_env, scenario_id, served)


def test_a_cut_stream_keeps_the_tokens_reported_before_the_cut(
    sim: Simulator, shared_env: str, scenario_id: str
) -> None:
    case = CASES[[c.name for c in CASES].index("a stream cut midway")]
    sim.fail_next(**case.faults[0])
    asyncio.run(call(case, shared_env, scenario_id))
    [served] = sim.ledger
    [row] = rows(shared_env, session_id=scenario_id)
    assert served.usage_reported
    assert served.prompt_tokens > 0
    # The prompt as reported; the output as received (the report so far said 1 token).
    assert row.prompt_tokens == served.prompt_tokens
    assert served.output_tokens < row.completion_tokens <= served.billed_output_tokens
    assert row.cost_estimated
    assert row.cost_usd is not None
    assert ledger_cost([served]) < row.cost_usd <= billed_cost([served])
    assert row.completion_text  # the text that arrived before the cut


def test_a_response_cache_hit_is_tracked_free_and_makes_no_request(
    sim: Simulator, shared_env: str, scenario_id: str
) -> None:
    async def twice() -> None:
        from salesctl.db.session import create_engine
        from salesctl.llm.gateway import CostOptimizedLLMProvider
        from salesctl.llm.types import LLMConfig

        engine = create_engine(shared_env)
        config = LLMConfig(
            agent_type="qualification",
            provider="cerebras",
            model="llama3.1-8b",
            session_id=scenario_id,
        )
        async with CostOptimizedLLMProvider(engine=engine) as llm:
            for _ in range(2):
                await llm.complete(f"Qualify {scenario_id}", config=config)
        await engine.dispose()

    asyncio.run(twice())
    tracked = rows(shared_env, session_id=scenario_id)
    assert [(r.cache_hit, r.attempts) for r in tracked] == [(False, 1), (True, 0)]
    assert tracked[1].cost_usd == 0
    check_totals(shared_env, scenario_id, sim.ledger)


def test_connection_refused_is_retried_then_tracked_as_an_error(
    sim: Simulator, shared_env: str, scenario_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEREBRAS_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    raised = asyncio.run(call(Case("refused", (), ()), shared_env, scenario_id))
    assert raised == "connection_error"
    [row] = rows(shared_env, session_id=scenario_id)
    assert (row.status, row.error_type, row.attempts, row.cost_usd) == (
        "error",
        "connection_error",
        3,
        None,
    )
    assert sim.ledger == []
