"""Which adapter serves which provider id: adding a provider is one module and one line here.

Adapters are named as `"module:Class"` and imported on first use, so importing the registry
loads no adapter (and no SDK); an adapter module may then import its SDK's types for checking.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from salesctl.config import ProviderId, Settings, canonical_provider
from salesctl.llm.types import ProviderAdapter

PROVIDERS: dict[ProviderId, str] = {
    "cerebras": "salesctl.llm.providers.openai_compatible:CerebrasProvider",
    "claude": "salesctl.llm.providers.anthropic:AnthropicProvider",
    "gemini": "salesctl.llm.providers.gemini:GeminiProvider",
    "openrouter": "salesctl.llm.providers.openai_compatible:OpenRouterProvider",
    "openai": "salesctl.llm.providers.openai_compatible:OpenAIProvider",
}


def create_provider(provider_id: ProviderId | str, settings: Settings) -> ProviderAdapter:
    """A provider adapter for `provider_id` (aliases like `anthropic` accepted).

    No network work and no SDK import happen here; a missing key is reported on the first
    call, so other providers keep working.
    """
    module, _, name = PROVIDERS[canonical_provider(provider_id)].partition(":")
    adapter: Callable[[Settings], ProviderAdapter] = getattr(import_module(module), name)
    return adapter(settings)
