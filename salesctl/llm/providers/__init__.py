"""Provider adapters: each turns provider-neutral requests into one official SDK's calls.

One module per SDK family; `salesctl.llm.registry` names these classes as `"module:Class"`
and imports a module on first use. Importing this package imports no adapter and no SDK
(the classes below load on first access); each adapter imports its SDK on its first call.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from salesctl.llm.providers._errors import ProviderErrorType

if TYPE_CHECKING:
    from salesctl.llm.providers.anthropic import AnthropicProvider
    from salesctl.llm.providers.gemini import GeminiProvider
    from salesctl.llm.providers.openai_compatible import (
        CerebrasProvider,
        OpenAIProvider,
        OpenRouterProvider,
    )

_MODULES = {
    "AnthropicProvider": "anthropic",
    "CerebrasProvider": "openai_compatible",
    "GeminiProvider": "gemini",
    "OpenAIProvider": "openai_compatible",
    "OpenRouterProvider": "openai_compatible",
}

__all__ = [
    "AnthropicProvider",
    "CerebrasProvider",
    "GeminiProvider",
    "OpenAIProvider",
    "OpenRouterProvider",
    "ProviderErrorType",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
