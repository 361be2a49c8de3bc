"""`Charged`, the overhead bench's per-call CPU clock for calls sharing one event loop.

It must charge a coroutine only for its own steps (not for the steps of the coroutines it
runs beside), and pass results, exceptions and cancellations through unchanged.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.gateway_overhead import Charged


async def spin(cpu_s: float, steps: int = 3) -> str:
    """Burn `cpu_s` of this thread's CPU across `steps` event-loop steps."""
    for _ in range(steps):
        until = time.thread_time() + cpu_s / steps
        while time.thread_time() < until:
            pass
        await asyncio.sleep(0)
    return "spun"


def test_each_coroutine_is_charged_for_its_own_steps_only() -> None:
    async def main() -> tuple[list[str], list[float], list[float]]:
        light, heavy = [0.0], [0.0]
        results = await asyncio.gather(Charged(spin(0.02), light), Charged(spin(0.08), heavy))
        return results, light, heavy

    results, light, heavy = asyncio.run(main())
    assert results == ["spun", "spun"]
    assert 0.02 <= light[0] < 0.08 <= heavy[0]


def test_an_exception_reaches_the_awaiting_caller_and_the_steps_are_charged() -> None:
    async def fails() -> None:
        await spin(0.01, steps=1)
        raise LookupError("no such lead")

    counter = [0.0]

    async def main() -> None:
        await Charged(fails(), counter)

    with pytest.raises(LookupError, match="no such lead"):
        asyncio.run(main())
    assert counter[0] >= 0.01


def test_a_cancellation_is_handed_to_the_coroutine() -> None:
    cleaned_up: list[bool] = []

    async def waits() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned_up.append(True)

    async def main() -> None:
        task = asyncio.ensure_future(Charged(waits(), [0.0]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned_up == [True]
