"""The data directory is owner-only (0700) and so is every file salesctl writes into it
(0600): the SQLite database and its WAL files, the tracking spool, the chat history. They
hold prompts, answers and lead data."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salesctl.llm.simulator import Simulator


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A permissive umask, so only salesctl's own modes can make the files private."""
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_in_the_data_dir_is_owner_only(
    loose_umask: None, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.cli import app
    from salesctl.config import get_settings
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig
    from salesctl.repl.history import history_path

    assert CliRunner().invoke(app, ["init"]).exit_code == 0  # SQLite in the data directory
    data_dir = isolated_env
    seen: dict[str, int] = {}

    with Simulator() as sim:
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CEREBRAS_API_KEY", "csk-test-0123456789")
        get_settings.cache_clear()
        settings = get_settings()

        async def calls() -> None:
            engine = create_engine(settings.sqlalchemy_url)
            config = LLMConfig(agent_type="qualification", provider="cerebras", model="llama3.1-8b")
            async with CostOptimizedLLMProvider(engine=engine, settings=settings) as llm:
                for n in range(3):
                    await llm.complete(f"Qualify company {n}", config=config)
                await llm.flush()
                # While the gateway is open its spool (and progress) files exist.
                for path in data_dir.rglob("*"):
                    seen[str(path.relative_to(data_dir))] = mode(path)
            await engine.dispose()

        asyncio.run(calls())
    history_path(data_dir)
    for path in data_dir.rglob("*"):
        seen[str(path.relative_to(data_dir))] = mode(path)

    assert mode(data_dir) == 0o700
    expected = {
        "salesctl.db",
        "salesctl.db-wal",
        "spool",
        "spool/tracking.jsonl",
        "spool/tracking.progress",
        "spool/tracking.lock",
        "chat_history",
    }
    assert expected <= set(seen), sorted(seen)
    loose = {
        name: oct(bits)
        for name, bits in seen.items()
        if bits != (0o700 if (data_dir / name).is_dir() or name == "spool" else 0o600)
    }
    assert not loose


def test_sqlite_file_elsewhere_is_created_owner_only(
    loose_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.cli import app
    from salesctl.config import get_settings

    database = tmp_path / "shared" / "sales.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700


def test_a_spool_written_before_init_keeps_the_data_dir_owner_only(
    loose_umask: None, tmp_path: Path
) -> None:
    from salesctl.llm.spool import open_private

    data_dir = tmp_path / "fresh" / "salesctl"
    os.close(open_private(data_dir / "spool" / "tracking.jsonl"))
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "spool") == 0o700
    assert mode(data_dir / "spool" / "tracking.jsonl") == 0o600
