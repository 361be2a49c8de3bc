"""Chat sessions in salesctl's own tables: create, resume, append turns, and what they cost."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.base import utcnow
from salesctl.db.models import AICostTracking, ChatMessage, ChatSession
from salesctl.errors import NotFound
from salesctl.llm.types import Message, ToolCall

SESSION_PREFIX = "sess_"


def new_session_id() -> str:
    """A fresh, unguessable session id like `sess_3f9a1c0d2b7e4a51`."""
    return SESSION_PREFIX + secrets.token_hex(8)


async def create_session(
    *, session: AsyncSession, agent_type: str, user_id: str | None
) -> ChatSession:
    record = ChatSession(id=new_session_id(), agent=agent_type, user_id=user_id)
    session.add(record)
    await session.flush()
    return record


async def get_session(*, session: AsyncSession, session_id: str) -> ChatSession:
    """The stored session, or NotFound naming how to start one."""
    record = await session.get(ChatSession, session_id)
    if record is None:
        raise NotFound(f"no chat session {session_id!r}: leave out --session to start a new one")
    return record


def _to_row(session_id: str, seq: int, message: Message) -> ChatMessage:
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    return ChatMessage(
        session_id=session_id,
        seq=seq,
        role=message.role,
        content=message.content,
        tool_calls=calls or None,
        tool_call_id=message.tool_call_id,
    )


def _from_row(row: ChatMessage) -> Message:
    calls: list[dict[str, Any]] = row.tool_calls or []
    return Message(
        role=row.role,  # type: ignore[arg-type]
        content=row.content or "",
        tool_calls=tuple(ToolCall(c["id"], c["name"], dict(c["arguments"])) for c in calls),
        tool_call_id=row.tool_call_id,
    )


async def load_messages(*, session: AsyncSession, session_id: str) -> list[Message]:
    """The session's conversation in order, tool calls and results included."""
    stmt = select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.seq)
    return [_from_row(row) for row in await session.scalars(stmt)]


async def append_messages(
    *, session: AsyncSession, session_id: str, messages: Sequence[Message]
) -> None:
    """Add one turn's messages after the session's last one and touch its `updated_at`.

    The touch comes first so the transaction holds the write lock before it reads the last
    sequence number (see `queries.claim_for_write`).
    """
    touched = await session.execute(
        update(ChatSession).where(ChatSession.id == session_id).values(updated_at=utcnow())
    )
    if not touched.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"chat session {session_id!r} was deleted")
    last = await session.scalar(
        select(func.max(ChatMessage.seq)).where(ChatMessage.session_id == session_id)
    )
    start = (last or 0) + 1
    session.add_all(_to_row(session_id, start + i, m) for i, m in enumerate(messages))
    await session.flush()


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """What a session's LLM calls have cost so far, from `ai_cost_tracking`.

    `cost_usd` sums the priced calls and is None when no call was priced (unknown is not zero);
    `unpriced_calls` says how many the sum leaves out.
    """

    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal | None
    unpriced_calls: int
    models: dict[str, int] = field(default_factory=dict)


async def session_usage(*, session: AsyncSession, session_id: str) -> SessionUsage:
    t = AICostTracking
    by_model = (
        select(
            t.provider,
            t.model,
            t.status,
            func.count(),
            func.count(t.cost_usd),
            func.coalesce(func.sum(t.prompt_tokens), 0),
            func.coalesce(func.sum(t.completion_tokens), 0),
            func.sum(t.cost_usd),
        )
        .where(t.session_id == session_id)
        .group_by(t.provider, t.model, t.status)
    )
    calls = failed = priced = prompt = completion = 0
    total: Decimal | None = None
    models: Counter[str] = Counter()
    for provider, model, status, count, n_priced, p_tok, c_tok, cost in await session.execute(
        by_model
    ):
        calls += count
        prompt += p_tok
        completion += c_tok
        if status != "ok":
            failed += count
        else:
            models[f"{provider}:{model}"] += count
        if n_priced:
            priced += n_priced
            total = (total or Decimal(0)) + cost
    unpriced = calls - failed - priced
    if total is None and unpriced == 0:
        total = Decimal(0)
    return SessionUsage(
        calls=calls,
        failed_calls=failed,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=total,
        unpriced_calls=unpriced,
        models=dict(models.most_common()),
    )
