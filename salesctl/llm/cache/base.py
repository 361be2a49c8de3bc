"""What every cache backend is, and the one warning a failing backend gives."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from salesctl.llm.cache.entry import CachedAnswer

log = logging.getLogger("salesctl.cache")


class ResponseCache(Protocol):
    """Where answers are kept between calls (and between runs)."""

    name: str

    async def get(self, key: str) -> CachedAnswer | None: ...

    async def set(self, key: str, answer: CachedAnswer, ttl_seconds: int) -> None: ...

    async def aclose(self) -> None: ...


class _WarnOnce:
    def __init__(self, what: str, warn: Callable[[str], None] | None) -> None:
        self._what = what
        self._warn = warn or log.warning
        self.warned = False

    def __call__(self, exc: BaseException) -> None:
        if not self.warned:
            self.warned = True
            self._warn(f"{self._what} unavailable ({_describe(exc)}); continuing without it")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
