"""Fixtures for the provider adapters: the real SDKs against the simulator over loopback.

One simulator and one provider per id serve the whole module (building an SDK client costs
tens of milliseconds, mostly TLS setup), so the module's tests share one event loop
(`loop_scope="module"`); tests that need other settings build their own with `make_provider`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from provider_cases import MAX_RETRIES, MODELS, TEST_KEY, TIMEOUT_S

from salesctl.config import ProviderOptions, Settings
from salesctl.llm.simulator import Simulator
from salesctl.llm.types import ProviderAdapter


def _test_options() -> dict[str, ProviderOptions]:
    options = ProviderOptions(timeout_s=TIMEOUT_S, max_retries=MAX_RETRIES)
    return {name: options for name in MODELS}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits the retry policy asked for, recorded instead of slept."""
    from salesctl.llm.providers import _retry

    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_retry, "_sleep", record)
    return recorded


@pytest.fixture
def settings(sim: Simulator) -> Settings:
    """Settings from the environment, with a short timeout and two retries per provider."""
    return Settings(providers=_test_options())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_providers(simulator: Simulator, tmp_path_factory: Any) -> AsyncIterator[Any]:
    """One provider per id for the module, with settings given explicitly (not the env)."""
    from salesctl.llm.registry import create_provider

    urls = simulator.base_urls()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SALESCTL_CONFIG", os.devnull)  # no config file
        settings = Settings(
            cerebras_api_key=TEST_KEY,
            anthropic_api_key=TEST_KEY,
            google_api_key=TEST_KEY,
            openrouter_api_key=TEST_KEY,
            openai_api_key=TEST_KEY,
            cerebras_base_url=urls["cerebras"],
            anthropic_base_url=urls["claude"],
            gemini_base_url=urls["gemini"],
            openrouter_base_url=urls["openrouter"],
            openai_base_url=urls["openai"],
            providers=_test_options(),
        )
    built = {name: create_provider(name, settings) for name in MODELS}
    yield built
    for provider in built.values():
        await provider.aclose()


@pytest.fixture
def providers(
    shared_providers: dict[str, ProviderAdapter], sim: Simulator, sleeps: list[float]
) -> Any:
    """The module's providers, with the simulator reset and backoff waits recorded."""
    return shared_providers


@pytest_asyncio.fixture(loop_scope="module")
async def make_provider(
    settings: Settings, sleeps: list[float]
) -> AsyncIterator[Callable[..., ProviderAdapter]]:
    """Build providers through the registry (default: `settings`); closed after the test."""
    from salesctl.llm.registry import create_provider

    built: list[ProviderAdapter] = []

    def make(name: str, settings_: Settings | None = None) -> ProviderAdapter:
        provider = create_provider(name, settings_ or settings)
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()
