"""Real processes: killed mid-batch, stopped with SIGTERM, and many at once on one database.

The simulator runs in this test process; the workers reach it over loopback, so its ledger
says exactly what they were served.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import REPO, ledger_cost, rows, salesctl, seed_leads, spawn, total_cost

from salesctl.llm.simulator import Simulator

pytestmark = pytest.mark.slow
WORKER = str(REPO / "tests" / "reliability" / "call_worker.py")


def returned_ids(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith("returned ")]


def wait_until(condition: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def settled(data_dir: Path) -> bool:
    from salesctl.llm.spool import is_settled, spool_path

    return is_settled(spool_path(data_dir))


# --- SIGKILL -----------------------------------------------------------------------------


def test_sigkill_mid_batch_loses_no_call_that_had_returned(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    concurrency = 8
    proc = spawn(WORKER, "--calls", "2000", "--concurrency", str(concurrency))
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    seen: list[str] = []
    while len(seen) < 150:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "worker ended early"
        seen.extend(returned_ids(line))
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    returned = seen + returned_ids(rest)
    assert proc.returncode == -signal.SIGKILL
    assert "done" not in rest

    flushed = salesctl("costs", "flush", "--json")
    assert flushed.exit_code == 0, flushed.stderr
    assert json.loads(flushed.stdout)["pending"] == 0
    tracked = rows(db_env)
    ids = {r.request_id for r in tracked}
    assert len(ids) == len(tracked), "a call tracked twice"
    assert set(returned) <= ids, "a call that had returned was lost"
    served = [c for c in sim.ledger if c.status == 200]
    # Calls still in flight when the process died were served but never returned: at most
    # one per concurrent task, and the only spend the tracking cannot see.
    assert len(tracked) <= len(served) <= len(tracked) + concurrency
    assert total_cost(tracked) <= ledger_cost(served)
    if len(served) == len(tracked):
        assert total_cost(tracked) == ledger_cost(served)


async def lead_state(url: str) -> tuple[list[Any], list[Any]]:
    from sqlalchemy import select

    from salesctl.db.models import AgentRun, Lead
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            leads = (
                await conn.execute(
                    select(
                        Lead.id,
                        Lead.qualification_score,
                        Lead.qualification_tier,
                        Lead.qualification_reasoning,
                        Lead.qualified_at,
                    )
                )
            ).all()
            runs = (
                await conn.execute(
                    select(AgentRun.lead_id, AgentRun.status, AgentRun.llm_calls).where(
                        AgentRun.agent == "qualification"
                    )
                )
            ).all()
        return list(leads), list(runs)
    finally:
        await engine.dispose()


def test_sigkill_during_qualify_all_leaves_no_lead_half_updated(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    asyncio.run(seed_leads(db_env, 60))
    sim.latency_ms = 20
    proc = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", "4")
    wait_until(lambda: len(sim.ledger) >= 12, what="a dozen calls served")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    served = len(sim.ledger)
    assert 0 < served < 60, "the run should have been cut short"

    report = salesctl("costs", "--json")  # the next start replays the spool
    assert report.exit_code == 0, report.stderr
    leads, runs = asyncio.run(lead_state(db_env))
    for lead in leads:
        fields = lead[1:]
        assert all(v is None for v in fields) or all(v is not None for v in fields), lead
    qualified = {lead.id for lead in leads if lead.qualification_score is not None}
    done = {run.lead_id for run in runs if run.status == "ok"}
    assert qualified == done
    tracked = rows(db_env)
    for run in runs:
        if run.status == "ok":
            calls = [r for r in tracked if r.lead_id == run.lead_id]
            assert len(calls) >= run.llm_calls, f"lead {run.lead_id} lost a tracked call"
    assert len(tracked) <= served <= len(tracked) + 4


# --- SIGTERM -----------------------------------------------------------------------------


def test_sigterm_during_qualify_all_loses_nothing(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    asyncio.run(seed_leads(db_env, 60))
    sim.latency_ms = 20
    proc = spawn("-m", "salesctl", "qualify", "--all", "--concurrency", "4")
    wait_until(lambda: len(sim.ledger) >= 12, what="a dozen calls served")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr

    served = sim.ledger
    tracked = rows(db_env)  # before any replay: a graceful stop wrote every row itself
    assert settled(data_dir)
    assert sum(r.attempts for r in tracked) == len(served)
    assert total_cost(tracked) == ledger_cost(served)


# --- many processes at once ----------------------------------------------------------------


def run_workers(processes: int, *args: str) -> list[str]:
    """Start `processes` call workers at once; every id they returned."""
    procs = [spawn(WORKER, *args, "--tag", f"p{n}") for n in range(processes)]
    returned: list[str] = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, stderr
        assert "database is locked" not in stderr
        assert "not written to the database" not in stderr
        assert stdout.rstrip().endswith("done")
        returned += returned_ids(stdout)
    return returned


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_four_sqlite_processes_of_200_calls_each_lose_nothing(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    returned = run_workers(4, "--calls", "200", "--concurrency", "8")
    assert len(returned) == 800
    tracked = rows(db_env)
    assert sorted(r.request_id for r in tracked) == sorted(returned)
    assert settled(data_dir)  # every row went in live, none waits for a replay
    assert total_cost(tracked) == ledger_cost(sim.ledger)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_32_concurrent_postgres_writers_lose_nothing(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    # 4 processes x 8 gateways, each with its own engine and tracking writer.
    returned = run_workers(4, "--calls", "25", "--writers", "8", "--concurrency", "2")
    assert len(returned) == 800
    tracked = rows(db_env)
    assert sorted(r.request_id for r in tracked) == sorted(returned)
    assert settled(data_dir)
    assert total_cost(tracked) == ledger_cost(sim.ledger)
