"""Chat sessions in salesctl's own tables: create, resume, append turns, and what they cost.

Message text is stored as `store_prompts` says: in full, redacted, or not at all. A turn stored
without its text keeps its row (role, order, tool names) but cannot be replayed on resume.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesctl.db.base import utcnow
from salesctl.db.models import AICostTracking, ChatMessage, ChatSession
from salesctl.errors import NotFound
from salesctl.llm.redact import text_policy
from salesctl.llm.types import Message, ToolCall

if TYPE_CHECKING:
    from collections.abc import Callable

    from salesctl.config import StorePrompts

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


def _kept_arguments(value: Any, keep: Callable[[str | None], str | None]) -> Any:
    """Tool-call arguments with every string in them passed through `keep`."""
    if isinstance(value, str):
        return keep(value)
    if isinstance(value, dict):
        return {k: _kept_arguments(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_kept_arguments(v, keep) for v in value]
    return value


def stored_tool_calls(
    calls: Sequence[dict[str, Any]] | None, store_prompts: StorePrompts
) -> list[dict[str, Any]] | None:
    """The `tool_calls` column as `store_prompts` keeps it: `none` drops the arguments (they
    can hold what the user typed), `redacted` masks the strings in them."""
    if not calls:
        return None
    if store_prompts == "none":
        return [{"id": c["id"], "name": c["name"]} for c in calls]
    keep = text_policy(store_prompts)
    return [
        {**c, "arguments": _kept_arguments(c["arguments"], keep)} if "arguments" in c else c
        for c in calls
    ]


def _to_row(
    session_id: str, seq: int, message: Message, store_prompts: StorePrompts
) -> ChatMessage:
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    return ChatMessage(
        session_id=session_id,
        seq=seq,
        role=message.role,
        content=text_policy(store_prompts)(message.content),
        tool_calls=stored_tool_calls(calls, store_prompts),
        tool_call_id=message.tool_call_id,
    )


def _from_row(row: ChatMessage) -> Message:
    calls: list[dict[str, Any]] = row.tool_calls or []
    return Message(
        role=row.role,  # type: ignore[arg-type]  # the column holds only Message roles
        content=row.content or "",
        tool_calls=tuple(ToolCall(c["id"], c["name"], dict(c["arguments"])) for c in calls),
        tool_call_id=row.tool_call_id,
    )


def _has_text(row: ChatMessage) -> bool:
    """Whether the row kept its text; `store_prompts = none` stores None (never "")."""
    return row.content is not None and all("arguments" in c for c in row.tool_calls or [])


@dataclass(frozen=True, slots=True)
class StoredHistory:
    """A session's conversation as far as it can be replayed."""

    messages: list[Message]
    """The turns whose text was stored, in order, tool calls and results included."""
    turns_not_stored: int
    """Turns stored without their text (`store_prompts = none`): left out of `messages`."""


async def load_history(*, session: AsyncSession, session_id: str) -> StoredHistory:
    """The session's stored turns in order; a turn missing any text is left out whole, so no
    tool call loses its result and no answer loses its question."""
    stmt = select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.seq)
    turns: list[list[ChatMessage]] = []
    for row in await session.scalars(stmt):
        if row.role == "user" or not turns:
            turns.append([])
        turns[-1].append(row)
    kept = [turn for turn in turns if all(_has_text(row) for row in turn)]
    return StoredHistory(
        messages=[_from_row(row) for turn in kept for row in turn],
        turns_not_stored=len(turns) - len(kept),
    )


async def load_messages(*, session: AsyncSession, session_id: str) -> list[Message]:
    """The session's replayable conversation in order, tool calls and results included."""
    return (await load_history(session=session, session_id=session_id)).messages


async def append_messages(
    *,
    session: AsyncSession,
    session_id: str,
    messages: Sequence[Message],
    store_prompts: StorePrompts = "full",
) -> None:
    """Add one turn's messages after the session's last one and touch its `updated_at`;
    their text is kept as `store_prompts` says.

    The touch comes first so the transaction holds the write lock before it reads the last
    sequence number (see `queries.claim_for_write`).
    """
    touched = await session.execute(
        update(ChatSession).where(ChatSession.id == session_id).values(updated_at=utcnow())
    )
    if not touched.rowcount:  # type: ignore[attr-defined]  # a DML CursorResult
        raise NotFound(f"chat session {session_id!r} was deleted")
    last = await session.scalar(
        select(func.max(ChatMessage.seq)).where(ChatMessage.session_id == session_id)
    )
    start = (last or 0) + 1
    session.add_all(
        _to_row(session_id, start + i, m, store_prompts) for i, m in enumerate(messages)
    )
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
        if n_priced and cost is not None:  # a sum over priced rows is never NULL
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
