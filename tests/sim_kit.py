"""The provider simulator in tests: a dummy key per provider, and pointing every SDK at it.

Import it as `sim_kit` from any test package: tests/conftest.py puts tests/ on sys.path (pytest's
default `prepend` import mode), as it does for each package's own helpers (`lead_world`,
`chat_world`, `reliability_kit`). The `sim` and `simulator` fixtures are in tests/conftest.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from salesctl.llm.simulator import Simulator

DUMMY_KEYS = {
    "CEREBRAS_API_KEY": "csk-test-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-test-0123456789",
    "GOOGLE_API_KEY": "google-test-0123456789",
    "OPENROUTER_API_KEY": "sk-or-test-0123456789",
    "OPENAI_API_KEY": "sk-test-0123456789",
}
"""A dummy API key for every provider (the variables of `salesctl.config.API_KEY_ENV`)."""


def simulator_env(sim: Simulator, keys: dict[str, str] = DUMMY_KEYS) -> dict[str, str]:
    """Dummy keys plus the base URLs that point every SDK at `sim`."""
    return {**keys, **sim.env()}


def use_simulator(
    monkeypatch: pytest.MonkeyPatch, sim: Simulator, keys: dict[str, str] = DUMMY_KEYS
) -> None:
    """Put `simulator_env(sim, keys)` in the environment and drop the cached settings."""
    from salesctl.config import get_settings

    for name, value in simulator_env(sim, keys).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
