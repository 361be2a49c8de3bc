"""The effective settings as plain data for `config show`, with every secret masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salesctl.config import API_KEY_ENV, PROVIDER_IDS, Settings, mask_secret, mask_url


def effective_settings(settings: Settings, config_file: Path) -> dict[str, Any]:
    """Everything `config show` prints; keys appear only masked (`csk-…9a2f`)."""
    data = settings.model_dump(
        mode="json",
        exclude={
            "database_url",
            "redis_url",
            "home",
            *(f"{p}_api_key" for p in ("cerebras", "anthropic", "google", "openrouter", "openai")),
        },
    )
    return {
        "config_file": str(config_file) + ("" if config_file.is_file() else " (not found)"),
        "data_dir": str(settings.data_dir),
        "database_url": mask_url(settings.sqlalchemy_url),
        "redis_url": mask_url(settings.redis_url) if settings.redis_url else None,
        "providers_configured": {
            provider: {
                "key_env": API_KEY_ENV[provider],
                "api_key": mask_secret(settings.api_key(provider)),
                "base_url": settings.base_url(provider),
            }
            for provider in PROVIDER_IDS
        },
        **{k: v for k, v in data.items() if not k.endswith("_base_url")},
    }
