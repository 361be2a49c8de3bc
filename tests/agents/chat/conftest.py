"""Fixtures for the chat agent tests: a seeded database and open conversations. (The provider
simulator, `sim`, is tests/conftest.py's.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from chat_world import seed_world

from salesctl.llm.simulator import Simulator


@pytest.fixture
async def world(db_env: str) -> str:
    """The test database, seeded with the chat world's leads and deals; returns its URL."""
    await seed_world(db_env)
    return db_env


OpenChat = Callable[..., Awaitable[Any]]


@pytest.fixture
async def open_chat(world: str, engine: Any, sim: Simulator) -> AsyncIterator[OpenChat]:
    """Open a `Conversation` with an agent through the real gateway, SDKs and simulator."""
    from salesctl.agents.chat import load_agent
    from salesctl.agents.chat.context import approve_all
    from salesctl.agents.chat.conversation import Conversation
    from salesctl.db.session import session_factory
    from salesctl.llm.gateway import CostOptimizedLLMProvider

    gateways: list[CostOptimizedLLMProvider] = []

    async def open_(agent: str, **options: Any) -> Conversation:
        llm = CostOptimizedLLMProvider(engine=engine)
        gateways.append(llm)
        options.setdefault("confirm", approve_all)
        options.setdefault("stream", False)
        options.setdefault("user_id", "rep_456")
        return await Conversation.open(
            load_agent(agent), llm=llm, sessions=session_factory(engine), **options
        )

    yield open_
    for llm in gateways:
        await llm.aclose()
