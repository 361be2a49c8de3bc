"""Fixtures for the REPL tests: the chat world's seeded database. (The provider simulator,
`sim`, is tests/conftest.py's.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agents" / "chat"))

from chat_world import seed_world


@pytest.fixture
async def world(db_env: str) -> str:
    await seed_world(db_env)
    return db_env
