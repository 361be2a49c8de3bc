"""Exact-match response cache: Redis when `REDIS_URL` is set, else the `llm_cache` table.

The key is a SHA-256 of the normalised request (provider, model, system, messages, tools,
schema, temperature, max tokens). Values hold only the answer and its usage, never the prompt.
A cache that fails (Redis down, database locked) warns once and behaves as a miss: a cache
problem never fails a call. Redis is tried again after a pause that grows while it keeps
failing, so the cache comes back after an outage or a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from salesctl.llm.cache.base import ResponseCache
from salesctl.llm.cache.database_backend import WRITE_WINDOW_S, DatabaseCache
from salesctl.llm.cache.entry import CACHE_FORMAT, CachedAnswer, cache_key
from salesctl.llm.cache.policy import cache_enabled
from salesctl.llm.cache.redis_backend import RedisCache

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from salesctl.config import Settings

__all__ = [
    "CACHE_FORMAT",
    "WRITE_WINDOW_S",
    "CachedAnswer",
    "DatabaseCache",
    "RedisCache",
    "ResponseCache",
    "cache_enabled",
    "cache_from_settings",
    "cache_key",
]


def cache_from_settings(
    settings: Settings, engine: AsyncEngine, *, warn: Callable[[str], None] | None = None
) -> ResponseCache:
    """Redis when `REDIS_URL` is set, else the database table."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, warn=warn)
    return DatabaseCache(engine, warn=warn)
