"""Cache hits: how fast the gateway answers a repeated request from its response cache.

Primes the cache with one call, then times `CostOptimizedLLMProvider.complete()` for the
same request again and again: each is a hit, priced at zero with its saving noted, and
tracked (its row spooled and queued before the hit returns; the tracking writer inserts the
rows in batches on the same event loop, and they are counted in the database at the end).
Backends: Redis (`REDIS_URL`) and the `llm_cache` table on SQLite and on PostgreSQL. The
same-run baseline is the backend's bare `get()` of a stored answer. Beside the percentiles,
the event loop's CPU per hit is shown as a mean that includes the batched inserts of the rows
(the final flush included), so the cost of writing them is not hidden in the tail.

    .venv/bin/python -m bench.cache_bench [--quick] [--hits 2000] [--backend redis|sqlite|…]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

from bench._common import (
    Measurement,
    bench_main,
    count_tracked,
    drop_postgres,
    load_average,
    median,
    migrated_engine,
    percentile,
    postgres_available,
    progress,
    ratio,
    recreate_postgres,
    scratch_dir,
)
from bench.gateway_overhead import MODEL, PROMPT, InstantProvider

TARGET_MS = 2.0
POSTGRES_DATABASE = "salesctl_bench_cache"


def redis_url() -> str:
    return (
        os.environ.get("SALESCTL_TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )


async def _redis_problem(url: str) -> str | None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        return f"Redis at {url} unavailable: {exc}"
    finally:
        await client.aclose()
    return None


async def measure_backend(label: str, url: str, hits: int) -> Measurement:
    from salesctl.config import Settings
    from salesctl.llm.cache import CachedAnswer, DatabaseCache, RedisCache
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    home = scratch_dir("cache")
    engine = await migrated_engine(url)
    prefix = f"salesctl-bench:{uuid.uuid4().hex}:"
    cache: Any
    if label == "Redis":
        problem = await _redis_problem(redis_url())
        if problem is not None:
            await engine.dispose()
            return Measurement("cache", "hit p50, Redis", None, "ms", TARGET_MS, error=problem)
        cache = RedisCache(redis_url(), prefix=prefix)
    else:
        cache = DatabaseCache(engine)
    provider = InstantProvider()
    settings = Settings(home=home, database_url=url)
    llm = CostOptimizedLLMProvider(
        engine=engine, settings=settings, providers={"openai": provider}, cache=cache
    )
    config = LLMConfig(agent_type="qualification", provider="openai", model=MODEL, cache=True)
    baseline_key = f"bench-{uuid.uuid4().hex}"
    answer = CachedAnswer.from_response(provider.answer)
    latencies: list[float] = []
    loop_cpu: list[float] = []
    gets: list[float] = []
    gets_cpu = 0.0
    hit_count = 0
    try:
        first = await llm.complete(PROMPT, config=config)
        await llm.flush()  # the answer is in the backend now, not only in this process
        await cache.set(baseline_key, answer, 3600)
        for _ in range(min(100, hits)):  # warm: connection pool, statement cache
            await llm.complete(PROMPT, config=config)
            await cache.get(baseline_key)
        before = await _rows_after_flush(llm, engine)
        all_cpu = time.thread_time()
        for _ in range(hits):
            started, cpu = time.perf_counter(), time.thread_time()
            result = await llm.complete(PROMPT, config=config)
            latencies.append(time.perf_counter() - started)
            loop_cpu.append(time.thread_time() - cpu)
            hit_count += result.cache_hit
            started, cpu = time.perf_counter(), time.thread_time()
            await cache.get(baseline_key)
            gets.append(time.perf_counter() - started)
            gets_cpu += time.thread_time() - cpu
        await llm.flush()
        mean_cpu = (time.thread_time() - all_cpu - gets_cpu) / hits
        rows = await _rows_after_flush(llm, engine) - before
    finally:
        if label == "Redis":
            await _delete_redis_keys(cache, prefix)
        await llm.aclose()
        await cache.aclose()
        await engine.dispose()

    p50_ms = median(latencies) * 1000
    get_ms = median(gets) * 1000
    problems = []
    if first.cache_hit:
        problems.append("the priming call was already a hit")
    if hit_count != hits:
        problems.append(f"only {hit_count} of {hits} calls were hits")
    if rows != hits:
        problems.append(f"{rows} tracking rows for {hits} hits")
    return Measurement(
        bench="cache",
        name=f"hit p50 incl. tracking row, {label}",
        value=p50_ms,
        unit="ms",
        target=TARGET_MS,
        strict=True,
        baseline=(
            f"bare cache get p50 {get_ms:.3f} ms ({ratio(p50_ms, get_ms)}); hit p99 "
            f"{percentile(latencies, 99) * 1000:.2f} ms; event-loop CPU per hit p50 "
            f"{median(loop_cpu) * 1000:.3f} ms, mean incl. the rows' inserts "
            f"{mean_cpu * 1000:.3f} ms; {rows:,} rows for {hits:,} hits"
        ),
        error="; ".join(problems) or None,
    )


async def _rows_after_flush(llm: Any, engine: Any) -> int:
    await llm.flush()
    return await count_tracked(engine)


async def _delete_redis_keys(cache: Any, prefix: str) -> None:
    client = cache._redis()
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


def run(
    *, quick: bool = False, hits: int | None = None, backend: str | None = None
) -> list[Measurement]:
    hits = hits or (200 if quick else 2000)
    os.environ.setdefault("SALESCTL_CONFIG", os.devnull)  # no config file
    progress(f"cache: {hits:,} hits per backend, {load_average()}")
    measurements: list[Measurement] = []
    sqlite_url = f"sqlite+aiosqlite:///{scratch_dir('cache-db') / 'bench.db'}"
    if backend in (None, "redis"):
        measurements.append(asyncio.run(measure_backend("Redis", sqlite_url, hits)))
    if backend in (None, "sqlite"):
        measurements.append(
            asyncio.run(measure_backend("database cache, SQLite", sqlite_url, hits))
        )
    if backend in (None, "postgresql"):
        problem = postgres_available()
        if problem is not None:
            measurements.append(
                Measurement("cache", "hit p50, PostgreSQL", None, "ms", TARGET_MS, error=problem)
            )
        else:
            url = recreate_postgres(POSTGRES_DATABASE)
            try:
                measurements.append(
                    asyncio.run(measure_backend("database cache, PostgreSQL", url, hits))
                )
            finally:
                drop_postgres(POSTGRES_DATABASE)
    return measurements


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hits", type=int, help="timed hits per backend (default 2,000)")
    parser.add_argument("--backend", choices=["redis", "sqlite", "postgresql"])


if __name__ == "__main__":
    bench_main("cache_bench", run, __doc__, _options)
