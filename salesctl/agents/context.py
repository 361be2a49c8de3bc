"""What every node of a lead agent's graph receives through LangGraph's runtime context.

A graph is compiled once and run for many leads at once, so nothing run-specific lives in
module globals: the gateway, the session factory, the settings and the claim on the lead are
handed to each `ainvoke` as an `AgentContext` and reach nodes as `runtime.context`. A bulk
run's context also carries where finished runs are saved (a `ResultSaver`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from salesctl.errors import InvalidInput
from salesctl.llm.types import LLMConfig, LLMResult, Message
from salesctl.vocabulary import LeadAgentType

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salesctl.agents.outcome import CallRecord
    from salesctl.config import Settings

LeadValues = dict[str, Any]
ApplyResult = Callable[["AsyncSession", Mapping[str, Any]], Awaitable[LeadValues]]
"""Given the lead's current row, the column values to write on it (it may also write related
rows, such as the BDR agent's deal, through the session). Runs inside the save transaction."""


class AgentGateway(Protocol):
    """The part of `LLMGateway` the lead agents use."""

    async def complete(
        self,
        prompt: str | None = None,
        *,
        config: LLMConfig,
        system: str | None = None,
        messages: Sequence[Message] | None = None,
        max_tokens: int = 1000,
        temperature: float | None = None,
        response_schema: Any = None,
    ) -> LLMResult: ...

    async def flush(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The provider and model an agent calls in passthrough mode, and its cache policy."""

    provider: str
    model: str
    cache: bool | None = None
    """None follows the gateway's policy for the agent; False bypasses the cache (`--no-cache`)."""


@dataclass(frozen=True, slots=True)
class AgentContext:
    """One agent run on one lead: its dependencies and its claim (`run_id`, `worker_id`)."""

    agent_type: LeadAgentType
    lead_id: int
    run_id: int
    worker_id: str
    gateway: AgentGateway
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    choice: ModelChoice
    writer: ResultSaver | None = None
    """A bulk run's batched saves (`agents.writer.ResultWriter`); None saves the result in a
    transaction of its own."""

    def llm_config(self) -> LLMConfig:
        """Passthrough on the agent's model, tagged with the agent type and the lead."""
        return LLMConfig(
            agent_type=self.agent_type,
            mode="passthrough",
            provider=self.choice.provider,
            model=self.choice.model,
            lead_id=self.lead_id,
            cache=self.choice.cache,
        )


def model_choice(
    settings: Settings,
    agent: LeadAgentType,
    *,
    provider: str | None = None,
    model: str | None = None,
    no_cache: bool = False,
) -> ModelChoice:
    """The agent's configured provider and model, with `--provider/--model` applied."""
    from salesctl.config import canonical_provider

    default = settings.agents[agent]
    default_provider = canonical_provider(default.provider)
    chosen_provider = canonical_provider(provider) if provider else default_provider
    if model is None and chosen_provider != default_provider:
        raise InvalidInput(
            f"--provider {chosen_provider} needs --model as well: the {agent} agent's "
            f"default model {default.model!r} belongs to {default_provider}"
        )
    return ModelChoice(
        provider=chosen_provider,
        model=model or default.model,
        cache=False if no_cache else None,
    )


def new_worker_id() -> str:
    """`host:pid:random`, unique per process run, readable in `agent_runs.worker_id`."""
    import os
    import socket
    import uuid

    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """A run's result, waiting to be saved with others (`finish_runs`)."""

    context: AgentContext
    calls: list[CallRecord]
    output: dict[str, Any]
    apply: ApplyResult


class ResultSaver(Protocol):
    """Saves finished runs in batches; `await save(run)` returns once its batch is committed."""

    async def save(self, run: FinishedRun) -> None: ...
