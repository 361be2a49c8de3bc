"""The registry: one entry per provider id, aliases accepted, nothing loaded until used."""

from __future__ import annotations

import subprocess
import sys

import pytest

from salesctl.config import PROVIDER_IDS, Settings
from salesctl.errors import ConfigError
from salesctl.llm.registry import PROVIDERS, create_provider


def test_every_provider_id_has_an_adapter() -> None:
    assert set(PROVIDERS) == set(PROVIDER_IDS)
    for provider_id in PROVIDER_IDS:
        assert create_provider(provider_id, Settings()).name == provider_id


@pytest.mark.parametrize(("alias", "canonical"), [("anthropic", "claude"), ("Google", "gemini")])
def test_aliases_resolve_to_the_canonical_provider(alias: str, canonical: str) -> None:
    assert create_provider(alias, Settings()).name == canonical


def test_unknown_provider_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: cerebras, claude"):
        create_provider("mistral", Settings())


def test_creating_providers_imports_no_sdk_and_touches_no_network() -> None:
    code = (
        "import sys\n"
        "from salesctl.config import Settings\n"
        "from salesctl.llm.registry import PROVIDERS, create_provider\n"
        # An unroutable base URL: any network work at construction would hang or fail.
        "settings = Settings(openai_base_url='http://192.0.2.1:9', cerebras_api_key='k')\n"
        "providers = [create_provider(p, settings) for p in PROVIDERS]\n"
        "sdks = ('openai', 'anthropic', 'google.genai', 'cerebras.cloud.sdk', 'httpx2')\n"
        "print(sorted(m for m in sdks if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_adapter_module_is_imported_only_when_its_provider_is_created() -> None:
    code = (
        "import sys\n"
        "from salesctl.config import Settings\n"
        "from salesctl.llm.registry import create_provider\n"
        "adapters = lambda: sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
        "    if m.startswith('salesctl.llm.providers.') and '._' not in m)\n"
        "print(adapters())\n"
        "create_provider('anthropic', Settings())\n"
        "print(adapters())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "['anthropic']"]
