"""The tracking writer: spool first, batched background inserts, replay of what is missing."""

from __future__ import annotations

import json
import logging
import stat
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from salesctl.db.models import AICostTracking, Lead
from salesctl.llm.spool import progress_path, read_progress
from salesctl.llm.tracking import TrackingRecord, TrackingWriter, replay_spool


def record(**overrides: object) -> TrackingRecord:
    values: dict[str, object] = {
        "request_id": str(uuid.uuid4()),
        "timestamp": datetime(2026, 11, 2, 12, 0, 0, 123456, tzinfo=UTC),
        "agent_type": "qualification",
        "agent_mode": "passthrough",
        "provider": "cerebras",
        "model": "llama3.1-8b",
        "prompt_tokens": 1000,
        "completion_tokens": 50,
        "cost_usd": Decimal("0.000105"),
        "price_source": "genai-prices",
        "latency_ms": 640,
        "routing": {"tier": "simple", "signals": {"words": 5}},
    }
    values.update(overrides)
    return TrackingRecord(**values)  # type: ignore[arg-type]


async def rows(engine) -> list[AICostTracking]:  # type: ignore[no-untyped-def]
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        result = await session.execute(select(AICostTracking).order_by(AICostTracking.id))
        return list(result.scalars())


async def test_records_are_spooled_then_inserted_exactly(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spool = tmp_path / "data" / "spool" / "tracking.jsonl"
    writer = TrackingWriter(engine, spool=spool)
    sent = [record(cost_usd=Decimal("0.0000000001") * n) for n in range(1, 6)]
    for r in sent:
        writer.submit(r)
    # Spooled before submit() returned, one JSON line each after the generation line,
    # owner-only.
    header, *lines = spool.read_bytes().splitlines()
    assert set(json.loads(header)) == {"spool"}
    assert [json.loads(line)["request_id"] for line in lines] == [r.request_id for r in sent]
    assert lines[0].startswith(b'{"request_id":')
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.parent.stat().st_mode) == 0o700
    await writer.aclose()

    stored = await rows(engine)
    assert [r.request_id for r in stored] == [r.request_id for r in sent]
    assert [r.cost_usd for r in stored] == [Decimal("0.0000000001") * n for n in range(1, 6)]
    assert stored[0].timestamp == sent[0].timestamp
    assert stored[0].routing == {"tier": "simple", "signals": {"words": 5}}
    assert writer.stats.written == 5
    # Everything is committed and nobody else uses the spool: closing compacted it away.
    assert not spool.exists()
    assert read_progress(spool) == []
    assert await replay_spool(engine, spool) == 0


async def test_failed_writes_stay_in_the_spool_and_replay_inserts_them_once(
    engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import create_engine

    spool = tmp_path / "spool" / "tracking.jsonl"
    unmigrated = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    writer = TrackingWriter(unmigrated, spool=spool)
    sent = [record() for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="salesctl.tracking"):
        for r in sent:
            writer.submit(r)
        await writer.aclose()
    await unmigrated.dispose()
    warnings = [r.message for r in caplog.records]
    assert len(warnings) == 1
    assert "kept in" in warnings[0]
    assert "salesctl costs flush" in warnings[0]
    assert writer.stats.failed == 3
    assert read_progress(spool) == []

    spooled = spool.read_bytes()
    assert await replay_spool(engine, spool) == 3
    assert not spool.exists()  # all committed and unused: compacted away
    assert await replay_spool(engine, spool) == 0
    spool.write_bytes(spooled)  # the same lines again, without progress: nothing twice
    assert not progress_path(spool).exists()
    assert await replay_spool(engine, spool) == 0
    assert sorted(r.request_id for r in await rows(engine)) == sorted(r.request_id for r in sent)


async def test_lines_spooled_before_the_usage_detail_columns_still_replay(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A spool written by an older salesctl has no configured_model, 1-hour writes,
    reasoning or estimate fields: its records land with those at their defaults."""
    spool = tmp_path / "spool" / "tracking.jsonl"
    spool.parent.mkdir(parents=True)
    old = json.loads(record(cost_usd=Decimal("0.0000123")).to_json_line())
    for field in (
        "configured_model",
        "cache_write_1h_tokens",
        "reasoning_tokens",
        "cost_estimated",
    ):
        del old[field]
    new = record(configured_model="llama3.1", reasoning_tokens=4, cost_estimated=True)
    spool.write_bytes(json.dumps(old).encode() + b"\n" + new.to_json_line())
    assert await replay_spool(engine, spool) == 2
    replayed = {r.request_id: r for r in await rows(engine)}
    older = replayed[old["request_id"]]
    assert (older.cost_usd, older.model, older.prompt_tokens) == (
        Decimal("0.0000123"),
        "llama3.1-8b",
        1000,
    )
    assert (older.configured_model, older.cache_write_1h_tokens) == (None, 0)
    assert (older.reasoning_tokens, older.cost_estimated) == (0, False)
    newer = replayed[new.request_id]
    assert (newer.configured_model, newer.reasoning_tokens, newer.cost_estimated) == (
        "llama3.1",
        4,
        True,
    )


async def test_replay_skips_a_line_cut_short_by_a_crash(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spool = tmp_path / "tracking.jsonl"
    whole = record()
    spool.write_bytes(whole.to_json_line() + record().to_json_line()[:40])
    assert await replay_spool(engine, spool) == 1
    assert [r.request_id for r in await rows(engine)] == [whole.request_id]


async def test_a_row_for_a_missing_lead_is_kept_without_its_lead(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session, session.begin():
        session.add(Lead(id=7, company_name="Acme"))
    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl")
    known, unknown = record(lead_id=7), record(lead_id=424242)
    writer.submit(known)
    writer.submit(unknown)
    await writer.aclose()
    stored = {r.request_id: r.lead_id for r in await rows(engine)}
    assert stored == {known.request_id: 7, unknown.request_id: None}


async def test_writer_never_touches_the_callers_transaction(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from salesctl.db.session import session_factory

    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl")
    async with session_factory(engine)() as session:
        await session.begin()
        await session.execute(select(func.count()).select_from(Lead))
        writer.submit(record())
        await writer.flush()
        await session.rollback()
    await writer.aclose()
    assert len(await rows(engine)) == 1


# asyncio.run() closes its loop while aiosqlite's worker thread is still connecting for the
# cancelled writer; the thread's complaint is aiosqlite's, the carry-over under test is ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_writer_used_across_event_loops_loses_nothing(tmp_path: Path, db_env: str) -> None:
    """Library users may call asyncio.run() per call; the writer follows them loop to loop."""
    import asyncio

    from salesctl.db.session import create_engine

    async def submit_without_waiting(writer: TrackingWriter) -> None:
        writer.submit(record())

    async def count() -> int:
        engine = create_engine(db_env)
        try:
            return len(await rows(engine))
        finally:
            await engine.dispose()

    async def close(writer: TrackingWriter) -> None:
        await writer.aclose()
        await writer.engine.dispose()

    from sqlalchemy.pool import NullPool

    engine = create_engine(db_env, poolclass=NullPool)
    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl")
    asyncio.run(submit_without_waiting(writer))
    asyncio.run(submit_without_waiting(writer))
    asyncio.run(close(writer))
    assert asyncio.run(count()) == 2


async def test_records_arriving_one_at_a_time_are_inserted_together(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The writer gathers a window's records into one insert; a flush does not wait for the
    window, and a full batch is written without one."""
    import asyncio

    writer = TrackingWriter(engine, spool=tmp_path / "tracking.jsonl", window=3600)
    async with asyncio.timeout(120):  # a flush that waited for the window would hang here
        sent = [record() for _ in range(5)]
        for r in sent:
            writer.submit(r)
            await asyncio.sleep(0)  # the writer task runs between calls, as it would
        assert await rows(engine) == []  # still gathering
        await writer.flush()
        assert sorted(r.request_id for r in await rows(engine)) == sorted(
            r.request_id for r in sent
        )
        assert (writer.stats.written, writer.stats.batches) == (5, 1)

        writer.batch_size = 3
        for _ in range(3):
            writer.submit(record())
        # Poll: awaiting flush() would end the window itself, which is not under test here.
        while writer.stats.written < 8:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert writer.stats.batches == 2
    await writer.aclose()
    assert len(await rows(engine)) == 8


async def test_every_column_goes_in_exactly_and_each_row_once(engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta, timezone

    from salesctl.llm.tracking import insert_rows

    full = record(
        timestamp=datetime(2026, 11, 2, 7, 30, 0, 654321, tzinfo=timezone(timedelta(hours=-5))),
        session_id="s-1",
        user_id="rep_001",
        prompt_text="Qualify Zürich GmbH — “quoted”, 'single', \\ backslash",
        prompt_complexity="simple",
        routing={"tier": "simple", "signals": {"words": 5, "ratio": 0.25}, "list": [1, None]},
        completion_text="Score: 82 ✓",
        cache_read_tokens=7,
        cache_write_tokens=3,
        cost_usd=Decimal("123456789.0123456789"),
        saved_usd=Decimal("0.0000000001"),
        unpriced=True,
        cache_hit=True,
        status="error",
        error_type="RateLimitError",
        attempts=3,
        simulated=True,
        configured_model="llama3.1",
        cache_write_1h_tokens=2,
        reasoning_tokens=9,
        cost_estimated=True,
    )
    bare = record(agent_mode=None, routing=None, cost_usd=None, latency_ms=None)
    assert await insert_rows(engine, [full.to_row(), bare.to_row()]) == 2
    again = record()
    # Already present rows are skipped, new ones in the same batch still go in.
    assert await insert_rows(engine, [bare.to_row(), again.to_row(), full.to_row()]) == 1

    stored = {r.request_id: r for r in await rows(engine)}
    assert len(stored) == 3
    got = stored[full.request_id]
    for name in (
        "agent_type", "agent_mode", "provider", "model", "lead_id", "session_id", "user_id",
        "prompt_text", "prompt_tokens", "prompt_complexity", "routing", "completion_text",
        "completion_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
        "saved_usd", "price_source", "unpriced", "latency_ms", "cache_hit", "status",
        "error_type", "attempts", "simulated", "configured_model", "cache_write_1h_tokens",
        "reasoning_tokens", "cost_estimated",
    ):  # fmt: skip
        assert getattr(got, name) == getattr(full, name), name
    assert got.timestamp == full.timestamp
    assert got.timestamp.utcoffset() == timedelta(0)
    empty = stored[bare.request_id]
    assert (empty.agent_mode, empty.routing, empty.cost_usd, empty.latency_ms) == (None,) * 4


async def test_batches_of_any_size_are_one_fixed_statement(engine) -> None:  # type: ignore[no-untyped-def]
    """One SQL text whatever the batch size, so the driver prepares it once per connection;
    on PostgreSQL each batch is also a single execution (arrays, not a row per execute)."""
    from sqlalchemy import event

    from salesctl.llm.tracking import insert_rows

    seen: list[tuple[str, bool]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "ai_cost_tracking" in statement:
            seen.append((statement, executemany))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        for size in (1, 3, 7, 2):
            await insert_rows(engine, [record().to_row() for _ in range(size)], count=False)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(seen) == 4
    assert len({statement for statement, _ in seen}) == 1
    if engine.dialect.name == "postgresql":
        assert not any(executemany for _, executemany in seen)
    assert len(await rows(engine)) == 13
