"""Shared constants of the provider-adapter tests (a plain module: tests/ has no packages)."""

from __future__ import annotations

MODELS: dict[str, str] = {
    "cerebras": "llama3.1-8b",
    "claude": "claude-3-haiku-20240307",
    "gemini": "gemini-1.5-flash",
    "openrouter": "deepseek/deepseek-chat",
    "openai": "gpt-4o-mini",
}
"""One model per provider, as the seed's agents use them."""

TIMEOUT_S = 0.3
MAX_RETRIES = 2
TEST_KEY = "test-key-0123456789"
