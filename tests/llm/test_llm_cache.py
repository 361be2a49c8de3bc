"""The response cache: keys, per-agent policy, Redis and the database table."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from decimal import Decimal

import pytest

from salesctl.config import Settings
from salesctl.llm.cache import (
    CachedAnswer,
    DatabaseCache,
    RedisCache,
    cache_enabled,
    cache_key,
)
from salesctl.llm.types import Message, ProviderRequest, ToolCall, ToolSpec, Usage

REQUEST = ProviderRequest(
    model="claude-3-haiku-20240307",
    messages=(Message(role="user", content="Enrich company data for TechCorp"),),
    system="You are an enrichment agent.",
    max_tokens=1000,
)
ANSWER = CachedAnswer(
    text='{"industry": "SaaS"}',
    model="claude-3-haiku-20240307",
    usage=Usage(input_tokens=120, output_tokens=30, cache_read_tokens=5),
    tool_calls=(ToolCall(id="t1", name="lookup", arguments={"q": "TechCorp"}),),
    finish_reason="stop",
    reported_cost_usd=Decimal("0.0000123"),
)


def test_key_is_stable_and_covers_every_part_of_the_request() -> None:
    key = cache_key("claude", REQUEST)
    assert key == cache_key("claude", replace(REQUEST))
    assert len(key) == 64
    variants = [
        cache_key("openrouter", REQUEST),
        cache_key("claude", replace(REQUEST, model="claude-sonnet-4-5")),
        cache_key("claude", replace(REQUEST, system="Other system")),
        cache_key("claude", replace(REQUEST, messages=(Message(role="user", content="x"),))),
        cache_key("claude", replace(REQUEST, temperature=0.2)),
        cache_key("claude", replace(REQUEST, max_tokens=999)),
        cache_key("claude", replace(REQUEST, response_schema={"type": "object"})),
        cache_key(
            "claude",
            replace(REQUEST, tools=(ToolSpec(name="t", description="", parameters={}),)),
        ),
    ]
    assert len({key, *variants}) == len(variants) + 1


def test_cached_answer_round_trips_without_the_prompt() -> None:
    data = ANSWER.to_json()
    assert "Enrich company data" not in str(data)
    assert CachedAnswer.from_json(data) == ANSWER
    assert CachedAnswer.from_json({**data, "v": 999}) is None
    assert CachedAnswer.from_json({"v": 1, "text": "x"}) is None


@pytest.mark.parametrize(
    ("agent", "mode", "explicit", "chat_cache", "expected"),
    [
        ("qualification", "passthrough", None, False, True),
        ("enrichment", "passthrough", None, False, True),
        ("sr_bdr", "smart_router", None, False, False),
        ("pipeline_manager", "smart_router", None, False, False),
        ("customer_success", "smart_router", None, True, True),
        ("sr_bdr", "smart_router", True, False, True),
        ("qualification", "passthrough", False, False, False),
        ("my_new_agent", "passthrough", None, False, True),
        ("my_new_chat", "smart_router", None, False, False),
    ],
)
def test_per_agent_policy(
    agent: str, mode: str, explicit: bool | None, chat_cache: bool, expected: bool
) -> None:
    settings = Settings(router={"chat_cache": chat_cache})
    assert cache_enabled(agent, mode, explicit, settings) is expected


def test_a_lead_agent_can_be_configured_not_to_cache() -> None:
    settings = Settings(agents={"growth": {"cache": False}})
    assert cache_enabled("growth", "passthrough", None, settings) is False


@pytest.mark.redis
async def test_redis_hit_miss_and_ttl(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    cache = RedisCache(url, prefix=prefix)
    try:
        key = cache_key("claude", REQUEST)
        assert await cache.get(key) is None
        await cache.set(key, ANSWER, 60)
        assert await cache.get(key) == ANSWER
        ttl = await cache._redis().ttl(prefix + key)
        assert 0 < ttl <= 60
    finally:
        await cache.aclose()


async def test_unreachable_redis_warns_once_and_misses() -> None:
    warnings: list[str] = []
    cache = RedisCache("redis://127.0.0.1:1/0", warn=warnings.append, socket_timeout=0.5)
    key = cache_key("claude", REQUEST)
    assert await cache.get(key) is None
    await cache.set(key, ANSWER, 60)
    assert await cache.get(key) is None
    await cache.aclose()
    assert len(warnings) == 1
    assert "Redis" in warnings[0]
    assert "continuing without it" in warnings[0]


async def test_database_cache_hit_miss_expiry_and_overwrite(engine) -> None:  # type: ignore[no-untyped-def]
    cache = DatabaseCache(engine)
    try:
        key = cache_key("claude", REQUEST)
        assert await cache.get(key) is None
        await cache.set(key, ANSWER, 3600)
        assert await cache.get(key) == ANSWER
        newer = replace(ANSWER, text="newer")
        await cache.set(key, newer, 3600)
        assert await cache.get(key) == newer
        await cache.set(key, ANSWER, 0)  # 0: never expires
        assert await cache.get(key) == ANSWER

        expired_key = cache_key("openai", REQUEST)
        await cache.set(expired_key, ANSWER, -1)
        assert await cache.get(expired_key) is None
        assert await cache.purge_expired() == 1
    finally:
        await cache.aclose()


async def test_database_cache_gathers_stores_into_one_write(engine) -> None:  # type: ignore[no-untyped-def]
    """Stores wait for the write window (answering this cache's lookups meanwhile), then land
    together; aclose() writes what is still pending."""
    from salesctl.llm.cache import WRITE_WINDOW_S

    writer, other = DatabaseCache(engine), DatabaseCache(engine)
    keys = [cache_key("claude", replace(REQUEST, max_tokens=n)) for n in range(1, 6)]
    try:
        for key in keys:
            await writer.set(key, ANSWER, 3600)
        assert await writer.get(keys[0]) == ANSWER  # pending, answered from memory
        assert await other.get(keys[0]) is None  # not in the database yet
        for _ in range(200):  # the window passes: written without a flush
            await asyncio.sleep(WRITE_WINDOW_S)
            if await other.get(keys[-1]) is not None:
                break
        assert [await other.get(key) for key in keys] == [ANSWER] * 5

        last = cache_key("openai", REQUEST)
        await writer.set(last, ANSWER, 3600)
    finally:
        await writer.aclose()  # writes the pending store
    try:
        assert await other.get(last) == ANSWER
    finally:
        await other.aclose()


async def test_database_cache_failure_is_a_miss(tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import create_engine

    unmigrated = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    cache = DatabaseCache(unmigrated)
    try:
        with caplog.at_level(logging.WARNING, logger="salesctl.cache"):
            assert await cache.get("k") is None
            await cache.set("k", ANSWER, 60)
            assert await cache.get("k") is None
    finally:
        await cache.aclose()
        await unmigrated.dispose()
    warnings = [r.message for r in caplog.records if r.name == "salesctl.cache"]
    assert len(warnings) == 1
    assert "response cache (database) unavailable" in warnings[0]


async def test_database_cache_answers_concurrent_lookups(engine) -> None:  # type: ignore[no-untyped-def]
    """Lookups share one held connection (one statement at a time on PostgreSQL)."""
    cache = DatabaseCache(engine)
    try:
        key = cache_key("claude", REQUEST)
        await cache.set(key, ANSWER, 3600)
        answers = await asyncio.gather(*(cache.get(key) for _ in range(40)))
        assert answers == [ANSWER] * 40
        other = cache_key("openai", REQUEST)
        assert await asyncio.gather(cache.get(other), cache.get(key)) == [None, ANSWER]
    finally:
        await cache.aclose()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_database_cache_survives_its_connection_being_terminated(
    engine,  # type: ignore[no-untyped-def]
    db_env: str,
) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    warnings: list[str] = []
    cache = DatabaseCache(engine, warn=warnings.append)
    try:
        key = cache_key("claude", REQUEST)
        await cache.set(key, ANSWER, 3600)
        await cache.flush()  # written, so the lookup below goes to the database
        assert await cache.get(key) == ANSWER  # the held connection is open now
        url = make_url(db_env)
        admin = await asyncpg.connect(
            user=url.username, host=url.host, port=url.port, database=url.database
        )
        try:
            terminated = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert terminated
        assert await cache.get(key) == ANSWER  # through the engine, which reconnects
        assert await cache.get(key) == ANSWER  # through a new held connection
        assert warnings == []
    finally:
        await cache.aclose()
