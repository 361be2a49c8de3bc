"""Chat sessions in salesctl's tables: ids, turns in order, resume, and what a session cost."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from salesctl.agents.chat import sessions as store
from salesctl.db.models import AICostTracking
from salesctl.errors import NotFound
from salesctl.llm.types import Message, ToolCall


def test_new_session_ids_look_like_the_seed_and_do_not_repeat() -> None:
    ids = {store.new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"sess_[0-9a-f]{16}", i) for i in ids)


async def test_turns_round_trip_in_order(session: Any) -> None:
    async with session.begin():
        record = await store.create_session(session=session, agent_type="sr_bdr", user_id="rep_1")
    turn = [
        Message("user", "Show me top 3 leads"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "top_leads", {"limit": 3}),)),
        Message("tool", '<data tool="top_leads">{}</data>', tool_call_id="c1"),
        Message("assistant", "TechCorp leads."),
    ]
    async with session.begin():
        await store.append_messages(session=session, session_id=record.id, messages=turn[:2])
    async with session.begin():
        await store.append_messages(session=session, session_id=record.id, messages=turn[2:])
    async with session.begin():
        assert await store.load_messages(session=session, session_id=record.id) == turn
        stored = await store.get_session(session=session, session_id=record.id)
        assert (stored.agent, stored.user_id) == ("sr_bdr", "rep_1")
        assert stored.updated_at >= stored.created_at
    with pytest.raises(NotFound, match=r"no chat session 'sess_missing': leave out --session"):
        async with session.begin():
            await store.get_session(session=session, session_id="sess_missing")


async def test_session_usage_sums_priced_calls_and_counts_the_rest(session: Any) -> None:
    def row(n: int, **fields: Any) -> AICostTracking:
        base: dict[str, Any] = {
            "request_id": f"r{n}",
            "timestamp": datetime.now(UTC),
            "agent_type": "sr_bdr",
            "agent_mode": "smart_router",
            "session_id": "sess_a",
            "provider": "gemini",
            "model": "gemini-1.5-flash",
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "cost_usd": Decimal("0.0000123456"),
        }
        return AICostTracking(**{**base, **fields})

    async with session.begin():
        session.add_all(
            [
                row(1),
                row(2, provider="claude", model="claude-sonnet-4-5", cost_usd=Decimal("0.0031")),
                row(3, model="gemini-9", cost_usd=None, unpriced=True),
                row(4, status="error", cost_usd=None, prompt_tokens=0, completion_tokens=0),
                row(5, session_id="sess_other"),
            ]
        )
    async with session.begin():
        usage = await store.session_usage(session=session, session_id="sess_a")
        empty = await store.session_usage(session=session, session_id="sess_none")
    assert usage.calls == 4
    assert usage.failed_calls == 1
    assert usage.unpriced_calls == 1
    assert usage.cost_usd == Decimal("0.0031123456")
    assert (usage.prompt_tokens, usage.completion_tokens) == (300, 30)
    assert usage.models == {
        "gemini:gemini-1.5-flash": 1,
        "claude:claude-sonnet-4-5": 1,
        "gemini:gemini-9": 1,
    }
    assert (empty.calls, empty.cost_usd) == (0, Decimal(0))
