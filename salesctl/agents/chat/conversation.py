"""A conversation with one chat agent: the library API under the REPL, piped mode and tests.

`Conversation.open()` starts or resumes a stored session; `ask()` runs one turn through the
agent's graph, yielding text and tool events as they happen and a `TurnResult` last; the turn
is stored only once it completes, so a cancelled answer leaves the session as it was.
Stored message text follows `store_prompts` (the gateway's settings); the running
conversation keeps its full history in memory either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.agents.chat import sessions as chat_sessions
from salesctl.agents.chat.context import ChatContext, ConfirmWrite, UserWords, refuse_unattended
from salesctl.agents.chat.graph import ChatAgentSpec, TurnEvent
from salesctl.agents.chat.tools import ToolRun
from salesctl.errors import InvalidInput
from salesctl.llm.types import LLMConfig, LLMResult, Message

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.llm.feedback import Rating
    from salesctl.llm.gateway import LLMGateway
    from salesctl.llm.router import RoutingDecision

MAX_HISTORY_MESSAGES = 30
"""How much of a long conversation is sent back to the model each turn."""


def sum_costs(results: list[LLMResult]) -> Decimal | None:
    """Total cost of these calls; None when any is unpriced (unknown is never zero)."""
    total = Decimal(0)
    for result in results:
        if result.cost_usd is None:
            return None
        total += result.cost_usd
    return total


@dataclass(slots=True)
class TurnResult:
    """One answered question: the answer and every model call and tool run behind it."""

    question: str
    text: str
    session_id: str
    calls: list[LLMResult]
    runs: list[ToolRun]

    @property
    def final(self) -> LLMResult | None:
        return self.calls[-1] if self.calls else None

    @property
    def provider(self) -> str | None:
        return self.final.provider if self.final else None

    @property
    def model(self) -> str | None:
        return self.final.model if self.final else None

    @property
    def complexity(self) -> str | None:
        return self.calls[0].complexity if self.calls else None

    @property
    def cost_usd(self) -> Decimal | None:
        return sum_costs(self.calls)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def latency_ms(self) -> int:
        return sum(c.latency_ms for c in self.calls)

    @property
    def changes(self) -> list[str]:
        """What this turn wrote to the database, for people."""
        return [r.detail for r in self.runs if r.status == "applied"]

    @property
    def refusals(self) -> list[str]:
        """Writes the model asked for that did not happen, and why."""
        return [
            f"{r.change.describe() if r.change else r.call.name}: {r.detail}"
            for r in self.runs
            if r.status in ("refused", "declined")
        ]

    def as_json(self) -> dict[str, Any]:
        """The `--json` line for this answer."""
        return {
            "text": self.text,
            "provider": self.provider,
            "model": self.model,
            "complexity": self.complexity,
            "cost_usd": self.cost_usd,
            "session_id": self.session_id,
            "tracking_id": self.final.tracking_id if self.final else None,
            "tracking_ids": [c.tracking_id for c in self.calls],
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
            "llm_calls": len(self.calls),
            "tools_called": [r.call.name for r in self.runs],
            "changes": self.changes,
            "refused": self.refusals,
        }


@dataclass(slots=True)
class RunSummary:
    """What this run of the conversation did: for `/cost` and the goodbye line."""

    session_id: str
    turns: int
    calls: int
    cost_usd: Decimal | None
    models: dict[str, int] = field(default_factory=dict)


def _window(history: list[Message]) -> list[Message]:
    """The recent part of the conversation, starting at a user message so no tool call is cut."""
    recent = history[-MAX_HISTORY_MESSAGES:]
    for index, message in enumerate(recent):
        if message.role == "user":
            return recent[index:]
    return []


class Conversation:
    """A stored chat session with one agent, ready to answer."""

    def __init__(
        self,
        spec: ChatAgentSpec,
        *,
        llm: LLMGateway,
        sessions: async_sessionmaker[AsyncSession],
        session_id: str,
        user_id: str | None,
        history: list[Message],
        confirm: ConfirmWrite = refuse_unattended,
        stream: bool = True,
        resumed: bool = False,
        turns_not_stored: int = 0,
    ) -> None:
        self.spec = spec
        self.llm = llm
        self.sessions = sessions
        self.session_id = session_id
        self.user_id = user_id
        self.history = history
        self.confirm = confirm
        self.stream = stream
        self.resumed = resumed
        self.turns_not_stored = turns_not_stored
        self.turns: list[TurnResult] = []
        self._graph = spec.build_graph()

    @classmethod
    async def open(
        cls,
        spec: ChatAgentSpec,
        *,
        llm: LLMGateway,
        sessions: async_sessionmaker[AsyncSession],
        session_id: str | None = None,
        user_id: str | None = None,
        confirm: ConfirmWrite = refuse_unattended,
        stream: bool = True,
    ) -> Conversation:
        """Resume `session_id` (it must belong to this agent) or start a new session."""
        async with sessions() as db, db.begin():
            if session_id is None:
                record = await chat_sessions.create_session(
                    session=db, agent_type=spec.agent_type, user_id=user_id
                )
                history: list[Message] = []
                not_stored = 0
            else:
                record = await chat_sessions.get_session(session=db, session_id=session_id)
                if record.agent != spec.agent_type:
                    raise InvalidInput(
                        f"session {session_id!r} belongs to the {record.agent!r} agent, "
                        f"not {spec.agent_type!r}: open it with that agent"
                    )
                stored = await chat_sessions.load_history(session=db, session_id=session_id)
                history, not_stored = stored.messages, stored.turns_not_stored
        return cls(
            spec,
            llm=llm,
            sessions=sessions,
            session_id=record.id,
            user_id=user_id or record.user_id,
            history=history,
            confirm=confirm,
            stream=stream,
            resumed=session_id is not None,
            turns_not_stored=not_stored,
        )

    @property
    def config(self) -> LLMConfig:
        return LLMConfig(
            agent_type=self.spec.agent_type,
            mode="smart_router",
            session_id=self.session_id,
            user_id=self.user_id,
        )

    def _user_words(self, text: str) -> UserWords:
        earlier = tuple(m.content for m in self.history if m.role == "user")
        return UserWords(latest=text, earlier=earlier)

    async def ask(self, text: str) -> AsyncIterator[TurnEvent | TurnResult]:
        """Answer `text`: text and tool events as they happen, then the `TurnResult`."""
        question = Message("user", text)
        sent = [*_window(self.history), question]
        ctx = ChatContext(
            llm=self.llm,
            sessions=self.sessions,
            config=self.config,
            user_words=self._user_words(text),
            confirm=self.confirm,
            stream=self.stream,
        )
        state: dict[str, Any] = {"messages": sent, "calls": [], "runs": [], "rounds": 0}
        final = state
        chunk: Any  # LangGraph types each (mode, chunk) pair as `dict[str, Any] | Any`
        async for mode, chunk in self._graph.astream(
            state, context=ctx, stream_mode=["custom", "values"]
        ):
            if mode == "custom":
                yield chunk
            else:
                final = chunk
        produced: list[Message] = final["messages"][len(sent) :]
        answer = produced[-1].content if produced else ""
        new_messages = [question, *produced]
        async with self.sessions() as db, db.begin():
            await chat_sessions.append_messages(
                session=db,
                session_id=self.session_id,
                messages=new_messages,
                store_prompts=self.llm.settings.store_prompts,
            )
        self.history.extend(new_messages)
        result = TurnResult(text, answer, self.session_id, final["calls"], final["runs"])
        self.turns.append(result)
        yield result

    async def answer(self, text: str) -> TurnResult:
        """`ask()` without the events."""
        async for event in self.ask(text):
            if isinstance(event, TurnResult):
                return event
        raise AssertionError("a turn always ends with its result")

    async def reset(self) -> str:
        """Forget the conversation and continue in a new session; returns its id."""
        async with self.sessions() as db, db.begin():
            record = await chat_sessions.create_session(
                session=db, agent_type=self.spec.agent_type, user_id=self.user_id
            )
        self.session_id = record.id
        self.history = []
        self.resumed = False
        self.turns_not_stored = 0
        return record.id

    def explain(self, text: str | None = None) -> RoutingDecision:
        """Where the router would send `text` (default: the last question) next, and why."""
        if text is None:
            text = next((m.content for m in reversed(self.history) if m.role == "user"), "")
        offered = [t.spec() for t in self.spec.tools if t.offered_for(self._user_words(text))]
        return self.llm.explain(text, messages=_window(self.history), tools=offered)

    async def rate(self, score: float, note: str | None = None) -> Rating:
        """Rate the last answer (of this run, else the session's last tracked one)."""
        from salesctl.llm.feedback import default_rater, last_answer, rate

        final = next((t.final for t in reversed(self.turns) if t.final is not None), None)
        await self.llm.flush()
        async with self.sessions() as db, db.begin():
            request_id = (
                final.tracking_id
                if final is not None
                else await last_answer(session=db, session_id=self.session_id)
            )
            return await rate(
                session=db,
                request_id=request_id,
                score=score,
                note=note,
                rated_by=self.user_id or default_rater(),
            )

    async def usage(self) -> chat_sessions.SessionUsage:
        """Everything this session's calls cost so far, across runs, from the tracking table."""
        await self.llm.flush()
        async with self.sessions() as db:
            return await chat_sessions.session_usage(session=db, session_id=self.session_id)

    def summary(self) -> RunSummary:
        """This run's turns in the current session (not those before a `/reset`)."""
        return self._summary_of(self.session_id)

    def summaries(self) -> list[RunSummary]:
        """One summary per session this run used, oldest first; the current one is last
        (even without turns), so a `/reset` never credits one session with another's turns."""
        used = list(dict.fromkeys([t.session_id for t in self.turns] + [self.session_id]))
        used.remove(self.session_id)
        return [self._summary_of(session_id) for session_id in [*used, self.session_id]]

    def _summary_of(self, session_id: str) -> RunSummary:
        turns = [turn for turn in self.turns if turn.session_id == session_id]
        calls = [c for turn in turns for c in turn.calls]
        models = Counter(f"{c.provider}:{c.model}" for c in calls)
        return RunSummary(
            session_id=session_id,
            turns=len(turns),
            calls=len(calls),
            cost_usd=sum_costs(calls),
            models=dict(models.most_common()),
        )
