"""Fixtures for the lead agent tests: the provider simulator, leads in the test database,
the CLI, and a way to read what landed in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lead_world import DUMMY_KEYS, read_db, seed

from salesctl.llm.simulator import Simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """The provider simulator; every SDK points at it and has a dummy key."""
    from salesctl.config import get_settings

    with Simulator() as simulator:
        for name, value in {**DUMMY_KEYS, **simulator.env()}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield simulator


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
