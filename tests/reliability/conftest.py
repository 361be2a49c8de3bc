"""Fixtures for the fault-injection suite: the provider simulator with dummy keys, retry waits
that are recorded instead of slept, and one database per dialect shared by a module's
scenarios (each scenario tags its calls with its own session id)."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_kit import PrivatePostgres, SmallDisk, free_port, pg_execute
from sim_kit import use_simulator

from salesctl.llm.simulator import Simulator


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the retry policy asked for (recorded, not slept)."""
    from salesctl.llm.providers import _retry

    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(_retry, "_sleep", record)
    return asked


@pytest.fixture
def sim(simulator: Simulator, monkeypatch: pytest.MonkeyPatch, waits: list[float]) -> Simulator:
    """Overrides the root `sim`: the module's `simulator` reset per test, retry waits recorded."""
    simulator.reset()
    use_simulator(monkeypatch, simulator)
    return simulator


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for a whole module, once per dialect."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "shared.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    from sqlalchemy.engine import make_url

    base, template = request.getfixturevalue("postgres_template")
    name = f"salesctl_r_{uuid.uuid4().hex[:12]}"
    pg_execute(base, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shared_env(shared_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from salesctl.config import get_settings

    monkeypatch.setenv("DATABASE_URL", shared_db)
    get_settings.cache_clear()
    return shared_db


@pytest.fixture
def scenario_id(request: pytest.FixtureRequest) -> str:
    """A session id of this test's own, to tell its rows apart in a shared database."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def data_dir(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A real, tiny file system to fill up (mounting one needs root; skipped otherwise)."""
    import subprocess

    root = tmp_path / "disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(root)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("the full-disk tests mount a 2 MiB tmpfs, which needs root")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def private_postgres(request: pytest.FixtureRequest) -> Iterator[PrivatePostgres]:
    """A migrated database on a PostgreSQL server of the test's own (stopped afterwards);
    with password authentication when the test is parametrized indirectly with one."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("needs PostgreSQL's initdb and pg_ctl to run a private server")
    import tempfile

    # Not under pytest's tmp dir: as root the server runs as `postgres`, which must reach it.
    root = Path(tempfile.mkdtemp(prefix="salesctl-pg-"))
    server = PrivatePostgres(root, free_port(), password=getattr(request, "param", None))
    server.init()
    try:
        import asyncio

        from salesctl.db import migrate
        from salesctl.db.session import create_engine

        async def upgrade() -> None:
            engine = create_engine(server.url)
            try:
                await migrate.upgrade(engine)
            finally:
                await engine.dispose()

        asyncio.run(upgrade())
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop("fast")
        shutil.rmtree(root, ignore_errors=True)
