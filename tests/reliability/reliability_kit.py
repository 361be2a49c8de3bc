"""Helpers for the fault-injection suite: reading tracked rows back, pricing what the
simulator served, driving the CLI, and PostgreSQL administration for database faults."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Row:
    request_id: str
    session_id: str | None
    provider: str
    model: str
    status: str
    error_type: str | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal | None
    cache_hit: bool
    lead_id: int | None
    prompt_text: str | None
    completion_text: str | None
    cost_estimated: bool


async def rows_async(url: str, *, session_id: str | None = None) -> list[Row]:
    """Every tracking row (of one session id, if given), oldest first."""
    from sqlalchemy import select

    from salesctl.db.models import AICostTracking as T
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        query = select(*(getattr(T, f) for f in Row.__dataclass_fields__)).order_by(T.id)
        if session_id is not None:
            query = query.where(T.session_id == session_id)
        async with engine.connect() as conn:
            return [Row(*r) for r in (await conn.execute(query)).all()]
    finally:
        await engine.dispose()


def rows(url: str, *, session_id: str | None = None) -> list[Row]:
    return asyncio.run(rows_async(url, session_id=session_id))


def total_cost(tracked: Iterable[Row]) -> Decimal:
    return sum((r.cost_usd for r in tracked if r.cost_usd is not None), Decimal(0))


def ledger_cost(served: Iterable[Any]) -> Decimal:
    """What the simulator says it served, priced by salesctl.llm.pricing (unknown = 0)."""
    from salesctl.llm.pricing import PriceBook
    from salesctl.llm.types import Usage

    book = PriceBook()
    total = Decimal(0)
    now = datetime.now(UTC)
    for call in served:
        if not call.usage_reported:
            continue
        usage = Usage(
            call.input_tokens,
            call.output_tokens + call.reasoning_tokens,
            call.cache_read_tokens,
            call.cache_write_tokens,
        )
        reported = None if call.cost_usd_reported is None else Decimal(str(call.cost_usd_reported))
        price = book.price_of(usage, call.provider, call.model, now, reported_cost_usd=reported)
        total += price.cost_usd or Decimal(0)
    return total


def billed_cost(served: Iterable[Any]) -> Decimal:
    """What the simulator billed, reported or not (prompt and output it served), priced by
    salesctl.llm.pricing without cache discounts: the figure estimates are measured by."""
    from salesctl.llm.pricing import PriceBook
    from salesctl.llm.types import Usage

    book = PriceBook()
    total = Decimal(0)
    now = datetime.now(UTC)
    for call in served:
        if call.fully_reported:
            total += ledger_cost([call])
            continue
        usage = Usage(call.billed_prompt_tokens, call.billed_output_tokens)
        total += book.price_of(usage, call.provider, call.model, now).cost_usd or Decimal(0)
    return total


def salesctl(*args: str, env: dict[str, str] | None = None) -> Any:
    """`salesctl ARGS` in-process (CliRunner), stdout and stderr apart."""
    from salesctl.cli import app
    from salesctl.config import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)
    finally:
        get_settings.cache_clear()


def costs_json(*args: str) -> dict[str, Any]:
    """`salesctl costs --json ARGS`, money read as Decimal."""
    result = salesctl("costs", "--json", *args)
    assert result.exit_code == 0, result.stderr or result.output
    return json.loads(result.stdout, parse_float=Decimal)


def assert_served_tracked_reported(
    url: str, served: Iterable[Any], *, session_id: str | None = None
) -> None:
    """What the simulator served, priced = what the table holds = what `costs --json` says
    (only the rows of `session_id`, when given)."""
    tracked = rows(url, session_id=session_id)
    report = costs_json(*([f"--session={session_id}"] if session_id else []))
    assert total_cost(tracked) == ledger_cost(served)
    assert Decimal(report["total_cost_usd"]) == total_cost(tracked)
    assert report["total_requests"] == len(tracked)


def spawn(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A Python subprocess with this test's environment (plus `env`)."""
    return subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


# --- database state -------------------------------------------------------------------------


REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_tracking BEFORE INSERT ON ai_cost_tracking "
    "BEGIN SELECT RAISE(ABORT, 'tracking refused by the test'); END"
)
REFUSE_POSTGRES = (
    "CREATE FUNCTION refuse_tracking() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'tracking refused by the test'; END $$",
    "CREATE TRIGGER refuse_tracking BEFORE INSERT ON ai_cost_tracking "
    "FOR EACH ROW EXECUTE FUNCTION refuse_tracking()",
)


async def execute(url: str, *statements: str) -> None:
    from sqlalchemy import text

    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def refuse_tracking(url: str) -> None:
    statements = (REFUSE_SQLITE,) if url.startswith("sqlite") else REFUSE_POSTGRES
    asyncio.run(execute(url, *statements))


def accept_tracking(url: str) -> None:
    asyncio.run(
        execute(
            url,
            "DROP TRIGGER refuse_tracking"
            + ("" if url.startswith("sqlite") else " ON ai_cost_tracking"),
        )
    )


async def seed_leads(url: str, count: int) -> list[int]:
    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            leads = [
                Lead(
                    company_name=f"Company {n}",
                    contact_title="VP of Sales",
                    industry="Software",
                    employees=100 + n,
                    region="United States",
                    notes="Evaluating tools this quarter.",
                )
                for n in range(count)
            ]
            session.add_all(leads)
            await session.flush()
            return [lead.id for lead in leads]
    finally:
        await engine.dispose()


# --- PostgreSQL administration -------------------------------------------------------------


def pg_admin_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    from salesctl.config import normalise_database_url

    parsed = make_url(normalise_database_url(url)).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


def pg_database(url: str) -> str:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    assert database
    return database


async def pg_execute_async(url: str, *statements: str) -> list[Any]:
    """Run statements on the server's maintenance database; the last one's rows."""
    import asyncpg

    conn = await asyncpg.connect(pg_admin_dsn(url))
    try:
        result: list[Any] = []
        for statement in statements:
            result = await conn.fetch(statement)
        return result
    finally:
        await conn.close()


def pg_execute(url: str, *statements: str) -> list[Any]:
    return asyncio.run(pg_execute_async(url, *statements))


async def terminate_backends(url: str) -> int:
    """pg_terminate_backend every other connection to the database behind `url`."""
    name = pg_database(url)
    found = await pg_execute_async(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    return len(found)


# --- a private PostgreSQL server, to take away mid-run -------------------------------------


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, trust auth, its own
    port) that a test may stop and start; the machine's shared server is never touched.
    As root, the server runs as the `postgres` user (it refuses to run as root)."""

    def __init__(self, root: Path, port: int, *, password: str | None = None) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = port
        self.log = root / "postgres.log"
        self.password = password
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            os.chmod(root, 0o777)

    @property
    def url(self) -> str:
        user = f"postgres:{self.password}" if self.password else "postgres"
        return f"postgresql+asyncpg://{user}@127.0.0.1:{self.port}/salesctl"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        auth = ["-A", "trust"]
        if self.password:
            secret = self.root / "password"
            secret.write_text(self.password + "\n")
            os.chmod(secret, 0o644)
            auth = ["-A", "scram-sha-256", f"--pwfile={secret}"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", *auth, "--no-sync")
        self.start()
        pg_execute(self.url, "CREATE DATABASE salesctl")

    def start(self) -> None:
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- a small disk, to fill up ----------------------------------------------------------------


class SmallDisk:
    """A 2 MiB tmpfs: `fill()` takes its last byte, `free()` gives the room back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._filler = root / "filler"

    def fill(self) -> None:
        chunk = b"\0" * 65536
        with self._filler.open("ab", buffering=0) as filler:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        filler.write(chunk[:size])
                        filler.flush()
                except OSError:
                    continue

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)
