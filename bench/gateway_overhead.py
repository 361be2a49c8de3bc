"""What the gateway adds to a call: validate, price, spool and queue the tracking row.

Runs `complete()` against an in-process provider that answers instantly, so every microsecond
measured is the gateway's own, and compares it with calling that provider directly. The
background writer inserts the rows into a real database meanwhile (its time is not on the
caller's path; `flush()` at the end proves every row landed).

    .venv/bin/python -m bench.gateway_overhead [--calls 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from salesctl.llm.types import LLMConfig, ProviderRequest, ProviderResponse, Usage


class InstantProvider:
    name = "cerebras"

    def __init__(self) -> None:
        self.answer = ProviderResponse(
            text="Score: 82 (hot). Strong ICP fit.",
            usage=Usage(input_tokens=420, output_tokens=60),
            model="llama3.1-8b",
        )

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        return self.answer

    def stream(self, request: ProviderRequest):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def main(calls: int, database_url: str | None) -> None:
    from sqlalchemy import func, select

    from salesctl.config import Settings, normalise_database_url
    from salesctl.db import migrate
    from salesctl.db.models import AICostTracking
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider

    home = Path(tempfile.mkdtemp(prefix="salesctl-bench-"))
    url = normalise_database_url(database_url or f"sqlite:///{home / 'bench.db'}")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    provider = InstantProvider()
    settings = Settings(home=home, database_url=url)
    llm = CostOptimizedLLMProvider(
        engine=engine, settings=settings, providers={"cerebras": provider}
    )
    config = LLMConfig(
        agent_type="qualification", provider="cerebras", model="llama3.1-8b", cache=False
    )
    request = ProviderRequest(model="llama3.1-8b", messages=())
    prompt = "Qualify TechCorp Inc (SaaS, 250 employees, North America) as a lead. " * 4

    for _ in range(200):  # warm up imports, price lookups, the writer
        await llm.complete(prompt=prompt, config=config)
    await llm.flush()

    direct: list[float] = []
    gateway: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        await provider.complete(request)
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        await llm.complete(prompt=prompt, config=config)
        gateway.append(time.perf_counter() - start)
    flush_start = time.perf_counter()
    await llm.aclose()
    flush_s = time.perf_counter() - flush_start

    async with engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(AICostTracking))).scalar()
    await engine.dispose()
    added = [(g - d) * 1e6 for g, d in zip(gateway, direct, strict=True)]
    print(f"database: {url.split('://')[0]}  calls: {calls}  rows in database: {rows}")
    print(
        f"added per call: p50 {statistics.median(added):.0f} µs, "
        f"p90 {percentile(added, 0.9):.0f} µs, p99 {percentile(added, 0.99):.0f} µs"
    )
    print(f"final flush: {flush_s * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.database_url))
