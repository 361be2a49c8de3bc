"""What the six lead agents share: the state every graph carries, the shape of their graphs
(a chain of steps that can divert to `record_failure`), and `LeadAgent`, the
one-awaited-call Python API over a graph.

    agent = QualificationAgent(db=db)
    outcome = await agent.run(123)
"""

from __future__ import annotations

import operator
import time
from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, TypedDict

from langgraph.runtime import Runtime

from salesctl.agents import store
from salesctl.agents.claims import Claim, claim_named
from salesctl.agents.context import (
    AgentContext,
    AgentGateway,
    ApplyResult,
    model_choice,
    new_worker_id,
)
from salesctl.agents.lead import LeadSnapshot
from salesctl.agents.outcome import AgentOutcome, CallRecord, LeadFailure, lead_failure
from salesctl.db.session import unreachable_reason
from salesctl.errors import InvalidInput, NotFound
from salesctl.vocabulary import LeadAgentType

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph, StateGraph
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.writer import ResultWriter
    from salesctl.config import Settings


class LeadState(TypedDict, total=False):
    """The state every lead agent's graph carries; each agent's State adds its own fields."""

    lead: LeadSnapshot
    calls: Annotated[list[CallRecord], operator.add]
    failure: LeadFailure
    output: dict[str, Any]
    """What the run saved: on the lead, in `agent_runs.output`, and in `--json`."""


# --- the graph every lead agent builds --------------------------------------------------------


class Step(Protocol):
    """A node: reads the state and the run's context, returns the state update.

    A protocol rather than a Callable so that `runtime` can be passed by name, as LangGraph
    does (and as its `add_node` overloads require)."""

    __name__: str

    def __call__(self, state: Any, runtime: Runtime[AgentContext]) -> Awaitable[dict[str, Any]]: ...


async def record_failure(state: LeadState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Close the run as failed, with the cost of the calls it made; the lead is untouched."""
    await store.record_failure(runtime.context, state.get("calls", []), state["failure"])
    return {}


def lead_graph(
    state_schema: type[Any], *steps: tuple[str, Step], can_fail: Collection[str]
) -> StateGraph[Any, Any, Any, Any]:
    """`START → steps[0] → … → steps[-1] → END`, where a step in `can_fail` that reports a
    failure goes on to `record_failure` (which ends the run) instead.

    A step that can fail picks its successor itself (a `Command`) rather than through a conditional
    edge: LangGraph runs a router as one more task per step, in a worker thread when it is a
    plain function, and a bulk run pays that for every lead."""
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(state_schema, context_schema=AgentContext)
    names = [name for name, _ in steps]
    for (name, step), following in zip(steps, (*names[1:], END), strict=True):
        if name in can_fail:
            destinations = (following, "record_failure")
            graph.add_node(name, _unless_failed(step, following), destinations=destinations)
        else:
            graph.add_node(name, step)
            graph.add_edge(name, following)
    graph.add_node("record_failure", record_failure)
    graph.add_edge(START, names[0])
    graph.add_edge("record_failure", END)
    return graph


def _unless_failed(step: Step, following: str) -> Step:
    """`step`, then on to `following`, or to `record_failure` once it reported a failure."""
    from langgraph.types import Command

    async def run_step(state: Any, runtime: Runtime[AgentContext]) -> Any:
        update = await step(state, runtime)
        goto = "record_failure" if update.get("failure") else following
        return Command(update=update, goto=goto)

    run_step.__name__ = run_step.__qualname__ = step.__name__
    return run_step


async def save_output(
    runtime: Runtime[AgentContext],
    state: LeadState,
    output: dict[str, Any],
    apply: ApplyResult,
) -> dict[str, Any]:
    """Save `output` on the lead (via `apply`) and on the run, in one transaction."""
    calls = state.get("calls", [])
    try:
        await store.save_result(runtime.context, calls, output, apply)
    except store.ClaimLost as exc:
        return {"failure": LeadFailure("claim_lost", str(exc))}
    except store.LeadVanished as exc:
        return {"failure": LeadFailure("not_found", str(exc))}
    return {"output": output}


# --- the Python API --------------------------------------------------------------------------


class LeadAgent:
    """Runs one agent's graph on leads: `await agent.run(lead_id)` claims the lead, runs
    the graph, saves the result (or the failure) and returns the outcome.

    Give it a database session (`db=`) or a session factory (`sessions=`); without a
    `gateway=`, it builds an `LLMGateway` and flushes tracking after each run.
    """

    agent_type: ClassVar[LeadAgentType]
    _compiled: ClassVar[CompiledStateGraph[Any, Any, Any, Any] | None] = None

    def __init__(
        self,
        db: AsyncSession | None = None,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        gateway: AgentGateway | None = None,
        settings: Settings | None = None,
        provider: str | None = None,
        model: str | None = None,
        no_cache: bool = False,
        worker_id: str | None = None,
    ) -> None:
        from salesctl.config import get_settings

        self.settings = settings or get_settings()
        self.sessions = sessions or _sessions_of(db)
        self._own_gateway = gateway is None
        if gateway is None:
            from salesctl.llm.gateway import LLMGateway

            gateway = LLMGateway(engine=_engine_of(self.sessions), settings=self.settings)
        self.gateway = gateway
        self.choice = model_choice(
            self.settings, self.agent_type, provider=provider, model=model, no_cache=no_cache
        )
        self.worker_id = worker_id or new_worker_id()

    @classmethod
    def build_graph(cls) -> StateGraph[Any, Any, Any, Any]:
        raise NotImplementedError

    @classmethod
    def graph(cls) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The compiled graph, built once per agent class and shared by every run."""
        if cls.__dict__.get("_compiled") is None:
            cls._compiled = cls.build_graph().compile(name=f"{cls.agent_type}_agent")
        assert cls._compiled is not None
        return cls._compiled

    def inputs(self) -> dict[str, Any]:
        """Extra state a run starts with (a source document, a transcript)."""
        return {}

    async def run(
        self, lead_id: int, *, claim: Claim | None = None, writer: ResultWriter | None = None
    ) -> AgentOutcome:
        """Run the agent on one lead and return what happened; raises NotFound for a lead
        that does not exist (when the lead was not claimed by a bulk run already).

        With a `writer`, the result is saved in a batch with other leads' (see ResultWriter).
        """
        if claim is None:
            claim = await self._claim(lead_id)
        context = AgentContext(
            agent_type=self.agent_type,
            lead_id=claim.lead_id,
            run_id=claim.run_id,
            worker_id=self.worker_id,
            gateway=self.gateway,
            sessions=self.sessions,
            settings=self.settings,
            choice=self.choice,
            writer=writer,
        )
        started = time.perf_counter()
        try:
            state = await self._run_graph(context, claim.lead)
        except Exception as exc:  # a bug, or the database gone: this lead fails, not the batch
            failure = lead_failure(exc)
            try:
                await store.record_failure(context, [], failure)
            except Exception as again:
                if unreachable_reason(again) is None:
                    raise
                # The claim stays; the next run takes it over (this process will be gone).
            state = {"failure": failure}
        finally:
            if self._own_gateway:
                await self.gateway.flush()
        return self._outcome(context, state, round((time.perf_counter() - started) * 1000))

    async def _run_graph(self, context: AgentContext, lead: LeadSnapshot | None) -> dict[str, Any]:
        """The graph's final state. A claim normally carries the lead, read in its transaction;
        without it the lead is read here, so the graph always starts with one."""
        if lead is None:
            async with store.reading(self.sessions) as session:
                lead = await store.load_lead(session=session, lead_id=context.lead_id)
        if lead is None:
            failure = LeadFailure("not_found", f"no lead with id {context.lead_id}")
            await store.record_failure(context, [], failure)
            return {"failure": failure}
        state: dict[str, Any] = await self.graph().ainvoke(
            {**self.inputs(), "lead": lead}, context=context
        )
        return state

    async def aclose(self) -> None:
        """Close the gateway this agent built (flushing its tracking rows)."""
        if self._own_gateway:
            await self.gateway.aclose()  # type: ignore[attr-defined]  # an own gateway is the real one

    async def __aenter__(self) -> LeadAgent:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _claim(self, lead_id: int) -> Claim:
        async with self.sessions() as session, session.begin():
            claims = await claim_named(
                session=session,
                agent=self.agent_type,
                lead_ids=[lead_id],
                worker_id=self.worker_id,
            )
        if not claims:
            raise NotFound(f"no lead with id {lead_id}: see `salesctl leads list`")
        return claims[0]

    def _outcome(self, context: AgentContext, state: dict[str, Any], ms: int) -> AgentOutcome:
        failure: LeadFailure | None = state.get("failure")
        lead: LeadSnapshot | None = state.get("lead")
        output = state.get("output")
        return AgentOutcome(
            agent=self.agent_type,
            lead_id=context.lead_id,
            status="ok" if failure is None and output is not None else "error",
            run_id=context.run_id,
            provider=self.choice.provider,
            model=self.choice.model,
            calls=list(state.get("calls", [])),
            result=output if failure is None else None,
            failure=failure,
            latency_ms=ms,
            company_name=lead.company_name if lead else None,
        )


def _sessions_of(db: AsyncSession | None) -> async_sessionmaker[AsyncSession]:
    if db is None:
        raise InvalidInput("give the agent a database session (db=) or sessions=")
    from sqlalchemy.ext.asyncio import AsyncConnection

    from salesctl.db.session import session_factory

    bind: Any = db.bind
    if bind is None:
        raise InvalidInput("the database session given to the agent has no engine bound")
    return session_factory(bind.engine if isinstance(bind, AsyncConnection) else bind)


def _engine_of(sessions: async_sessionmaker[AsyncSession]) -> Any:
    return sessions.kw.get("bind")
