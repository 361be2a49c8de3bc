"""Bulk runs: selections, resuming, claims shared between processes, stopping on signals."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from lead_world import TECHCORP, invoke, json_out, many_leads, runs_of, tracking_rows


def start(*args: str) -> subprocess.Popen[str]:
    """`salesctl ARGS` in its own process, with this test's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "salesctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def ok_runs_per_lead(db: Any) -> dict[int, int]:
    counts: dict[int, int] = {}
    for run in db(lambda s: runs_of(s, "qualification")):
        if run.status == "ok":
            counts[run.lead_id] = counts.get(run.lead_id, 0) + 1
    return counts


def test_bulk_selections_skip_done_leads_unless_forced(sim: Any, leads: Any, db: Any) -> None:
    ids = leads(*many_leads(3, industry="Retail"), *many_leads(2, industry="Software"))

    first = json_out(invoke("qualify", "--where", "industry=retail", "--json"))
    again = json_out(invoke("qualify", "--where", "industry=retail", "--json"))
    forced = json_out(invoke("qualify", "--where", "industry=retail", "--force", "--json"))
    named = json_out(invoke("qualify", "--ids", f"{ids[0]},{ids[3]}", "--json"))
    rest = json_out(invoke("qualify", "--all", "--json"))

    assert sorted(r["lead_id"] for r in first["results"]) == ids[:3]
    assert again["results"] == []
    assert again["summary"]["pending_at_start"] == 0
    assert sorted(r["lead_id"] for r in forced["results"]) == ids[:3]
    assert [r["lead_id"] for r in named["results"]] == [ids[0], ids[3]]
    assert [r["lead_id"] for r in rest["results"]] == [ids[4]]
    assert ok_runs_per_lead(db) == {ids[0]: 3, ids[1]: 2, ids[2]: 2, ids[3]: 1, ids[4]: 1}


def test_a_crashed_workers_claims_are_taken_over_and_live_ones_left_alone(
    sim: Any, leads: Any, db: Any
) -> None:
    from salesctl.db.base import utcnow
    from salesctl.db.models import AgentRun

    ids = leads(*many_leads(3))
    now = utcnow()

    async def claim(session: Any) -> None:
        async with session.begin():
            for lead_id, expires in ((ids[0], now - timedelta(minutes=1)), (ids[1], None)):
                session.add(
                    AgentRun(
                        agent="qualification",
                        lead_id=lead_id,
                        status="running",
                        worker_id="crashed" if expires else "alive",
                        lease_expires_at=expires or now + timedelta(minutes=5),
                        started_at=now - timedelta(minutes=10),
                    )
                )

    db(claim)

    shown = json_out(invoke("qualify", "--all", "--json"))

    assert sorted(r["lead_id"] for r in shown["results"]) == [ids[0], ids[2]]
    runs = db(lambda s: runs_of(s, "qualification"))
    crashed = next(r for r in runs if r.worker_id == "crashed")
    alive = next(r for r in runs if r.worker_id == "alive")
    assert crashed.status == "error"
    assert "claim expired" in (crashed.error or "")
    assert alive.status == "running"


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


class _Lines(io.StringIO):
    """A stream (not a terminal) that hands each complete line written to `on_line`."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        super().__init__()
        self.on_line = on_line
        self.partial = ""

    def write(self, text: str) -> int:
        written = super().write(text)
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.on_line(line)
        return written


def run_watching_stderr(
    monkeypatch: pytest.MonkeyPatch, on_line: Callable[[str], None], *args: str
) -> Ran:
    """`salesctl ARGS` in this process (so signals we send ourselves reach its run), calling
    `on_line` with each line it writes to stderr as it writes it."""
    from salesctl.cli import app

    stdout, stderr = io.StringIO(), _Lines(on_line)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        try:
            app(list(args), prog_name="salesctl")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return Ran(code, stdout.getvalue(), stderr.getvalue())


def signal_once(signum: int, when: Callable[[str], bool]) -> Callable[[str], None]:
    """A stderr watcher that sends us `signum` (a real signal) at the first line `when` holds."""
    sent: list[str] = []

    def watch(line: str) -> None:
        if when(line) and not sent:
            sent.append(line)
            os.kill(os.getpid(), signum)

    return watch


def test_sigterm_lets_leads_in_flight_finish_and_the_next_run_resumes(
    sim: Any, leads: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = leads(*many_leads(12))
    sim.latency_ms = 200
    first_lead_done = signal_once(signal.SIGTERM, lambda line: line.startswith("lead "))

    stopped = run_watching_stderr(
        monkeypatch, first_lead_done, "qualify", "--all", "--concurrency", "2"
    )

    assert stopped.exit_code == 143, stopped.stderr
    assert "stopping (SIGTERM): finishing" in stopped.stderr
    runs = db(lambda s: runs_of(s, "qualification"))
    assert {run.status for run in runs} == {"ok"}  # in flight finished, unstarted given back
    done_before = len(runs)
    assert 1 <= done_before < len(ids)

    sim.latency_ms = 0
    resumed = json_out(invoke("qualify", "--all", "--json"))

    assert resumed["summary"]["done"] == len(ids) - done_before
    assert ok_runs_per_lead(db) == dict.fromkeys(ids, 1)
    assert sorted(c.lead_id for c in db(tracking_rows)) == ids


def test_a_second_ctrl_c_aborts_and_closes_the_claims_in_flight(
    sim: Any, leads: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    leads(*many_leads(4))
    # The model takes each request and holds it far longer than the client's own timeout, so
    # only an abort ends these calls early, and a run that waited would fail another way.
    sim.fail_next(kind="timeout", delay=3600, times=4)
    run_over = threading.Event()

    def ctrl_c_once_both_wait() -> None:
        while len(sim.ledger) < 2 and not run_over.is_set():
            time.sleep(0.01)
        if not run_over.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=ctrl_c_once_both_wait)
    watcher.start()
    again_when_stopping = signal_once(
        signal.SIGINT, lambda line: line.startswith("stopping (SIGINT)")
    )
    try:
        result = run_watching_stderr(
            monkeypatch, again_when_stopping, "qualify", "--all", "--concurrency", "2"
        )
    finally:
        run_over.set()
        watcher.join()

    assert result.exit_code == 130, result.stderr
    assert [call.status for call in sim.ledger] == [0, 0]  # the model never answered
    runs = db(lambda s: runs_of(s, "qualification"))
    assert len(runs) == 2
    assert {run.status for run in runs} == {"error"}
    assert all((run.error or "").startswith("aborted") for run in runs)
    assert all("(a second Ctrl-C)" in (run.error or "") for run in runs)  # the real cause


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_three_processes_share_a_bulk_run_without_doing_a_lead_twice(
    sim: Any, leads: Any, db: Any
) -> None:
    ids = leads(*many_leads(60, notes=None))
    sim.latency_ms = 300  # one process alone would need 4.5 s: all three get to claim

    procs = [start("qualify", "--all", "--concurrency", "4", "--json") for _ in range(3)]
    outputs = [proc.communicate(timeout=120) for proc in procs]

    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    import json

    summaries = [json.loads(stdout)["summary"] for stdout, _ in outputs]
    assert sum(s["done"] for s in summaries) == len(ids)
    assert sum(s["failed"] for s in summaries) == 0
    assert len({s["worker_id"] for s in summaries}) == 3
    runs = db(lambda s: runs_of(s, "qualification"))
    assert len(runs) == len(ids)
    assert ok_runs_per_lead(db) == dict.fromkeys(ids, 1)
    assert sorted(c.lead_id for c in db(tracking_rows)) == ids
    workers_used = {run.worker_id for run in runs}
    assert len(workers_used) >= 2, "one process did all the work: claims were not shared"


def test_named_leads_run_even_when_done(sim: Any, leads: Any, db: Any) -> None:
    (lead_id,) = leads(TECHCORP)

    assert invoke("qualify", "--lead", str(lead_id)).exit_code == 0
    assert invoke("qualify", "--lead", str(lead_id)).exit_code == 0

    assert ok_runs_per_lead(db) == {lead_id: 2}
