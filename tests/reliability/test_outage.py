"""An outage ends a run cleanly: a private PostgreSQL server stopped in the middle of
`qualify --all` makes the run stop taking leads, keep what its calls in flight were tracked as
in the spool, print its summary and one `error:` line with the reason, and exit 1, with no
traceback and no SQL. The next run replays the spool, takes over the claims the stopped
process left (at once: it no longer runs on this host) and finishes every lead; a process
killed with its claims held is taken over just the same, and a run that leaves leads to a live
worker says how many."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import (
    PrivatePostgres,
    assert_served_tracked_reported,
    salesctl,
    seed_leads,
    spawn,
)

from salesctl.llm.simulator import Simulator

pytestmark = pytest.mark.slow
OUTAGE_LINE = re.compile(
    r"error: database unreachable since \d\d:\d\d:\d\d \((?P<why>.+)\); "
    r"(?P<kept>\d+) tracked calls? kept in the spool; rerun to finish"
)


def wait_until(condition: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def lead_runs(url: str) -> tuple[int, dict[str, int]]:
    """Leads qualified, and the qualification runs by status."""
    from sqlalchemy import func, select

    from salesctl.db.models import AgentRun, Lead
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            qualified = await conn.scalar(
                select(func.count()).where(Lead.qualification_score.is_not(None))
            )
            runs = await conn.execute(
                select(AgentRun.status, func.count()).group_by(AgentRun.status)
            )
            return int(qualified or 0), {status: int(n) for status, n in runs}
    finally:
        await engine.dispose()


@pytest.fixture
def private_env(
    private_postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> str:
    from salesctl.config import get_settings

    monkeypatch.setenv("DATABASE_URL", private_postgres.url)
    get_settings.cache_clear()
    return private_postgres.url


def test_a_database_lost_mid_run_ends_it_cleanly_and_the_rerun_finishes(
    sim: Simulator, private_postgres: PrivatePostgres, private_env: str
) -> None:
    asyncio.run(seed_leads(private_env, 40))
    sim.latency_ms = 150
    proc = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", "4")
    wait_until(lambda: len(sim.ledger) >= 8, what="eight calls served")
    private_postgres.stop("immediate")
    stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 1, stderr
    said = stdout + stderr
    for noise in ("Traceback", "[SQL:", "sqlalche.me", "a second Ctrl-C"):
        assert noise not in said, said
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    outage = OUTAGE_LINE.fullmatch(errors[0])
    assert outage is not None, errors[0]
    assert "stopped by" in stdout  # the usual summary
    served = len(sim.ledger)
    assert served < 40, "the run stopped taking leads"

    private_postgres.start()
    rerun = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", "4")
    stdout, stderr = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, stderr
    kept = int(outage["kept"])
    if kept:
        assert f"{kept} tracked call(s) from an earlier run written" in stderr
    qualified, runs = asyncio.run(lead_runs(private_env))
    assert qualified == 40
    assert runs.get("running", 0) == 0
    assert_served_tracked_reported(private_env, sim.ledger)


def test_a_rerun_takes_over_the_claims_of_a_killed_run_at_once(
    sim: Simulator, private_env: str
) -> None:
    asyncio.run(seed_leads(private_env, 30))
    sim.latency_ms = 100
    proc = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", "4")
    wait_until(lambda: len(sim.ledger) >= 6, what="six calls served")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    _, runs = asyncio.run(lead_runs(private_env))
    assert runs.get("running", 0) > 0  # its claims, with a 5-minute lease

    rerun = salesctl("qualify", "--all", "--json")
    assert rerun.exit_code == 0, rerun.stderr
    qualified, runs = asyncio.run(lead_runs(private_env))
    assert qualified == 30, "no lead waited for the dead process's lease"
    assert runs.get("running", 0) == 0
    import json

    assert json.loads(rerun.stdout)["summary"]["claims_taken_over"] > 0


async def hold_claims(url: str, lead_ids: list[int]) -> None:
    """Claims of a live worker on another host."""
    from salesctl.agents import claims
    from salesctl.db.session import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await claims.claim_named(
                session=session,
                agent="qualification",
                lead_ids=lead_ids,
                worker_id="elsewhere:4242:feedbeef",
            )
            from sqlalchemy import update

            from salesctl.db.models import AgentRun

            await session.execute(update(AgentRun).values(worker_host="elsewhere"))
    finally:
        await engine.dispose()


def test_a_run_says_how_many_leads_it_leaves_to_other_workers(
    sim: Simulator, private_env: str
) -> None:
    ids = asyncio.run(seed_leads(private_env, 5))
    asyncio.run(hold_claims(private_env, ids[:2]))
    result = salesctl("qualify", "--all")
    assert result.exit_code == 0, result.stderr
    [said] = [line for line in result.stderr.splitlines() if "left to other workers" in line]
    assert said.startswith("2 lead(s) left to other workers that hold them until ")
    qualified, _ = asyncio.run(lead_runs(private_env))
    assert qualified == 3
