"""The response cache in Redis (`REDIS_URL`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from salesctl.llm.cache.base import _describe
from salesctl.llm.cache.entry import CachedAnswer

log = logging.getLogger("salesctl.cache")


class RedisCache:
    """The cache in Redis (`REDIS_URL`), entries expiring after the TTL.

    A failure (Redis down, a connection dropped, a command timed out under load) warns once
    and turns the cache off for a while: 1 s, then twice as long after each failure in a row,
    at most `RETRY_MAX_S`. Then the next lookup tries Redis again, and once it answers the
    cache is back (an info line says so, and a later outage warns again).
    """

    name = "redis"
    RETRY_FIRST_S = 1.0
    RETRY_MAX_S = 30.0

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "salesctl:llm:",
        warn: Callable[[str], None] | None = None,
        socket_timeout: float = 2.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.url = url
        self.prefix = prefix
        self._socket_timeout = socket_timeout
        self._client: Any = None
        self._warn = warn or log.warning
        self._clock = clock or time.monotonic
        self._off_until: float | None = None
        """While set, Redis failed: not asked again before this time."""
        self._pause = self.RETRY_FIRST_S

    @property
    def available(self) -> bool:
        return self._off_until is None or self._clock() >= self._off_until

    def _failed(self, exc: BaseException) -> None:
        if self._off_until is None:
            self._warn(
                f"response cache (Redis) unavailable ({_describe(exc)}); continuing without "
                f"it, trying again in {self._pause:g} s and less often after that"
            )
        else:
            self._pause = min(self._pause * 2, self.RETRY_MAX_S)
        self._off_until = self._clock() + self._pause

    def _answered(self) -> None:
        if self._off_until is not None:
            self._off_until = None
            self._pause = self.RETRY_FIRST_S
            log.info("response cache (Redis) reachable again")

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
                decode_responses=False,
            )
        return self._client

    async def get(self, key: str) -> CachedAnswer | None:
        if not self.available:
            return None
        try:
            raw = await self._redis().get(self.prefix + key)
        except Exception as exc:  # any Redis or socket failure is a miss, never a failed call
            self._failed(exc)
            return None
        self._answered()
        if raw is None:
            return None
        try:
            return CachedAnswer.from_json(json.loads(raw))
        except ValueError:
            return None

    async def set(self, key: str, answer: CachedAnswer, ttl_seconds: int) -> None:
        if not self.available:
            return
        value = json.dumps(answer.to_json(), separators=(",", ":"))
        try:
            await self._redis().set(self.prefix + key, value, ex=ttl_seconds or None)
        except Exception as exc:
            self._failed(exc)
            return
        self._answered()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.aclose()
            except Exception as exc:
                log.debug("closing Redis failed: %s", exc)
