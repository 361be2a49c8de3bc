"""Which adapter serves which provider id: adding a provider is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from salesctl.config import ProviderId, Settings, canonical_provider
from salesctl.llm.providers import (
    AnthropicProvider,
    CerebrasProvider,
    GeminiProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from salesctl.llm.types import ProviderAdapter

PROVIDERS: dict[ProviderId, Callable[[Settings], ProviderAdapter]] = {
    "cerebras": CerebrasProvider,
    "claude": AnthropicProvider,
    "gemini": GeminiProvider,
    "openrouter": OpenRouterProvider,
    "openai": OpenAIProvider,
}


def create_provider(provider_id: ProviderId | str, settings: Settings) -> ProviderAdapter:
    """A provider adapter for `provider_id` (aliases like `anthropic` accepted).

    No network work and no SDK import happen here; a missing key is reported on the first
    call, so other providers keep working.
    """
    return PROVIDERS[canonical_provider(provider_id)](settings)
