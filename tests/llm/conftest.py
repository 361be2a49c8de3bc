"""Gateway test helpers: a scripted in-memory provider adapter (the narrow seam below the gateway),
and the provider simulator that end-to-end tests point the real SDK adapters at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from salesctl.config import API_KEY_ENV
from salesctl.llm.simulator import Simulator
from salesctl.llm.simulator.server import DEFAULT_QUIRKS
from salesctl.llm.types import ProviderRequest, ProviderResponse, StreamEvent, TextDelta, Usage

SIM_KEY = "test-key-0123456789"
"""The dummy API key every provider gets in tests that talk to the simulator."""

Step = ProviderResponse | BaseException | list[StreamEvent | BaseException]


class ScriptedProvider:
    """Answers each call with the next scripted step: a response, an error, or stream events."""

    def __init__(self, name: str, *steps: Step, simulated: bool = False) -> None:
        self.name = name
        self.steps = list(steps)
        self.simulated = simulated
        self.requests: list[ProviderRequest] = []
        self.closed = False

    def _next(self, request: ProviderRequest) -> Step:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"{self.name}: no scripted answer left for {request.model}")
        return self.steps.pop(0)

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        step = self._next(request)
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, ProviderResponse), "a stream step was scripted for complete()"
        return step

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        step = self._next(request)
        if isinstance(step, BaseException):
            raise step
        events = step if isinstance(step, list) else [TextDelta(step.text), step]
        for event in events:
            if isinstance(event, BaseException):
                raise event
            yield event

    async def aclose(self) -> None:
        self.closed = True


def answer(
    text: str = "ok",
    *,
    model: str,
    input_tokens: int = 100,
    output_tokens: int = 20,
    cache_read: int = 0,
    cache_write: int = 0,
    **extra: Any,
) -> ProviderResponse:
    return ProviderResponse(
        text=text,
        usage=Usage(input_tokens, output_tokens, cache_read, cache_write),
        model=model,
        **extra,
    )


@pytest.fixture
def sim(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """Overrides the root `sim`: the module's `simulator` (tests/conftest.py), reset (faults,
    scripts, ledger, quirks), with every provider's base URL and one dummy key for all."""
    simulator.reset()
    simulator.quirks.clear()
    simulator.quirks.update(DEFAULT_QUIRKS)
    for name, value in simulator.env().items():
        monkeypatch.setenv(name, value)
    for env_var in API_KEY_ENV.values():
        monkeypatch.setenv(env_var, SIM_KEY)
    return simulator


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries go again at once (the waits are the adapters' tests' concern)."""
    from salesctl.llm.providers import _retry

    async def no_wait(_seconds: float) -> None:
        return None

    monkeypatch.setattr(_retry, "_sleep", no_wait)


@pytest.fixture
def scripted() -> Callable[..., ScriptedProvider]:
    return ScriptedProvider


@pytest.fixture
def reply() -> Callable[..., ProviderResponse]:
    return answer


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """The test Redis URL and a key prefix of this test's own, whose keys are removed after."""
    import os
    import uuid

    url = os.environ.get("SALESCTL_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    prefix = f"salesctl-test:{uuid.uuid4().hex}:"
    yield url, prefix
    import redis.asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
