"""The one retry policy every adapter shares (the SDKs' own retries are switched off).

Attempts are counted here and handed to the caller, so a gateway fallback never multiplies
hidden SDK retries and the tracked row can say how many requests a call really took.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from salesctl.errors import ProviderError

from ._errors import Failure

T = TypeVar("T")

BACKOFF_BASE_S = 0.5
"""First backoff step; doubles per attempt. Module-level so tests can shrink it."""
BACKOFF_CAP_S = 30.0
"""Longest single wait. A server asking for a longer Retry-After gets no retry: the call fails
at once (with `retry_after` set), so the caller can fall back instead of hammering it."""

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The wait between attempts (a seam for tests that check the delays without waiting)."""


def _waits_too_long(failure: Failure) -> bool:
    return failure.retry_after is not None and failure.retry_after > BACKOFF_CAP_S


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    The server's Retry-After wins when given; otherwise exponential backoff with jitter
    (a random point in the upper half of the step, so parallel callers spread out).
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_CAP_S)
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    provider: str,
    max_retries: int,
    timeout_s: float,
    classify: Callable[[BaseException], Failure | None],
    secret: str | None = None,
) -> tuple[T, int, int]:
    """Run `attempt` until it succeeds or fails for good; return its result, the attempt
    count, and how many attempts the provider was served without answering (`unanswered`).

    Each attempt gets `timeout_s`. Retryable failures (429, 5xx, timeouts, broken connections)
    are retried up to `max_retries` times, after the server's Retry-After when it gives one;
    anything else raises at once. Failures surface as ProviderError (with `unanswered`);
    exceptions `classify` does not recognise propagate unchanged.
    """
    attempts_allowed = max_retries + 1
    unanswered = 0
    for number in range(1, attempts_allowed + 1):
        try:
            async with asyncio.timeout(timeout_s):
                return await attempt(), number, unanswered
        except ProviderError as exc:
            if not exc.attempts:
                exc.attempts = number
            exc.unanswered += unanswered
            raise
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            unanswered += failure.served
            if not failure.retryable or number == attempts_allowed or _waits_too_long(failure):
                raise failure.to_error(
                    provider, attempts=number, secret=secret, unanswered=unanswered
                ) from exc
            await _sleep(backoff_delay(number, failure.retry_after))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
