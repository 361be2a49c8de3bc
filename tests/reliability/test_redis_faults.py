"""Redis unreachable or lost mid-run: the gateway warns once, carries on uncached, and every
call is still tracked exactly as served."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from reliability_kit import ledger_cost, rows, salesctl, total_cost

from salesctl.llm.simulator import Simulator

pytestmark = pytest.mark.redis


class TcpProxy:
    """Forwards loopback connections to a server until `cut()`, which drops every
    connection and stops listening: the server vanishing, as the client sees it.
    `restore()` listens again on the same port; `stall()` holds every byte (a server too
    busy to answer) until `resume()`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def restore(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self.stalled.set()

    def resume(self) -> None:
        self.stalled.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.stalled.is_set():
                    time.sleep(0.01)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("SALESCTL_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    return url


@pytest.fixture
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(redis_url)
    relay = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield relay
    relay.cut()


async def clean(url: str, prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def test_redis_lost_mid_run_warns_once_and_continues_uncached(
    sim: Simulator, shared_env: str, scenario_id: str, proxy: TcpProxy, redis_url: str
) -> None:
    from salesctl.db.session import create_engine
    from salesctl.llm.cache import RedisCache
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    prefix = f"salesctl-test:{uuid.uuid4().hex}:"
    warnings: list[str] = []
    config = LLMConfig(
        agent_type="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        session_id=scenario_id,
    )

    async def run() -> list[bool]:
        engine = create_engine(shared_env)
        cache = RedisCache(
            f"redis://127.0.0.1:{proxy.port}/{urlsplit(redis_url).path.strip('/') or 0}",
            prefix=prefix,
            warn=warnings.append,
            socket_timeout=1.0,
        )
        hits = []
        try:
            async with CostOptimizedLLMProvider(
                engine=engine, cache=cache, warn=warnings.append
            ) as llm:
                for prompt in ("Qualify A", "Qualify A"):  # a miss, then a hit from Redis
                    hits.append((await llm.complete(prompt, config=config)).cache_hit)
                await llm.flush()
                proxy.cut()
                for prompt in ("Qualify A", "Qualify B", "Qualify C"):
                    hits.append((await llm.complete(prompt, config=config)).cache_hit)
        finally:
            await cache.aclose()
            await engine.dispose()
            await clean(redis_url, prefix)
        return hits

    hits = asyncio.run(run())
    assert hits == [False, True, False, False, False]  # uncached once Redis was gone
    assert len(warnings) == 1
    assert "Redis" in warnings[0]
    assert "continuing without it" in warnings[0]
    tracked = rows(shared_env, session_id=scenario_id)
    assert len(tracked) == 5
    assert len(sim.ledger) == 4
    assert total_cost(tracked) == ledger_cost(sim.ledger)


def test_redis_comes_back_after_an_outage_and_after_a_timeout(
    sim: Simulator, shared_env: str, scenario_id: str, proxy: TcpProxy, redis_url: str
) -> None:
    from reliability_kit import assert_served_tracked_reported

    from salesctl.db.session import create_engine
    from salesctl.llm.cache import RedisCache
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    prefix = f"salesctl-test:{uuid.uuid4().hex}:"
    warnings: list[str] = []
    now = [0.0]  # the cache's clock: its pauses pass when the test says so
    config = LLMConfig(
        agent_type="qualification",
        provider="cerebras",
        model="llama3.1-8b",
        session_id=scenario_id,
    )

    async def run() -> list[bool]:
        engine = create_engine(shared_env)
        cache = RedisCache(
            f"redis://127.0.0.1:{proxy.port}/{urlsplit(redis_url).path.strip('/') or 0}",
            prefix=prefix,
            warn=warnings.append,
            socket_timeout=0.5,
            clock=lambda: now[0],
        )
        hits = []
        try:
            async with CostOptimizedLLMProvider(
                engine=engine, cache=cache, warn=warnings.append
            ) as llm:

                async def ask(prompt: str) -> None:
                    hits.append((await llm.complete(prompt, config=config)).cache_hit)
                    await llm.flush()  # the cache write too

                await ask("Qualify A")  # a miss, stored
                await ask("Qualify A")  # a hit
                proxy.cut()
                await ask("Qualify A")  # Redis gone: a miss, one warning
                now[0] += 0.5
                await ask("Qualify A")  # within the pause: Redis is not even asked
                proxy.restore()
                now[0] += 1.0
                await ask("Qualify A")  # the pause is over and Redis answers: back
                proxy.stall()
                await ask("Qualify B")  # Redis too busy to answer in time: a miss
                proxy.resume()
                now[0] += 1.0
                await ask("Qualify A")  # back again
        finally:
            await cache.aclose()
            await engine.dispose()
            await clean(redis_url, prefix)
        return hits

    hits = asyncio.run(run())
    assert hits == [False, True, False, False, True, False, True]
    assert len(warnings) == 2, warnings  # one per outage
    assert all("response cache (Redis) unavailable" in w for w in warnings)
    assert "Timeout" in warnings[1]
    assert len(sim.ledger) == 4
    assert_served_tracked_reported(shared_env, sim.ledger, session_id=scenario_id)


def test_an_unreachable_redis_is_one_warning_for_a_whole_command(
    sim: Simulator, db_env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed}/0")
    leads = asyncio.run(_seed(db_env, 3))
    with caplog.at_level(logging.WARNING):
        result = salesctl("qualify", "--ids", ",".join(map(str, leads)))
    assert result.exit_code == 0, result.stderr
    about_redis = [r for r in caplog.records if "Redis" in r.getMessage()]
    assert len(about_redis) == 1
    assert len(sim.ledger) == 3
    tracked = rows(db_env)
    assert [r.cache_hit for r in tracked] == [False] * 3
    assert total_cost(tracked) == ledger_cost(sim.ledger)


async def _seed(url: str, count: int) -> list[int]:
    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            leads = [Lead(company_name=f"Redisless {n}", industry="Software") for n in range(count)]
            session.add_all(leads)
            await session.flush()
            return [lead.id for lead in leads]
    finally:
        await engine.dispose()
