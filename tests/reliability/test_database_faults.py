"""Database faults: tracked calls survive a database that is locked, refuses writes, drops
its connections, disappears or is unreachable; a later replay lands each exactly once, and
the totals equal what the simulator served."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import (
    accept_tracking,
    ledger_cost,
    pg_database,
    pg_execute,
    pg_execute_async,
    refuse_tracking,
    rows,
    salesctl,
    spawn,
    terminate_backends,
    total_cost,
)

from salesctl.llm.simulator import Simulator

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
CONFIG = {"agent_type": "qualification", "provider": "cerebras", "model": "llama3.1-8b"}


async def make_calls(
    url: str,
    count: int,
    *,
    warnings: list[str] | None = None,
    between: Callable[[int, Any], Any] | None = None,
    tag: str = "calls",
) -> list[str]:
    """`count` tracked calls through one gateway; the request ids of those that returned.

    `between(n, gateway)` (maybe async) runs after call n returned.
    """
    from salesctl.db.session import create_engine
    from salesctl.llm.gateway import CostOptimizedLLMProvider
    from salesctl.llm.types import LLMConfig

    engine = create_engine(url)
    config = LLMConfig(**CONFIG, session_id=tag, cache=False)
    warn = warnings.append if warnings is not None else None
    returned: list[str] = []
    try:
        async with CostOptimizedLLMProvider(engine=engine, warn=warn) as llm:
            for n in range(count):
                result = await llm.complete(f"Qualify company {tag}-{n}", config=config)
                returned.append(result.tracking_id)
                if between is not None:
                    outcome = between(n, llm)
                    if asyncio.iscoroutine(outcome):
                        await outcome
    finally:
        await engine.dispose()
    return returned


def assert_landed_once(url: str, returned: list[str], served: list[Any]) -> None:
    tracked = rows(url)
    ids = [r.request_id for r in tracked]
    assert sorted(ids) == sorted(returned), "a returned call is missing or tracked twice"
    assert total_cost(tracked) == ledger_cost(served)


def flush_json() -> dict[str, Any]:
    result = salesctl("costs", "flush", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def spool_of(data_dir: Path) -> Path:
    return data_dir / "spool" / "tracking.jsonl"


# --- a database that refuses tracking writes ----------------------------------------------


async def seed_lead(url: str) -> int:
    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            lead = Lead(
                company_name="TechCorp Inc",
                contact_title="VP of Sales",
                industry="Software",
                employees=400,
                region="United States",
            )
            session.add(lead)
            await session.flush()
            return lead.id
    finally:
        await engine.dispose()


def test_refused_tracking_writes_are_spooled_said_in_one_line_and_replayed_at_next_start(
    sim: Simulator, db_env: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lead_id = asyncio.run(seed_lead(db_env))
    refuse_tracking(db_env)

    if db_env.startswith("sqlite"):
        # A real process: what the user sees on stderr is what Python's logging gives them.
        proc = spawn("-m", "salesctl", "qualify", "--lead", str(lead_id))
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        said = [line for line in stderr.splitlines() if "tracking rows not written" in line]
        assert "Traceback" not in stderr
    else:
        with caplog.at_level(logging.WARNING):
            result = salesctl("qualify", "--lead", str(lead_id))
        assert result.exit_code == 0, result.stderr
        said = [r.getMessage() for r in caplog.records if "tracking rows" in r.getMessage()]
    assert len(said) == 1, said
    assert "salesctl costs flush" in said[0]
    assert rows(db_env) == []
    served = sim.ledger
    assert served

    accept_tracking(db_env)
    # The next command that opens the database replays the spool before doing its work.
    report = salesctl("costs", "--json")
    assert report.exit_code == 0, report.stderr
    assert f"{len(served)} tracked call(s) from an earlier run" in report.stderr
    totals = json.loads(report.stdout, parse_float=Decimal)
    tracked = rows(db_env)
    assert len(tracked) == len(served)
    assert all(r.lead_id == lead_id for r in tracked)
    assert Decimal(totals["total_cost_usd"]) == total_cost(tracked) == ledger_cost(served)
    assert flush_json()["inserted"] == 0
    assert len(rows(db_env)) == len(served)
    assert not spool_of(data_dir).exists()  # compacted once everything was in


# --- SQLite locked -------------------------------------------------------------------------


@sqlite_only
def test_a_locked_sqlite_database_spools_and_flush_lands_each_call_once(
    sim: Simulator, db_env: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.db import session as db_session
    from salesctl.db.session import sqlite_path

    monkeypatch.setattr(db_session, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(sqlite_path(db_env), timeout=5)
    holder.execute("BEGIN EXCLUSIVE")  # another process mid-write, e.g. a long import
    warnings: list[str] = []
    try:
        returned = asyncio.run(make_calls(db_env, 5, warnings=warnings))
    finally:
        holder.rollback()
        holder.close()
    assert len(returned) == 5
    assert len(warnings) == 1
    assert "database is locked" in warnings[0]
    assert "kept in" in warnings[0]
    assert rows(db_env) == []

    first = flush_json()
    assert (first["inserted"], first["already_present"], first["pending"]) == (5, 0, 0)
    assert flush_json()["inserted"] == 0
    assert_landed_once(db_env, returned, sim.ledger)


# --- PostgreSQL: connections terminated, database dropped, unreachable ---------------------


@postgres_only
def test_terminated_postgres_connections_lose_no_call(sim: Simulator, db_env: str) -> None:
    warnings: list[str] = []
    terminated: list[int] = []

    async def kill_connections(n: int, llm: Any) -> None:
        if n in (5, 12, 20):
            await llm.flush()  # the writer batches for 100 ms: make sure it holds a connection
            terminated.append(await terminate_backends(db_env))

    returned = asyncio.run(make_calls(db_env, 30, warnings=warnings, between=kill_connections))
    assert sum(terminated) >= 1, "the test killed no connection"
    flush_json()  # lands anything the writer had to leave in the spool
    assert_landed_once(db_env, returned, sim.ledger)


@postgres_only
def test_a_database_dropped_mid_run_keeps_later_calls_for_its_replacement(
    sim: Simulator, db_env: str, postgres_template: tuple[str, str]
) -> None:
    _, template = postgres_template
    name = pg_database(db_env)
    warnings: list[str] = []
    served_before: list[int] = []

    async def drop(n: int, llm: Any) -> None:
        if n == 4:
            await llm.flush()  # the first five are in the database that is about to go
            served_before.append(len(sim.ledger))
            await pg_execute_async(db_env, f'DROP DATABASE "{name}" WITH (FORCE)')

    returned = asyncio.run(make_calls(db_env, 10, warnings=warnings, between=drop))
    assert len(returned) == 10  # every call still answered
    assert len(warnings) == 1
    assert "salesctl costs flush" in warnings[0]

    pg_execute(db_env, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')  # restored, empty
    first = flush_json()
    assert first["inserted"] == 5
    assert first["pending"] == 0
    assert flush_json()["inserted"] == 0
    assert_landed_once(db_env, returned[5:], sim.ledger[served_before[0] :])


@postgres_only
def test_calls_made_while_the_database_is_unreachable_land_once_it_exists(
    sim: Simulator, db_env: str, postgres_template: tuple[str, str], data_dir: Path
) -> None:
    _, template = postgres_template
    name = pg_database(db_env)
    pg_execute(db_env, f'DROP DATABASE "{name}" WITH (FORCE)')
    warnings: list[str] = []
    returned = asyncio.run(make_calls(db_env, 3, warnings=warnings))
    assert len(warnings) == 1
    assert f'"{name}" does not exist' in warnings[0]

    result = salesctl("costs", "flush")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database unreachable")
    assert len(result.stderr.strip().splitlines()) == 1

    pg_execute(db_env, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    assert flush_json()["inserted"] == 3
    assert_landed_once(db_env, returned, sim.ledger)


@pytest.mark.parametrize("command", [["costs"], ["leads", "list"], ["qualify", "--lead", "1"]])
def test_an_unreachable_database_at_start_is_one_line_and_exit_1(
    command: list[str], sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/salesctl")
    result = salesctl(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: database unreachable")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert sim.ledger == []  # nothing was spent


def unopenable_sqlite(data_dir: Path) -> tuple[int, str, str]:
    """`salesctl costs` in a real process, its SQLite path a directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = spawn("-m", "salesctl", "costs", env={"DATABASE_URL": f"sqlite:///{data_dir}"})
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


def test_an_unopenable_sqlite_file_at_start_is_an_error_line_and_exit_1(data_dir: Path) -> None:
    code, stdout, stderr = unopenable_sqlite(data_dir)
    assert code == 1
    assert stderr.startswith("error: database unreachable: unable to open database file\n")
    assert stdout == ""


def test_an_unopenable_sqlite_file_prints_nothing_but_that_line(data_dir: Path) -> None:
    # Checked before aiosqlite starts a worker thread, so no thread can outlive the loop.
    for _ in range(4):
        _, _, stderr = unopenable_sqlite(data_dir)
        assert stderr == "error: database unreachable: unable to open database file\n"


# --- idempotent replay ---------------------------------------------------------------------


def spool_lines(data_dir: Path, count: int, database_url: str | None = None) -> list[str]:
    """Write `count` records to the spool as a crashed run would have left them."""
    import uuid
    from datetime import UTC, datetime

    from salesctl.llm.spool import Spool, database_tag
    from salesctl.llm.tracking import TrackingRecord

    tag = database_tag(database_url) if database_url else None
    spool = Spool(spool_of(data_dir))
    ids = []
    for n in range(count):
        record = TrackingRecord(
            request_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC),
            agent_type="qualification",
            provider="cerebras",
            model="llama3.1-8b",
            prompt_tokens=100 + n,
            completion_tokens=10,
            cost_usd=Decimal("0.0000123") * (n + 1),
        )
        spool.append(record.to_json_line(tag))
        ids.append(record.request_id)
    spool.close()
    return ids


async def insert_directly(url: str, data_dir: Path, ids: set[str]) -> None:
    """Put some spooled records in the database without marking them committed (a crash
    between the insert and the progress mark)."""
    from salesctl.db.session import create_engine
    from salesctl.llm.spool import parse_line
    from salesctl.llm.tracking import TrackingRecord, insert_rows

    wanted = []
    _header, *lines = spool_of(data_dir).read_bytes().splitlines(keepends=True)
    for line in lines:
        data = parse_line(line)
        assert data is not None
        if data["request_id"] in ids:
            wanted.append(TrackingRecord.from_json(data).to_row())
    engine = create_engine(url)
    try:
        await insert_rows(engine, wanted)
    finally:
        await engine.dispose()


def test_replaying_records_already_in_the_database_inserts_nothing_twice(
    db_env: str, data_dir: Path
) -> None:
    ids = spool_lines(data_dir, 6, db_env)
    asyncio.run(insert_directly(db_env, data_dir, set(ids[:4])))
    first = flush_json()
    assert (first["inserted"], first["already_present"]) == (2, 4)
    assert flush_json() == {**first, "inserted": 0, "already_present": 0}
    assert sorted(r.request_id for r in rows(db_env)) == sorted(ids)


def test_concurrent_replays_insert_each_record_once(db_env: str, data_dir: Path) -> None:
    from salesctl.db.session import create_engine
    from salesctl.llm.tracking import replay

    ids = spool_lines(data_dir, 40, db_env)

    async def race() -> list[int]:
        engines = [create_engine(db_env) for _ in range(3)]
        try:
            results = await asyncio.gather(*(replay(e, spool_of(data_dir)) for e in engines))
        finally:
            for engine in engines:
                await engine.dispose()
        return [r.inserted for r in results]

    assert sum(asyncio.run(race())) == 40
    assert sorted(r.request_id for r in rows(db_env)) == sorted(ids)


@sqlite_only
def test_records_spooled_for_another_database_stay_unless_asked(
    db_env: str, data_dir: Path
) -> None:
    ours = spool_lines(data_dir, 2, db_env)
    theirs = spool_lines(data_dir, 3, "postgresql://app@db.internal:5432/sales")
    first = flush_json()
    assert (first["inserted"], first["other_database"], first["pending"]) == (2, 3, 3)
    result = salesctl("costs", "flush")
    assert "belong to another database" in result.stderr
    assert "--any-database" in result.stderr
    assert sorted(r.request_id for r in rows(db_env)) == sorted(ours)

    landed = salesctl("costs", "flush", "--any-database", "--json")
    assert json.loads(landed.stdout)["inserted"] == 3
    assert sorted(r.request_id for r in rows(db_env)) == sorted(ours + theirs)
    assert not spool_of(data_dir).exists()


@sqlite_only
def test_a_torn_line_costs_only_itself(db_env: str, data_dir: Path) -> None:
    ids = spool_lines(data_dir, 2, db_env)
    spool = spool_of(data_dir)
    header, first, second = spool.read_bytes().splitlines(keepends=True)
    spool.write_bytes(header + first[:50] + second)  # a write cut short, then another line
    result = flush_json()
    assert (result["inserted"], result["damaged"]) == (1, 0)
    assert [r.request_id for r in rows(db_env)] == [ids[1]]


@sqlite_only
def test_nothing_to_replay_costs_a_stat_and_touches_nothing(
    db_env: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.llm import spool as spool_module

    opened: list[Path] = []
    real = spool_module.SpoolLock.shared

    def watch(self: Any) -> None:
        opened.append(self.path)
        real(self)

    monkeypatch.setattr(spool_module.SpoolLock, "shared", watch)
    assert salesctl("leads", "list").exit_code == 0
    assert opened == []
    assert not (data_dir / "spool").exists()
