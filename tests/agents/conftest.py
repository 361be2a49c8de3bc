"""Fixtures for the lead agent tests: leads in the test database and a way to read what landed
in the database. (The provider simulator, `sim`, is tests/conftest.py's.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from lead_world import read_db, seed


@pytest.fixture
def leads(db_env: str) -> Callable[..., list[int]]:
    """Insert leads (dicts of Lead columns) into the test database; returns their ids."""

    def add(*rows: dict[str, Any], deals: list[dict[str, Any]] | None = None) -> list[int]:
        return asyncio.run(seed(db_env, list(rows), deals or []))

    return add


@pytest.fixture
def db(db_env: str) -> Callable[..., Any]:
    """Run `fn(session)` against the test database and return its result."""

    def run(fn: Callable[..., Any]) -> Any:
        return asyncio.run(read_db(db_env, fn))

    return run
