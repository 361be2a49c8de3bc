"""`store_prompts = full | redacted | none` wherever prompt text could land (tracking rows,
the spool, cache values, logs), and `maintenance redact-existing` for text stored before."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from salesctl.llm.simulator import Simulator

EMAIL = "dana.reyes@techcorp.example"
PHONE = "+1 415 555 0132"
MARKER = "PROMPT-MARKER-7731"
PROMPT = f"Qualify Dana ({EMAIL}, {PHONE}); notes say {MARKER}"


def use_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    from salesctl.config import get_settings

    monkeypatch.setenv("SALESCTL_STORE_PROMPTS", mode)
    get_settings.cache_clear()


async def tracked_texts(url: str) -> list[tuple[str | None, str | None]]:
    from sqlalchemy import select

    from salesctl.db.models import AICostTracking as T
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(T.prompt_text, T.completion_text).order_by(T.id))
            return [tuple(row) for row in result.all()]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def redis_values(url: str, prefix: str) -> list[bytes]:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        values = [await client.get(key) for key in keys]
        if keys:
            await client.delete(*keys)
        return [v for v in values if v is not None]
    finally:
        await client.aclose()


def redis_url() -> str:
    url = os.environ.get("SALESCTL_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    return url


def assert_stored_as(mode: str, text: str | None, *, original: str) -> None:
    if mode == "none":
        assert text is None
    elif mode == "full":
        assert text == original
    else:
        assert text is not None
        assert EMAIL not in text
        assert "415 555 0132" not in text
        assert "[email]" in text or EMAIL not in original


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["full", "redacted", "none"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_store_prompts_is_honoured_in_rows_spool_cache_and_logs(
    mode: str,
    sim: Simulator,
    db_env: str,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from salesctl.config import get_settings
    from salesctl.db.session import create_engine
    from salesctl.llm.cache import RedisCache
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.spool import parse_line, spool_path
    from salesctl.llm.types import LLMConfig

    use_mode(monkeypatch, mode)
    url = redis_url()
    prefix = f"salesctl-test:{uuid.uuid4().hex}:"
    spooled: list[dict[str, Any]] = []
    answers: list[str] = []

    async def run() -> None:
        engine = create_engine(db_env)
        cache = RedisCache(url, prefix=prefix)
        config = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
        try:
            async with CostOptimizedLLMProvider(engine=engine, cache=cache) as llm:
                answers.append((await llm.complete(PROMPT, config=config)).text)
                # The spool line exists from before complete() returned until compaction.
                spool = spool_path(get_settings().data_dir)
                for line in spool.read_bytes().splitlines()[1:]:  # after the header
                    data = parse_line(line)
                    assert data is not None
                    spooled.append(data)
                sim.fail_next("cerebras", 400, message=f"bad request for {PROMPT}")
                with pytest.raises(Exception, match="request refused"):
                    await llm.complete(PROMPT + " again", config=config)
        finally:
            await cache.aclose()
            await engine.dispose()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())
    values = asyncio.run(redis_values(url, prefix))

    [(prompt, completion), (failed_prompt, _)] = asyncio.run(tracked_texts(db_env))
    assert_stored_as(mode, prompt, original=PROMPT)
    assert_stored_as(mode, completion, original=answers[0])
    assert_stored_as(mode, failed_prompt, original=PROMPT + " again")
    [line] = spooled
    assert_stored_as(mode, line["prompt_text"], original=PROMPT)
    assert_stored_as(mode, line["completion_text"], original=answers[0])
    # The cache keeps the answer (a hit must return it) but never the prompt.
    [value] = values
    cached = json.loads(value)
    assert cached["text"] == answers[0]
    assert EMAIL not in value.decode()
    assert "prompt" not in json.dumps(sorted(cached))
    # Everything salesctl logs at any level, and anything anyone logs at WARNING or above
    # (third-party DEBUG output, such as a driver echoing SQL parameters, is never enabled).
    logged = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("salesctl") or r.levelno >= logging.WARNING
    )
    assert EMAIL not in logged
    assert MARKER not in logged


def redact_cli(*args: str) -> Any:
    from salesctl.cli import app
    from salesctl.config import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(app, ["maintenance", "redact-existing", *args])


def costs_totals() -> tuple[Any, Any]:
    from salesctl.cli import app

    result = CliRunner().invoke(app, ["costs", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout, parse_float=Decimal)
    return report["total_cost_usd"], report["total_requests"]


def test_redact_existing_cleans_old_text_but_keeps_the_numbers(
    sim: Simulator, db_env: str, isolated_env: Path
) -> None:
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.spool import Spool, count_pending, spool_path
    from salesctl.llm.tracking import TrackingRecord
    from salesctl.llm.types import LLMConfig

    async def calls() -> None:
        engine = create_engine(db_env)
        config = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
        async with CostOptimizedLLMProvider(engine=engine) as llm:
            for n in range(3):
                await llm.complete(f"{PROMPT} #{n}", config=config)
        await engine.dispose()

    asyncio.run(calls())
    # A record another database is still waiting for, with the same text in it.
    from datetime import UTC, datetime

    other = Spool(spool_path(isolated_env))
    other.append(
        TrackingRecord(
            request_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC),
            agent_type="qualification",
            provider="cerebras",
            model="llama3.1-8b",
            prompt_text=PROMPT,
        ).to_json_line("someone-elses-db")
    )
    other.close()
    before = costs_totals()
    assert all(EMAIL in p for p, _ in asyncio.run(tracked_texts(db_env)) if p)

    refused = redact_cli()  # store_prompts is still `full`: nothing to redact to
    assert refused.exit_code == 1
    assert "pass --mode redacted or --mode none" in refused.stderr
    unconfirmed = redact_cli("--mode", "redacted")  # not a terminal, no --yes
    assert unconfirmed.exit_code == 1
    assert "pass --yes" in unconfirmed.stderr

    done = redact_cli("--mode", "redacted", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["tracking_rows"], result["spool_records"]) == (3, 1)
    assert result["cache_entries"] == 3  # the database cache held the three answers
    texts = asyncio.run(tracked_texts(db_env))
    assert all(EMAIL not in p and MARKER in p for p, _ in texts if p)
    assert len(texts) == 3
    assert EMAIL not in spool_path(isolated_env).read_text()
    assert count_pending(spool_path(isolated_env)) == 1
    assert costs_totals() == before

    assert redact_cli("--mode", "none", "--yes").exit_code == 0
    assert asyncio.run(tracked_texts(db_env)) == [(None, None)] * 3
    _header, line = spool_path(isolated_env).read_text().splitlines()
    assert json.loads(line)["prompt_text"] is None
    assert costs_totals() == before


# --- chat transcripts and the REPL's input history ------------------------------------------

QUESTION = f"Search leads for {EMAIL}, phone {PHONE} ({MARKER})"
"""The agent searches with these words: they reach the tool call's arguments, its result and
the answer, as well as the question."""


def chat_cli(*args: str) -> Any:
    from salesctl.cli import app
    from salesctl.config import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["chat", "sr-bdr", *args])
    assert result.exit_code == 0, result.stderr
    return result


def session_of(result: Any) -> str:
    match = re.search(r"session (sess_[0-9a-f]{16})", result.stderr)
    assert match, result.stderr
    return match.group(1)


async def chat_rows(url: str, session_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from salesctl.db.models import ChatMessage as M
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(M.role, M.content, M.tool_calls)
                .where(M.session_id == session_id)
                .order_by(M.seq)
            )
            return [dict(row._mapping) for row in result.all()]
    finally:
        await engine.dispose()


async def session_calls(url: str, session_id: str) -> tuple[int, Any]:
    """Tracked calls of the session and their summed cost."""
    from sqlalchemy import func, select

    from salesctl.db.models import AICostTracking as T
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(func.count(), func.sum(T.cost_usd)).where(T.session_id == session_id)
            )
            count, cost = result.one()
            return int(count), cost
    finally:
        await engine.dispose()


async def reopen(url: str, session_id: str) -> tuple[list[Any], int]:
    """What resuming the session would replay to the model, and the turns it cannot."""
    from salesctl.agents.chat import load_agent
    from salesctl.agents.chat.conversation import Conversation
    from salesctl.db.session import create_engine, session_factory
    from salesctl.llm.gateway import CostOptimizedLLMProvider

    engine = create_engine(url)
    try:
        async with CostOptimizedLLMProvider(engine=engine) as llm:
            conversation = await Conversation.open(
                load_agent("sr-bdr"),
                llm=llm,
                sessions=session_factory(engine),
                session_id=session_id,
            )
            return conversation.history, conversation.turns_not_stored
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", ["full", "redacted", "none"])
def test_chat_transcripts_follow_store_prompts_and_resume_honestly(
    mode: str, sim: Simulator, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_mode(monkeypatch, mode)
    session_id = session_of(chat_cli("--once", QUESTION))
    rows = asyncio.run(chat_rows(db_env, session_id))
    stored = json.dumps(rows)
    calls = [call for row in rows for call in row["tool_calls"] or []]
    assert rows[0]["role"] == "user"
    assert [call["name"] for call in calls] == ["search_leads"]
    if mode == "full":
        assert rows[0]["content"] == QUESTION
        assert EMAIL in stored
        assert all("arguments" in call for call in calls)
    elif mode == "redacted":
        assert EMAIL not in stored
        assert "415 555 0132" not in stored
        assert "[email]" in rows[0]["content"]
        assert MARKER in rows[0]["content"]
        assert all("arguments" in call for call in calls)
    else:
        assert MARKER not in stored
        assert EMAIL not in stored
        assert all(row["content"] is None for row in rows)
        assert all(set(call) == {"id", "name"} for call in calls)
    # The session's calls, tokens and costs are tracked whatever happens to the text.
    count, cost = asyncio.run(session_calls(db_env, session_id))
    assert count >= 2
    assert cost > 0

    history, not_stored = asyncio.run(reopen(db_env, session_id))
    if mode == "none":
        assert (history, not_stored) == ([], 1)
    else:
        assert not_stored == 0
        assert [m.role for m in history] == [row["role"] for row in rows]
        assert history[0].content == rows[0]["content"]

    resumed = chat_cli("--session", session_id, "--once", "Show me top 3 leads")
    assert f"session {session_id} (sr-bdr, resumed)" in resumed.stderr
    notice = "1 earlier turn of this session kept no text (store_prompts = none)"
    assert (notice in resumed.stderr) is (mode == "none")
    assert resumed.stdout.strip()
    after = asyncio.run(chat_rows(db_env, session_id))
    assert [row["role"] for row in after].count("user") == 2
    assert asyncio.run(session_calls(db_env, session_id))[0] > count


def test_redact_existing_covers_chat_transcripts_and_the_history_file(
    sim: Simulator, db_env: str, isolated_env: Path
) -> None:
    from salesctl.repl.history import HISTORY_FILE, open_history

    session_id = session_of(chat_cli("--once", QUESTION))
    typed = open_history(isolated_env, "full")  # what the REPL writes, as it writes it
    typed.append_string(QUESTION)
    typed.append_string(f"/model who is {EMAIL}?\nand {PHONE}")
    history_file = isolated_env / HISTORY_FILE
    assert EMAIL in history_file.read_text()
    before = asyncio.run(session_calls(db_env, session_id))
    personal = [
        row
        for row in asyncio.run(chat_rows(db_env, session_id))
        if EMAIL in json.dumps(row) or "415 555 0132" in json.dumps(row)
    ]

    done = redact_cli("--mode", "redacted", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    rows = asyncio.run(chat_rows(db_env, session_id))
    assert result["chat_messages"] == len(personal) == 4  # question, search, result, answer
    assert result["history_entries"] == 2
    assert EMAIL not in json.dumps(rows)
    assert MARKER in rows[0]["content"]
    text = history_file.read_text()
    assert EMAIL not in text
    assert "415 555 0132" not in text
    assert "+/model who is [email]?\n+and [phone]\n" in text
    # prompt_toolkit still reads the rewritten file, and resuming still replays the turn.
    assert list(open_history(isolated_env, "full").load_history_strings()) == [
        "/model who is [email]?\nand [phone]",
        f"Search leads for [email], phone [phone] ({MARKER})",
    ]
    history, not_stored = asyncio.run(reopen(db_env, session_id))
    assert not_stored == 0
    assert history[0].content == rows[0]["content"]
    again = json.loads(redact_cli("--mode", "redacted", "--yes", "--json").stdout)
    assert (again["chat_messages"], again["history_entries"]) == (0, 0)

    gone = redact_cli("--mode", "none", "--yes", "--json")
    assert gone.exit_code == 0, gone.stderr
    assert json.loads(gone.stdout)["history_entries"] == 2
    rows = asyncio.run(chat_rows(db_env, session_id))
    assert all(row["content"] is None for row in rows)
    assert MARKER not in json.dumps(rows)
    assert history_file.read_text() == ""
    assert oct(history_file.stat().st_mode & 0o777) == oct(0o600)
    assert asyncio.run(reopen(db_env, session_id)) == ([], 1)
    assert asyncio.run(session_calls(db_env, session_id)) == before


@pytest.mark.parametrize("mode", ["full", "redacted", "none"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_repl_history_file_follows_store_prompts(
    mode: str, sim: Simulator, db_env: str, isolated_env: Path
) -> None:
    import sys

    import pexpect

    typed = f"/model who is {EMAIL} at {PHONE}?"
    child = pexpect.spawn(
        str(Path(sys.executable).with_name("salesctl")),
        ["chat", "sr-bdr"],
        env={**os.environ, "SALESCTL_STORE_PROMPTS": mode, "TERM": "xterm"}
        | {"PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )
    try:
        child.expect("sr-bdr›")
        child.send(typed + "\r")
        child.expect("For 'who is")
        child.expect("sr-bdr›")
        child.send("\x1b[A")  # up arrow: this run recalls the line as typed, in every mode
        child.expect_exact(EMAIL)
        child.send("\r")
        child.expect("For 'who is")
        child.expect("sr-bdr›")
        child.send("/exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0

    history = isolated_env / "chat_history"
    if mode == "none":
        assert not history.exists()
        return
    text = history.read_text()
    if mode == "full":
        assert f"+{typed}\n" in text
    else:
        assert EMAIL not in text
        assert "+/model who is [email] at [phone]?\n" in text
