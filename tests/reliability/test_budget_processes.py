"""Hard limits hold across processes: 4 processes x 8 concurrent calls on one database, all
under the same `hard_daily_usd`, spend no more than the limit in total (each call's maximum is
reserved in the database before it is sent), and every call served is tracked and reported.

The figure this measures is in docs/reliability.md."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from reliability_kit import REPO, assert_served_tracked_reported, rows, spawn, total_cost

from salesctl.llm.simulator import Simulator

pytestmark = pytest.mark.slow
WORKER = str(REPO / "tests" / "reliability" / "call_worker.py")
LIMIT = Decimal("0.0005")


def test_four_processes_with_eight_calls_each_in_flight_stay_under_the_limit(
    sim: Simulator, db_env: str, data_dir: Path
) -> None:
    sim.latency_ms = 20  # calls overlap, as they do against a real provider
    env = {"SALESCTL_BUDGET__HARD_DAILY_USD": str(LIMIT)}
    procs = [
        spawn(
            WORKER,
            *("--calls", "200", "--concurrency", "8", "--max-tokens", "100", "--tag", f"p{n}"),
            env=env,
        )
        for n in range(4)
    ]
    returned = refused = 0
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        assert stdout.rstrip().endswith("done")
        returned += stdout.count("returned ")
        refused += stdout.count("refused")

    tracked = [r for r in rows(db_env) if r.status != "refused"]
    spent = total_cost(tracked)
    print(f"\n4 processes x 8: {len(tracked)} calls, ${spent} of ${LIMIT}, {refused} refused")
    assert refused == 32, "every task ends on a refusal: the limit was reached"
    assert len(tracked) == returned
    assert spent <= LIMIT
    assert spent > LIMIT * Decimal("0.9"), "the limit is used, not just respected"
    assert_served_tracked_reported(db_env, sim.ledger)
