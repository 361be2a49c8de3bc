"""Bulk throughput: `salesctl qualify --all` over thousands of leads against the simulator.

Seeds a fresh database with N leads, starts the provider simulator with a fixed latency in
this process, then runs the real command in child processes and measures the wall time, the
in-run throughput against the ideal (concurrency / latency), the CPU time per lead (what
caps throughput on a busy machine) and the peak RSS. Afterwards it checks the database:
every lead done exactly once, one tracked call per lead, and the run costs adding up to
the tracked costs. Then it makes the same calls (one per lead, the qualification agent's
request) with the bare Cerebras SDK at the same concurrency against the same simulator, in a
process of its own, and with `--peers` through litellm too (when it is installed): "× bare
SDK" is salesctl's time over the bare SDK's for the same calls (issue #17: ≤ 1.15 at -c 32,
64 and 128).

    .venv/bin/python -m bench.bulk_bench                        # -c 32, 64 and 128, 2,000 leads
    .venv/bin/python -m bench.bulk_bench --leads 2000 --concurrency 32 --latency-ms 300
    .venv/bin/python -m bench.bulk_bench --concurrency 128 --repeats 3 --peers
    .venv/bin/python -m bench.bulk_bench --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python -m bench.bulk_bench --leads 2000 --concurrency 16 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SCENARIOS = [(2000, 32, 300.0), (2000, 64, 300.0), (2000, 128, 300.0)]
"""(leads, concurrency, simulator latency in ms): issue #17's three runs."""

DUMMY_KEYS = {"CEREBRAS_API_KEY": "csk-bench"}


BARE_SDK_CLIENT = """
import asyncio, json, sys, time
from cerebras.cloud.sdk import AsyncCerebras
from salesctl.agents.schemas import QualificationAnswer

calls, concurrency = int(sys.argv[1]), int(sys.argv[2])
schema = QualificationAnswer.model_json_schema()
lead = "Company {0}, VP of Sales, Software, {0} employees, Germany. Asked about pricing."

async def main():
    client = AsyncCerebras(max_retries=0, warm_tcp_connection=False)
    numbers = iter(range(calls))

    async def worker():
        for n in numbers:
            await client.chat.completions.create(
                model="llama3.1-8b",
                messages=[
                    {"role": "system", "content": "Score how well a lead fits the profile."},
                    {"role": "user", "content": lead.format(n)},
                ],
                max_completion_tokens=600,
                response_format={"type": "json_schema", "json_schema": {
                    "name": "QualificationAnswer", "schema": schema, "strict": False}},
            )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(json.dumps({"elapsed_s": time.perf_counter() - started}))
    await client.close()

asyncio.run(main())
"""
"""The bare SDK at the same concurrency against the same simulator: what this machine and the
simulator allow, with no salesctl at all (same request shape as the qualification agent's).
It prints the time its calls took, as salesctl's summary does (`elapsed_s`)."""

LITELLM_CLIENT = """
import asyncio, json, os, sys, time
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
import litellm
from salesctl.agents.schemas import QualificationAnswer

calls, concurrency = int(sys.argv[1]), int(sys.argv[2])
schema = QualificationAnswer.model_json_schema()
lead = "Company {0}, VP of Sales, Software, {0} employees, Germany. Asked about pricing."
api_base = os.environ["CEREBRAS_BASE_URL"] + "/v1"
costs = []

async def main():
    numbers = iter(range(calls))

    async def worker():
        for n in numbers:
            response = await litellm.acompletion(
                model="cerebras/llama3.1-8b",
                api_base=api_base,
                api_key=os.environ["CEREBRAS_API_KEY"],
                messages=[
                    {"role": "system", "content": "Score how well a lead fits the profile."},
                    {"role": "user", "content": lead.format(n)},
                ],
                max_completion_tokens=600,
                response_format={"type": "json_schema", "json_schema": {
                    "name": "QualificationAnswer", "schema": schema, "strict": False}},
                num_retries=0,
            )
            costs.append(litellm.completion_cost(completion_response=response))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(json.dumps({"elapsed_s": time.perf_counter() - started}))

asyncio.run(main())
"""
"""The same calls through `litellm.acompletion`, each priced with `litellm.completion_cost`
(what salesctl does for every call): the peer in `--peers` runs."""


@dataclass
class Client:
    """One run of a client script (the bare SDK, litellm) over the same calls."""

    elapsed_s: float
    """The calls' own time (from the first call to the last answer)."""
    wall_s: float
    """The process's wall time, start-up included."""
    cpu_s: float


@dataclass
class Result:
    leads: int
    concurrency: int
    latency_ms: float
    wall_s: float
    run_s: float
    done: int
    failed: int
    peak_rss_mb: float
    cpu_s: float
    ideal_leads_per_s: float
    checks: list[str]
    processes: int = 1
    bare_sdk: Client | None = None
    litellm: Client | None = None
    litellm_missing: str | None = None
    """Why there is no litellm run when one was asked for."""

    @property
    def leads_per_s(self) -> float:
        return self.done / self.run_s if self.run_s else 0.0

    @property
    def bare_sdk_calls_per_s(self) -> float | None:
        return self.leads / self.bare_sdk.elapsed_s if self.bare_sdk else None

    @property
    def over_bare(self) -> float | None:
        """salesctl's time for the leads over the bare SDK's for the same calls."""
        return self.run_s / self.bare_sdk.elapsed_s if self.bare_sdk else None

    @property
    def wall_over_bare(self) -> float | None:
        """The same, each as a whole process (start-up included)."""
        return self.wall_s / self.bare_sdk.wall_s if self.bare_sdk else None

    @property
    def cpu_ms_per_lead(self) -> float:
        return self.cpu_s / self.leads * 1000


async def seed(url: str, leads: int) -> None:
    from sqlalchemy import insert

    from salesctl.db import migrate
    from salesctl.db.models import Lead
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        industries = ["Software", "SaaS", "Retail", "Fintech", "Logistics"]
        rows = [
            {
                "company_name": f"Company {i}",
                "contact_title": "VP of Sales" if i % 3 else "CTO",
                "industry": industries[i % len(industries)],
                "employees": 20 + (i * 37) % 6000,
                "region": "Germany" if i % 2 else "United States",
                "notes": f"Lead {i}: asked about pricing; evaluating vendors this quarter.",
            }
            for i in range(leads)
        ]
        async with engine.begin() as conn:
            for start in range(0, len(rows), 500):
                await conn.execute(insert(Lead), rows[start : start + 500])
    finally:
        await engine.dispose()


async def verify(url: str, leads: int, summary: dict[str, Any]) -> list[str]:
    """What the database says about the run; each failed check is one line."""
    from sqlalchemy import func, select

    from salesctl.db.models import AgentRun, AICostTracking
    from salesctl.db.session import create_engine, session_factory

    problems: list[str] = []
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            per_lead = (
                await session.execute(
                    select(AgentRun.lead_id, func.count())
                    .where(AgentRun.agent == "qualification", AgentRun.status == "ok")
                    .group_by(AgentRun.lead_id)
                )
            ).all()
            twice = [lead_id for lead_id, count in per_lead if count > 1]
            if len(per_lead) != leads:
                problems.append(f"{len(per_lead)} of {leads} leads done")
            if twice:
                problems.append(f"{len(twice)} leads done more than once, e.g. {twice[:5]}")
            tracked = (
                await session.execute(
                    select(func.count(), func.count(func.distinct(AICostTracking.lead_id)))
                )
            ).one()
            if tuple(tracked) != (leads, leads):
                problems.append(f"tracking rows {tracked[0]} for {tracked[1]} leads")
            run_cost = (await session.execute(select(func.sum(AgentRun.cost_usd)))).scalar()
            tracked_cost = (
                await session.execute(select(func.sum(AICostTracking.cost_usd)))
            ).scalar()
            shown = Decimal(str(summary["total_cost_usd"]))
            if not (run_cost == tracked_cost == shown):
                problems.append(
                    f"costs differ: runs {run_cost}, tracked {tracked_cost}, shown {shown}"
                )
    finally:
        await engine.dispose()
    return problems


def run_scenario(
    leads: int,
    concurrency: int,
    latency_ms: float,
    database_url: str | None,
    processes: int = 1,
    *,
    bare_sdk: bool = True,
    bare_first: bool = False,
    peers: bool = False,
) -> Result:
    """Run `processes` copies of `qualify --all --no-cache` at once (claims share the leads
    out), and the bare SDK over as many calls at the same concurrency (`BARE_SDK_CLIENT`)
    unless `bare_sdk` is False: after salesctl, or before it with `bare_first` (alternate it
    between repeats). `peers` adds litellm (`LITELLM_CLIENT`) when it is installed."""
    from bench._common import bytecode_env
    from salesctl.config import normalise_database_url
    from salesctl.llm.simulator import Simulator

    home = Path(tempfile.mkdtemp(prefix="salesctl-bulk-bench-"))
    url = normalise_database_url(database_url or f"sqlite:///{home / 'bench.db'}")
    if database_url:
        _recreate_postgres(url)
    asyncio.run(seed(url, leads))
    litellm_missing = _litellm_missing() if peers else None
    with Simulator(latency_ms=latency_ms) as sim:
        env = {
            **bytecode_env(),  # salesctl's modules from cached bytecode, as installed
            **DUMMY_KEYS,
            **sim.env(),
            "DATABASE_URL": url,
            "SALESCTL_HOME": str(home),
            "SALESCTL_CONFIG": os.devnull,  # no config file
        }
        calls, in_flight = leads, concurrency * processes
        bare = _client(BARE_SDK_CLIENT, env, calls, in_flight) if bare_sdk and bare_first else None
        args = ["qualify", "--all", "--no-cache", "--concurrency", str(concurrency), "--json"]
        started = time.perf_counter()
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "salesctl", *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(processes)
        ]
        outputs, cpu_s, peak_rss = [], 0.0, 0
        for child in children:
            assert child.stdout is not None
            with child.stdout:
                outputs.append(child.stdout.read())
            # Reaped here for its resource usage, so tell Popen the exit code: otherwise it
            # warns (ResourceWarning) that the child is still running when it is collected.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                raise SystemExit(f"salesctl exited with {child.returncode}")
            cpu_s += usage.ru_utime + usage.ru_stime
            peak_rss = max(peak_rss, usage.ru_maxrss)
        wall = time.perf_counter() - started
        if bare_sdk and not bare_first:
            bare = _client(BARE_SDK_CLIENT, env, calls, in_flight)
        peer = (
            _client(LITELLM_CLIENT, env, calls, in_flight)
            if peers and not litellm_missing
            else None
        )
    summaries = [json.loads(output)["summary"] for output in outputs]
    total = {
        "total_cost_usd": sum(Decimal(str(s["total_cost_usd"])) for s in summaries),
    }
    checks = asyncio.run(verify(url, leads, total))
    return Result(
        leads=leads,
        concurrency=concurrency * processes,
        latency_ms=latency_ms,
        wall_s=wall,
        run_s=max(s["elapsed_s"] for s in summaries),
        done=sum(s["done"] for s in summaries),
        failed=sum(s["failed"] for s in summaries),
        peak_rss_mb=peak_rss / 1024,
        cpu_s=cpu_s,
        ideal_leads_per_s=concurrency * processes / (latency_ms / 1000)
        if latency_ms
        else float("inf"),
        checks=checks,
        processes=processes,
        bare_sdk=bare,
        litellm=peer,
        litellm_missing=litellm_missing,
    )


def _client(script: str, env: dict[str, str], calls: int, concurrency: int) -> Client:
    """Run a client script in its own process, like salesctl's: its time, wall and CPU."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(calls), str(concurrency)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert child.stdout is not None
        with child.stdout:
            output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"client exited {child.returncode}: {(text or ['no output'])[-1]}")
    return Client(float(json.loads(output)["elapsed_s"]), wall, usage.ru_utime + usage.ru_stime)


def _litellm_missing() -> str | None:
    """None when litellm can be imported here, else what to tell the reader."""
    import importlib.util

    try:
        found = importlib.util.find_spec("litellm") is not None
    except ValueError:  # in sys.modules as None: hidden on purpose
        found = False
    if not found:
        return "litellm is not installed (`.venv/bin/uv pip install litellm`): peers skipped"
    return None


def _recreate_postgres(url: str) -> None:
    from sqlalchemy.engine import make_url

    async def recreate() -> None:
        import asyncpg

        target = make_url(url)
        admin = target.set(drivername="postgresql", database="postgres")
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{target.database}"')
        finally:
            await conn.close()

    asyncio.run(recreate())


def row(r: Result) -> str:
    """One line of the table `main` prints."""
    share = r.leads_per_s / r.ideal_leads_per_s * 100
    checks = "ok" if not r.checks and r.failed == 0 else "; ".join(r.checks) or "failures"
    bare = r.bare_sdk
    peer = r.litellm
    return (
        f"| {r.leads} | {r.processes} × {r.concurrency // r.processes} "
        f"| {r.latency_ms:.0f} ms | {r.run_s:.1f} s "
        f"| {f'{bare.elapsed_s:.1f} s' if bare else '—'} "
        f"| {f'{r.over_bare:.2f}' if r.over_bare else '—'} "
        f"| {f'{r.wall_over_bare:.2f}' if r.wall_over_bare else '—'} "
        f"| {f'{peer.elapsed_s:.1f} s' if peer else (r.litellm_missing and 'missing') or '—'} "
        f"| {r.leads_per_s:.1f} | {share:.0f}% "
        f"| {r.cpu_ms_per_lead:.1f} ms "
        f"| {f'{bare.cpu_s / r.leads * 1000:.1f} ms' if bare else '—'} "
        f"| {r.peak_rss_mb:.0f} MB | {checks} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int)
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable")
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (the database is dropped and recreated)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="Copies of the command sharing the run"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="Rounds over the scenarios (bare SDK first in every other round)",
    )
    parser.add_argument("--peers", action="store_true", help="litellm too, when installed")
    options = parser.parse_args()
    scenarios = SCENARIOS
    if options.leads or options.concurrency or options.latency_ms is not None:
        scenarios = [
            (options.leads or 2000, concurrency, options.latency_ms or 300.0)
            for concurrency in options.concurrency or [32]
        ]
    if options.peers and _litellm_missing():
        print(_litellm_missing(), file=sys.stderr)
    print(
        "| leads | processes × concurrency | latency | salesctl, in run | bare SDK, same calls "
        "| × bare SDK | × bare SDK, process wall | litellm, same calls | leads/s | % of ideal "
        "| CPU per lead | bare SDK CPU per call | peak RSS | checks |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for repeat in range(options.repeats):
        for leads, concurrency, latency_ms in scenarios:
            result = run_scenario(
                leads,
                concurrency,
                latency_ms,
                options.database_url,
                options.processes,
                bare_first=repeat % 2 == 1,
                peers=options.peers,
            )
            print(row(result), flush=True)


if __name__ == "__main__":
    main()
