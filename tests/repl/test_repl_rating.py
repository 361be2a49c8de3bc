"""Rating answers from a chat: `--json` names each answer's tracked calls, and /good and /bad
rate the last answer (stored like `salesctl feedback`). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from chat_world import fetch, tracked_calls
from test_repl_lines import chat

from salesctl.repl import ChatOptions


async def test_json_answers_carry_their_tracking_ids(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    code, out, _ = await chat(
        engine, tmp_path, ChatOptions("pipeline", json=True), "Which deals are stalled?\n"
    )
    assert code == 0
    answer = json.loads(out)
    rows = await tracked_calls(world, answer["session_id"])
    assert answer["tracking_ids"] == [r.request_id for r in rows]
    assert answer["tracking_id"] == rows[-1].request_id


async def test_good_and_bad_rate_the_last_answer(
    world: str, engine: Any, sim: Any, tmp_path: Any
) -> None:
    code, out, err = await chat(
        engine,
        tmp_path,
        ChatOptions("sr-bdr"),
        "/good\nShow me top 3 leads\n/good spot on\n/bad\n",
    )
    assert code == 0
    session_id = err.split()[1]
    lines = out.splitlines()
    assert f"not rated: chat session {session_id!r} has no answered call to rate" in lines
    final = (await tracked_calls(world, session_id))[-1]
    assert f"Rated {final.request_id} 1 (good); mean 1 over 1 rating(s) [sr_bdr, " in out
    assert f"Rated {final.request_id} 0 (bad); mean 0.5 over 2 rating(s) [sr_bdr, " in out
    [(score, count)] = await fetch(
        world,
        "SELECT quality_score, feedback_count FROM ai_cost_tracking WHERE request_id = :rid",
        rid=final.request_id,
    )
    assert (score, count) == (0.5, 2)
    notes = await fetch(
        world,
        "SELECT score, note FROM ai_call_feedback WHERE request_id = :rid ORDER BY id",
        rid=final.request_id,
    )
    assert [tuple(n) for n in notes] == [(1.0, "spot on"), (0.0, None)]
