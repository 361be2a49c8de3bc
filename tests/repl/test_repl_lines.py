"""Line mode, driven through `run_chat()` without Typer: stdin lines in, answers out."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from chat_world import fetch, sqlite_only, tracked_calls

from salesctl.repl import ChatOptions, run_chat


async def chat(
    engine: Any, tmp_path: Any, options: ChatOptions, stdin: str
) -> tuple[int, str, str]:
    from rich.console import Console

    from salesctl.db.session import session_factory
    from salesctl.llm.gateway import CostOptimizedLLMProvider

    out, err = io.StringIO(), io.StringIO()
    async with CostOptimizedLLMProvider(engine=engine) as llm:
        code = await run_chat(
            options,
            llm=llm,
            sessions=session_factory(engine),
            data_dir=tmp_path,
            console=Console(file=io.StringIO()),
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
        )
    return code, out.getvalue(), err.getvalue()


@sqlite_only
async def test_each_line_is_answered_in_order_on_stdout(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    code, out, err = await chat(
        engine,
        tmp_path,
        ChatOptions("sr-bdr"),
        "Show me top 3 leads\n\n   \nAnalyze the blockers on deal 1 and recommend a strategy\n",
    )
    assert code == 0
    first, second = out.split("\n\n")
    assert first.startswith("I found 3 leads:\n- TechCorp Inc:")
    assert second.startswith("TechCorp platform (TechCorp Inc): stage proposal")
    [session_line] = err.splitlines()
    assert session_line.startswith("session sess_")
    assert session_line.endswith("(sr-bdr, new)")


@sqlite_only
async def test_json_lines_carry_model_cost_and_session(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    code, out, err = await chat(
        engine, tmp_path, ChatOptions("pipeline", json=True), "Which deals are stalled?\n/cost\n"
    )
    assert code == 0
    answer, cost = (json.loads(line, parse_float=Decimal) for line in out.splitlines())
    assert {"text", "provider", "model", "complexity", "cost_usd", "session_id"} <= answer.keys()
    assert (answer["provider"], answer["complexity"], answer["tools_called"]) == (
        "gemini",
        "simple",
        ["stalled_deals"],
    )
    assert err.startswith(f"session {answer['session_id']} ")
    rows = await tracked_calls(world, answer["session_id"])
    assert answer["cost_usd"] == sum(r.cost_usd for r in rows) > 0
    assert cost["command"] == "/cost"
    assert cost["lines"][0].startswith(f"Session {answer['session_id']}: 2 LLM calls")


@sqlite_only
async def test_writes_are_refused_on_a_pipe_unless_yes(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    ask = "Move deal 2 to closed_won\n"
    code, _, err = await chat(engine, tmp_path, ChatOptions("pipeline"), ask)
    assert code == 0
    assert (
        "not changed: deal 2 'Globex pilot': stage: negotiation → closed_won: writes need --yes"
        in err
    )
    assert await fetch(world, "SELECT stage FROM deals WHERE id = 2") == [("negotiation",)]

    code, _, err = await chat(engine, tmp_path, ChatOptions("pipeline", yes=True), ask)
    assert "changed: deal 2 'Globex pilot': stage: negotiation → closed_won" in err
    assert await fetch(world, "SELECT stage FROM deals WHERE id = 2") == [("closed_won",)]


@sqlite_only
async def test_a_failed_answer_is_reported_and_the_rest_still_answered(
    world: str, engine: Any, sim: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.config import get_settings

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    get_settings.cache_clear()
    code, out, err = await chat(
        engine,
        tmp_path,
        ChatOptions("sr-bdr"),
        "Analyze the blockers on deal 1 and recommend a strategy\nShow me top 3 leads\n",
    )
    assert code == 1
    assert "error: no API key for any complex router choice" in err
    assert out.startswith("I found 3 leads:")


@sqlite_only
async def test_slash_commands_work_in_line_mode(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    code, out, err = await chat(
        engine,
        tmp_path,
        ChatOptions("cs"),
        "/help\nShow won accounts\n/history\n/reset\n/history\n/bogus\n/exit\nnever asked\n",
    )
    assert code == 0
    first_session = err.split()[1]
    assert "Show the onboarding checklist for lead 5" in out
    assert "  /model    which model the router would pick next, and why (/model QUESTION)" in out
    assert "you: Show won accounts\n  → won_accounts()\n" in out
    [reset] = [line for line in out.splitlines() if line.startswith("Started a new session")]
    assert f"(the old one, {first_session}, stays resumable)" in reset
    assert "(no messages yet)" in out
    assert "unknown command '/bogus': /help lists the commands" in out
    assert "never asked" not in out
    sessions = await fetch(
        world, "SELECT count(*) FROM chat_sessions WHERE agent = 'customer_success'"
    )
    assert sessions == [(2,)]
