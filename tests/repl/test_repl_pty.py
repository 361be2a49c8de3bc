"""The REPL in a real pseudo-terminal (pexpect): line editing, streaming, commands, Ctrl-C."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from chat_world import fetch, sqlite_only, tracked_calls
from sim_kit import simulator_env

from salesctl.llm.simulator import Simulator

SALESCTL = str(Path(sys.executable).with_name("salesctl"))
FOOTER_SIMPLE = r"gemini:gemini-1\.5-flash\S* · simple · [\d,]+→[\d,]+ tokens · \$[\d.]+ · "


@pytest.fixture
def spawn(world: str, isolated_env: Path) -> Iterator[Any]:
    children: list[pexpect.spawn] = []

    def start(*args: str, sim: Simulator) -> pexpect.spawn:
        env = {
            **os.environ,
            **simulator_env(sim),
            "DATABASE_URL": world,
            "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        child = pexpect.spawn(
            SALESCTL,
            ["chat", *args],
            env=env,
            encoding="utf-8",
            timeout=60,  # a bound on waiting (a busy machine starts slowly), not a timing check
            dimensions=(50, 160),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


@sqlite_only
def test_a_full_exchange_with_commands_and_a_goodbye(
    spawn: Any, sim: Simulator, world: str, isolated_env: Path
) -> None:
    child = spawn("sr-bdr", "--user", "rep_9", sim=sim)
    child.expect(r"session (sess_[0-9a-f]{16}) \(new\)")
    session_id = child.match.group(1)
    child.expect("sr-bdr›")

    child.send("Show me top 3 leads\r")
    child.expect(r"→ top_leads\(limit=3\)")
    child.expect("TechCorp Inc")
    child.expect(FOOTER_SIMPLE)
    child.expect("sr-bdr›")

    child.send("/cost\r")
    child.expect(f"Session {session_id}: 2 LLM calls")
    child.expect("sr-bdr›")
    child.send("/model Analyze the blockers on deal 1 and recommend a strategy\r")
    child.expect(r"complex → claude:claude-sonnet-4-5")
    child.expect("sr-bdr›")

    child.sendcontrol("d")
    child.expect(rf"Session {session_id}: 1 turn · \$[\d.]+ · models: gemini:gemini-1\.5-flash")
    child.expect(f"Resume with: salesctl chat sr-bdr --session {session_id}")
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus == 0

    history = isolated_env / "chat_history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert "Show me top 3 leads" in history.read_text()
    rows = pytest_run(tracked_calls(world, session_id))
    assert [(r.user_id, r.prompt_complexity) for r in rows] == [("rep_9", "simple")] * 2


@sqlite_only
def test_a_change_is_shown_and_confirmed_on_the_terminal(
    spawn: Any, sim: Simulator, world: str
) -> None:
    child = spawn("pipeline", sim=sim)
    child.expect("pipeline›")
    child.send("Move deal 2 to closed_won\r")
    child.expect("About to change")
    child.expect("deal 2 'Globex pilot':")
    child.expect("stage: negotiation → ")
    child.expect("closed_won")
    child.expect(r"Apply this change\? \[y/N\]")
    child.send("n\r")
    child.expect("✗ not changed:")
    child.expect("the user declined")
    child.expect("pipeline›")
    assert pytest_run(fetch(world, "SELECT stage FROM deals WHERE id = 2")) == [("negotiation",)]

    child.send("Move deal 2 to closed_won\r")
    child.expect(r"Apply this change\? \[y/N\]")
    child.send("y\r")
    child.expect("✓ changed:")
    child.expect("deal 2 'Globex pilot': stage: negotiation → closed_won")
    child.expect("pipeline›")
    child.send("/exit\r")
    child.expect(pexpect.EOF)
    assert pytest_run(fetch(world, "SELECT stage FROM deals WHERE id = 2")) == [("closed_won",)]


@sqlite_only
def test_ctrl_c_cancels_the_answer_and_keeps_the_session_clean(
    spawn: Any, world: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Simulator(latency_ms=4000) as slow:
        child = spawn("sr-bdr", sim=slow)
        child.expect(r"session (sess_[0-9a-f]{16})")
        session_id = child.match.group(1)
        child.expect("sr-bdr›")
        child.send("Show me top 3 leads\r")
        child.expect("thinking…")
        child.sendintr()
        child.expect("cancelled")
        child.expect("sr-bdr›")
        child.send("/history\r")
        child.expect(r"\(no messages yet\)")
        child.expect("sr-bdr›")
        child.sendcontrol("d")
        child.expect("0 turns")
        child.expect(pexpect.EOF)
    messages = pytest_run(
        fetch(world, "SELECT count(*) FROM chat_messages WHERE session_id = :s", s=session_id)
    )
    assert messages == [(0,)]


def pytest_run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)
