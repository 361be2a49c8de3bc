"""0006_feedback: the ratings table comes and goes cleanly, and tracked calls (their quality
columns included) are left as they were. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from test_migrations import revision_of, run_migration, tables_and_views

from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call


async def calls(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return sorted(
                (
                    await conn.execute(
                        sa.text(
                            "SELECT request_id, quality_score, feedback_count FROM ai_cost_tracking"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()


def test_down_to_0003_and_up_again_keeps_the_calls(database_url: str) -> None:
    rated = make_call(agent_type="sr_bdr", quality_score=0.5, feedback_count=2)
    plain = make_call(agent_type="qualification", quality_score=None, feedback_count=0)

    async def scenario() -> None:
        engine = create_engine(database_url)
        try:
            await insert_calls(engine, [rated, plain])
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO ai_call_feedback (request_id, score, rated_by) "
                        "VALUES (:rid, 1.0, 'dana'), (:rid, 0.0, 'jordan')"
                    ),
                    {"rid": rated["request_id"]},
                )
        finally:
            await engine.dispose()

    asyncio.run(scenario())
    before = asyncio.run(calls(database_url))
    assert before == sorted([(rated["request_id"], 0.5, 2), (plain["request_id"], None, 0)])
    asyncio.run(run_migration(database_url, "downgrade", "0005_reliability"))
    assert "ai_call_feedback" not in asyncio.run(tables_and_views(database_url))
    assert asyncio.run(revision_of(database_url)) == "0005_reliability"
    assert asyncio.run(calls(database_url)) == before
    asyncio.run(run_migration(database_url, "upgrade", "head"))
    assert "ai_call_feedback" in asyncio.run(tables_and_views(database_url))
    assert asyncio.run(calls(database_url)) == before
