"""What every node of a chat graph gets at run time, and how writes are authorised.

Run dependencies (the gateway, the session factory, the caller's identity, the write
confirmation) travel in `ChatContext` through LangGraph's runtime context, never as globals.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.llm.gateway import LLMGateway
    from salesctl.llm.types import LLMConfig


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """A write a tool is about to make, shown to the user before it happens."""

    tool: str
    target: str
    """What is changed, for people: `deal 1 'TechCorp platform'`."""
    changes: tuple[tuple[str, str | None, str | None], ...]
    """(field, before, after) triples."""

    def describe(self) -> str:
        parts = [f"{name}: {old or '—'} → {new or '—'}" for name, old, new in self.changes]
        return f"{self.target}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class WriteVerdict:
    """Whether a planned change may go ahead, and why not when it may not."""

    approved: bool
    reason: str = ""


ConfirmWrite = Callable[[PlannedChange], Awaitable[WriteVerdict]]
"""Asks (or decides) whether a planned change may be applied."""


async def approve_all(change: PlannedChange) -> WriteVerdict:
    """`--yes`: every write the user asked for goes ahead without a question."""
    return WriteVerdict(True)


async def refuse_unattended(change: PlannedChange) -> WriteVerdict:
    """stdin is not a terminal and `--yes` was not given: nobody can confirm, so refuse."""
    return WriteVerdict(False, "writes need --yes when stdin is not a terminal")


_WORD_SPLIT = re.compile(r"[\s_\-]+")


def _normalise(text: str) -> str:
    return _WORD_SPLIT.sub(" ", text.lower()).strip()


@dataclass(frozen=True, slots=True)
class UserWords:
    """Text the user typed: the only source that may authorise a write.

    Tool results (lead notes, deal fields) never land here, so an instruction planted in the
    database cannot name a write target or ask for a change.
    """

    latest: str
    earlier: tuple[str, ...] = ()

    @property
    def latest_normalised(self) -> str:
        return _normalise(self.latest)

    @property
    def all_normalised(self) -> str:
        return _normalise(" \n ".join((*self.earlier, self.latest)))

    def latest_has_word(self, words: Sequence[str]) -> bool:
        """Whether the latest message contains one of `words` (whole words, any case)."""
        text = self.latest_normalised
        return any(re.search(rf"\b{re.escape(_normalise(w))}\b", text) for w in words)

    def names_record(self, kind: str, record_id: int, names: Sequence[str | None] = ()) -> bool:
        """Whether the user named `kind` `record_id` (`deal 3`, `deal #3`, `#3`) or its name."""
        text = self.all_normalised
        if re.search(rf"(?:\b{kind}s? ?#? ?|#){record_id}\b", text):
            return True
        return any(_mentions_name(text, name) for name in names if name)


_GENERIC_FIRST_WORDS = frozenset({"the", "a", "an", "my", "our", "new", "big"})


def _mentions_name(text: str, name: str) -> bool:
    """The whole name, or its distinctive first word ("Acme" for "Acme Corp"), as words."""
    full = _normalise(name)
    if len(full) >= 3 and re.search(rf"\b{re.escape(full)}\b", text):
        return True
    first = full.split(" ", 1)[0]
    return (
        len(first) >= 4
        and first not in _GENERIC_FIRST_WORDS
        and re.search(rf"\b{re.escape(first)}\b", text) is not None
    )


@dataclass(frozen=True, slots=True)
class ChatContext:
    """Run dependencies of one chat turn."""

    llm: LLMGateway
    sessions: async_sessionmaker[AsyncSession]
    config: LLMConfig
    user_words: UserWords
    confirm: ConfirmWrite = refuse_unattended
    max_tool_rounds: int = 5
    max_tokens: int = 1000
    stream: bool = True

    @property
    def actor(self) -> str:
        """Who is acting, for notes: the user id, else the agent."""
        return self.config.user_id or self.config.agent_type
