"""Prompt caching, simulated per (provider, model).

Two flavours, as the real providers have them:

* automatic (OpenAI, OpenRouter, Cerebras, Gemini): once a prompt prefix of at least
  `min_tokens` has been seen, a later prompt that starts with the same prefix reports it as
  cached, in `granularity`-token steps. Cached tokens are part of the prompt count.
* explicit (Anthropic): only prefixes ending at a `cache_control` breakpoint are written; a
  later prompt reads the longest written prefix it starts with and writes the rest, up to its
  last breakpoint. Cached tokens are reported apart from `input_tokens`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from .brain import Segment


@dataclass(frozen=True, slots=True)
class CacheUse:
    """How many prompt tokens were read from / written to the cache (`write_1h` of the writes
    for one hour, Anthropic's `ephemeral_1h`)."""

    read: int = 0
    write: int = 0
    write_1h: int = 0


def _prefixes(segments: list[Segment]) -> Iterator[tuple[int, str, int]]:
    """(index, prefix hash, cumulative tokens) for every prefix ending after segment `index`."""
    digest = hashlib.sha256()
    total = 0
    for index, segment in enumerate(segments):
        digest.update(segment.key.encode())
        digest.update(b"\x1e")
        total += segment.tokens
        yield index, digest.copy().hexdigest(), total


class PromptCache:
    """Remembers prompt prefixes; thread-safe (the server answers requests in parallel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, set[str]] = {}

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def automatic(
        self, scope: str, segments: list[Segment], min_tokens: int = 1024, granularity: int = 128
    ) -> CacheUse:
        """OpenAI-style automatic caching: returns the cached (read) part of this prompt."""
        prefixes = list(_prefixes(segments))
        with self._lock:
            seen = self._seen.setdefault(scope, set())
            cached = 0
            for _, key, tokens in prefixes:
                if tokens >= min_tokens and key in seen:
                    cached = tokens
            seen.update(key for _, key, tokens in prefixes if tokens >= min_tokens)
        if cached:
            cached = max(min_tokens, cached - cached % granularity)
        return CacheUse(read=cached)

    def explicit(self, scope: str, segments: list[Segment], min_tokens: int = 0) -> CacheUse:
        """Anthropic-style caching at `cache_control` breakpoints."""
        prefixes = list(_prefixes(segments))
        marks = [i for i, s in enumerate(segments) if s.cache_mark]
        if not marks:
            return CacheUse()
        last = marks[-1]
        with self._lock:
            seen = self._seen.setdefault(scope, set())
            read = 0
            for _, key, tokens in prefixes[: last + 1]:
                if key in seen:
                    read = tokens
            target = prefixes[last][2]
            if target < min_tokens:
                return CacheUse()
            for index in marks:
                seen.add(prefixes[index][1])
        return CacheUse(read=read, write=target - read)
