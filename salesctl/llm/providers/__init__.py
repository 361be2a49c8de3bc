"""Provider adapters: each turns provider-neutral requests into one official SDK's calls.

One module per SDK family; `salesctl.llm.registry` maps provider ids to these classes.
Importing this package imports no SDK: each adapter imports its SDK on its first call.
"""

from salesctl.llm.providers._errors import ProviderErrorType
from salesctl.llm.providers.anthropic import AnthropicProvider
from salesctl.llm.providers.gemini import GeminiProvider
from salesctl.llm.providers.openai_compatible import (
    CerebrasProvider,
    OpenAIProvider,
    OpenRouterProvider,
)

__all__ = [
    "AnthropicProvider",
    "CerebrasProvider",
    "GeminiProvider",
    "OpenAIProvider",
    "OpenRouterProvider",
    "ProviderErrorType",
]
