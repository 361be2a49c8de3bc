"""Shared fixtures: an isolated environment per test, and real databases.

Database tests run twice, on SQLite and on the PostgreSQL named by SALESCTL_TEST_DATABASE_URL.
Each test gets a fresh, migrated database copied from a template migrated once per session.
Redis tests use SALESCTL_TEST_REDIS_URL, each under a key prefix of its own.

When a variable is not set at all, the run looks for the server on this machine (the
docker-compose PostgreSQL, or a local one with trust auth; Redis on 127.0.0.1:6379) and uses
it if it answers; set the variable to an empty string to skip those tests instead. Cases whose
server is missing skip, with one line at the end of the run saying how many and how to run
them, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from salesctl.llm.simulator import Simulator

PROVIDER_ENV = (
    "CEREBRAS_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_API_KEY",
    "CEREBRAS_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "OPENROUTER_BASE_URL",
    "OPENAI_BASE_URL",
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


DATABASE_ENV = "SALESCTL_TEST_DATABASE_URL"
REDIS_ENV = "SALESCTL_TEST_REDIS_URL"
LOCAL_POSTGRES = (
    "postgresql://salesctl:salesctl@127.0.0.1:5432/salesctl",  # docker-compose.yml
    "postgresql://postgres@127.0.0.1:5432/postgres",
)
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _postgres_answers(url: str) -> bool:
    """The server accepts this URL's user and may create databases (what the tests need)."""

    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(url, timeout=1.5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        try:
            return bool(
                await conn.fetchval(
                    "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(probe())


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def pytest_configure(config: pytest.Config) -> None:
    """Use the machine's own PostgreSQL and Redis when no test URL is set and they answer."""
    if DATABASE_ENV not in os.environ:
        found = next((url for url in LOCAL_POSTGRES if _postgres_answers(url)), None)
        if found is not None:
            os.environ[DATABASE_ENV] = found
    if REDIS_ENV not in os.environ and _redis_answers(LOCAL_REDIS):
        os.environ[REDIS_ENV] = LOCAL_REDIS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow run first: with several workers (pytest-xdist), one started last
    would keep its worker busy alone after the others ran out of tests."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config: pytest.Config) -> None:
    """One line, the run's last, when tests were skipped for want of a server."""
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is None:
        return
    services = {
        "postgres": ("PostgreSQL", f"{DATABASE_ENV}=postgresql://USER@HOST:5432/DB"),
        "redis": ("Redis", f"{REDIS_ENV}=redis://HOST:6379/0"),
    }
    skipped = dict.fromkeys(services, 0)
    for report in terminalreporter.stats.get("skipped", []):
        for marker in services:
            if marker in getattr(report, "keywords", {}):
                skipped[marker] += 1
    missing = [marker for marker, count in skipped.items() if count]
    if missing:
        counts = " and ".join(f"{skipped[m]} {services[m][0]}" for m in missing)
        settings = " and ".join(services[m][1] for m in missing)
        terminalreporter.write_line(
            f"{counts} test(s) skipped: no server. To run them, set {settings} "
            "(a PostgreSQL role that may create databases; `docker compose up -d` starts both)"
        )


def service_url(env_var: str, what: str) -> str:
    """The test server's URL, or skip (fail under CI) when it is not configured."""
    url = os.environ.get(env_var)
    if not url:
        message = f"{what} tests need {env_var}"
        if IN_CI:
            pytest.fail(message + " (CI=true: not skipping)")
        pytest.skip(message)
    return url


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data directory and config path; no real keys, endpoints or databases."""
    from salesctl.config import get_settings

    home = tmp_path / "home"
    config = tmp_path / "config.toml"
    config.touch()  # a config file that is named must exist
    monkeypatch.setenv("SALESCTL_HOME", str(home))
    monkeypatch.setenv("SALESCTL_CONFIG", str(config))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    for name in (*PROVIDER_ENV, "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("SALESCTL_") and name not in {
            "SALESCTL_HOME",
            "SALESCTL_CONFIG",
            "SALESCTL_TEST_DATABASE_URL",
            "SALESCTL_TEST_REDIS_URL",
        }:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


# --- the provider simulator -------------------------------------------------------------------


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A fresh provider simulator; every SDK points at it and has a dummy key (sim_kit)."""
    from sim_kit import use_simulator

    from salesctl.llm.simulator import Simulator

    with Simulator() as simulator:
        use_simulator(monkeypatch, simulator)
        yield simulator


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    """One provider simulator per test module, for a `sim` that resets it per test."""
    from salesctl.llm.simulator import Simulator

    with Simulator() as sim:
        yield sim


# --- databases -------------------------------------------------------------------------------


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _migrate(url: str) -> None:
    from salesctl.db import migrate
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _pg_admin_dsn(url: str) -> str:
    """asyncpg wants plain postgresql:// URLs."""
    from salesctl.config import normalise_database_url

    return normalise_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_execute(dsn: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


class _Clones:
    """Copies of the template database made one ahead, and used ones dropped, on a thread of
    their own: a test waits for neither a CREATE nor a DROP that could run meanwhile."""

    def __init__(self, admin: str, template: str) -> None:
        self.admin = admin
        self.template = template
        self.jobs: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self.ready: queue.SimpleQueue[str | Exception] = queue.SimpleQueue()
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._work, name="test-databases", daemon=True)
        self.thread.start()
        self._make_one()

    def take(self) -> str:
        """A fresh copy of the template, no one else's."""
        made = self.ready.get()
        if isinstance(made, Exception):
            raise made
        self._make_one()
        return made

    def drop(self, name: str) -> None:
        self.jobs.put(("DROP", name))

    def close(self) -> None:
        """Drop every copy, used or not; fail if one could not be."""
        self.jobs.put(None)
        self.thread.join()
        while not self.ready.empty():
            if isinstance(spare := self.ready.get(), str):
                self._do("DROP", spare)
        assert not self.failures, f"test databases left behind: {self.failures}"

    def _make_one(self) -> None:
        self.jobs.put(("CREATE", f"salesctl_t_{uuid.uuid4().hex[:12]}"))

    def _do(self, job: str, name: str) -> None:
        statement = (
            f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'
            if job == "CREATE"
            else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'  # with whatever is connected
        )
        _run(_pg_execute(self.admin, statement))

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            kind, name = job
            try:
                self._do(kind, name)
            except Exception as exc:
                if kind == "CREATE":
                    self.ready.put(exc)
                else:
                    self.failures.append(f"{name}: {exc!r}")
            else:
                if kind == "CREATE":
                    self.ready.put(name)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """A migrated template database on the test server; per-test databases clone it."""
    from salesctl.config import normalise_database_url

    base = normalise_database_url(service_url("SALESCTL_TEST_DATABASE_URL", "PostgreSQL"))
    name = f"salesctl_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_dsn(base)
    _run(_pg_execute(admin, f'CREATE DATABASE "{name}"'))
    _run(_migrate(_with_database(base, name)))
    yield base, name
    _run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_clones(postgres_template: tuple[str, str]) -> Iterator[_Clones]:
    base, template = postgres_template
    clones = _Clones(_pg_admin_dsn(base), template)
    try:
        yield clones
    finally:
        clones.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    base, _ = request.getfixturevalue("postgres_template")
    clones = request.getfixturevalue("postgres_clones")
    name = clones.take()
    yield _with_database(base, name)
    clones.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a database that exists but was never migrated (SQLite: no file yet)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty' / 'salesctl.db'}"
        return
    from salesctl.config import normalise_database_url

    base = normalise_database_url(service_url("SALESCTL_TEST_DATABASE_URL", "PostgreSQL"))
    name = f"salesctl_e_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_dsn(base)
    _run(_pg_execute(admin, f'CREATE DATABASE "{name}"'))
    yield _with_database(base, name)
    _run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point salesctl (CLI and library) at the fresh test database via DATABASE_URL."""
    from salesctl.config import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return database_url


@pytest.fixture
async def engine(db_env: str) -> AsyncIterator[object]:
    from salesctl.db.session import create_engine

    engine = create_engine(db_env)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """An AsyncSession on the test database; the test owns its transactions."""
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        yield session
