"""`salesctl feedback`: ratings stored and summed on the call's row, by id or a chat session's
last answer; bad input is one line and exit 1. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from salesctl.cli import app
from salesctl.db.session import create_engine
from salesctl.reports.synthetic import insert_calls, make_call

T = TypeVar("T")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def on_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def call_row(engine: Any, request_id: str) -> Any:
    from salesctl.db.models import AICostTracking

    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(AICostTracking.__table__).where(AICostTracking.request_id == request_id)
            )
        ).one()


async def ratings_of(engine: Any, request_id: str) -> list[Any]:
    from salesctl.db.models import CallFeedback

    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(CallFeedback.__table__)
                .where(CallFeedback.request_id == request_id)
                .order_by(CallFeedback.id)
            )
        )


@pytest.fixture
def call(db_env: str) -> str:
    row = make_call(agent_type="sr_bdr", prompt_text="show me top 3 leads")
    on_db(db_env, lambda engine: insert_calls(engine, [row]))
    return str(row["request_id"])


def test_ratings_are_kept_and_their_mean_lands_on_the_call(db_env: str, call: str) -> None:
    code, out, err = invoke("feedback", call, "--good", "--user", "dana")
    assert (code, err) == (0, "")
    assert out.startswith(f"Rated {call} 1 (good); mean 1 over 1 rating(s) [sr_bdr, ")
    assert invoke("feedback", call, "--bad", "--note", "wrong lead", "--user", "jordan")[0] == 0
    code, out, _ = invoke("feedback", call, "--score", "0.25", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["request_id"] == call
    assert data["score"] == 0.25
    assert data["quality_score"] == pytest.approx((1 + 0 + 0.25) / 3, abs=1e-4)
    assert data["feedback_count"] == 3
    assert data["tier"] == "simple"

    row = on_db(db_env, lambda engine: call_row(engine, call))
    assert row.quality_score == pytest.approx(1.25 / 3)
    assert row.feedback_count == 3
    kept = on_db(db_env, lambda engine: ratings_of(engine, call))
    assert [(r.score, r.rated_by, r.note) for r in kept][:2] == [
        (1.0, "dana", None),
        (0.0, "jordan", "wrong lead"),
    ]
    assert all(r.created_at is not None for r in kept)


def test_a_chat_sessions_last_answer(db_env: str) -> None:
    now = datetime.now(UTC)
    rows = [
        make_call(agent_type="sr_bdr", session_id="sess_a", timestamp=now - timedelta(minutes=5)),
        make_call(agent_type="sr_bdr", session_id="sess_a", timestamp=now - timedelta(minutes=2)),
        make_call(agent_type="sr_bdr", session_id="sess_a", timestamp=now, status="error"),
        make_call(agent_type="sr_bdr", session_id="sess_b", timestamp=now),
    ]
    on_db(db_env, lambda engine: insert_calls(engine, rows))
    code, out, _ = invoke("feedback", "--session", "sess_a", "--last", "--bad", "--json")
    assert code == 0
    assert json.loads(out)["request_id"] == rows[1]["request_id"]

    code, _, err = invoke("feedback", "--session", "sess_none", "--last", "--good")
    assert code == 1
    assert err == "error: chat session 'sess_none' has no answered call to rate\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-call", "--good"], "no tracked call 'no-such-call': use a tracking_id"),
        (["{call}", "--score", "1.5"], "score 1.5 is outside 0-1"),
        (["{call}", "--score", "-0.1"], "score -0.1 is outside 0-1"),
        (["{call}", "--score", "nan"], "is outside 0-1"),
        (["{call}"], "give one of --good, --bad or --score X"),
        (["{call}", "--good", "--bad"], "give one of --good, --bad or --score X"),
        (["--good"], "name the call: a tracking_id"),
        (["{call}", "--session", "s", "--last", "--good"], "a tracking id or --session ID --last"),
        (["--session", "s", "--good"], "--session needs --last"),
        (["--last", "--good"], "--last rates a chat session's last answer: add --session ID"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(call: str, args: list[str], message: str) -> None:
    code, out, err = invoke("feedback", *(a.replace("{call}", call) for a in args))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err


def test_nothing_is_stored_for_a_refused_rating(db_env: str, call: str) -> None:
    assert invoke("feedback", call, "--score", "2")[0] == 1
    assert on_db(db_env, lambda engine: ratings_of(engine, call)) == []
    assert on_db(db_env, lambda engine: call_row(engine, call)).feedback_count == 0


def test_costs_export_names_the_ids_feedback_takes(db_env: str, call: str) -> None:
    assert invoke("feedback", call, "--good")[0] == 0
    code, out, _ = invoke("costs", "export", "--format", "jsonl")
    assert code == 0
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["request_id"], row["quality_score"], row["feedback_count"]) == (call, 1.0, 1)
