"""Fixtures for the REPL tests: the chat world's seeded database and the provider simulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agents" / "chat"))

from chat_world import seed_world, use_simulator

from salesctl.llm.simulator import Simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    with Simulator() as simulator:
        use_simulator(monkeypatch, simulator)
        yield simulator


@pytest.fixture
async def world(db_env: str) -> str:
    await seed_world(db_env)
    return db_env
