"""`python -m bench`: every performance target of salesctl, measured, in one table.

    .venv/bin/python -m bench                 # all seven (under 10 minutes; the first run also
                                              # builds the 10 M-call report dataset once)
    .venv/bin/python -m bench --quick         # small runs: proves every benchmark works
    .venv/bin/python -m bench --only router --only cache
    .venv/bin/python -m bench --only overhead --only bulk --peers   # litellm side by side

Each benchmark runs in its own process (so one's imports and garbage do not colour
another's numbers) and reports its measurements as JSON; this prints the table, writes it
to --markdown if asked, and exits 0 only when every target passes.

  overhead  what the gateway adds per call over the bare SDK      bench/gateway_overhead.py
  startup   salesctl --help / costs / budget check as processes   bench/startup.py
  bulk      qualify --all -c 32/64/128 over 2,000 leads vs bare SDK bench/bulk_bench.py
  router    smart-router decision per prompt                      bench/router_bench.py
  reports   cost report over 10 M (PostgreSQL) / 1 M (SQLite)     bench/report_bench.py
  cache     cache hit incl. its tracking row                      bench/cache_bench.py
  fold      first `costs --json` after a bulk load via the writer bench/fold_bench.py

`--peers` runs the overhead and bulk benchmarks against litellm as well, when it can be
imported (it is never a dependency of salesctl: `.venv/bin/uv pip install litellm` puts it in
this virtualenv only); without it, the flag says so and the peers are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from bench._common import (
    BENCH_CACHE,
    PYTHON,
    ROOT,
    Measurement,
    bytecode_env,
    load_average,
    median,
    postgres_available,
    postgres_url,
    progress,
    ratio,
    recreate_postgres,
    salesctl_command,
    table,
)

if TYPE_CHECKING:
    from bench.bulk_bench import Result as BulkResult

ORDER = ("overhead", "startup", "bulk", "router", "reports", "cache", "fold")
MODULES = {
    "overhead": "bench.gateway_overhead",
    "startup": "bench.startup",
    "router": "bench.router_bench",
    "cache": "bench.cache_bench",
    "fold": "bench.fold_bench",
}


# --- bulk throughput (bench/bulk_bench.py) ---------------------------------------------------

BULK_FULL = (2000, (32, 64, 128), 300.0)
BULK_QUICK = (150, 32, 300.0)
BULK_OVER_BARE_TARGET = 1.15
"""Issue #17: `qualify --all --no-cache` within 1.15× the bare SDK's time for the same calls."""
BULK_CPU_GROWTH_TARGET = 1.15
"""Issue #17: CPU per lead does not grow with concurrency (c=128 over c=32, with the ±15 %
two runs of the same code differ by on this shared machine)."""


def bulk(quick: bool, peers: bool = False) -> list[Measurement]:
    """`salesctl qualify --all` against the simulator, through bulk_bench's scenario runner:
    at each concurrency salesctl's time over the bare SDK's for the same calls, its CPU per
    lead, and (full runs) whether that CPU grows with concurrency."""
    from bench import bulk_bench

    if quick:
        leads, concurrency, latency_ms = BULK_QUICK
        levels: tuple[int, ...] = (concurrency,)
    else:
        leads, levels, latency_ms = BULK_FULL
    measurements: list[Measurement] = []
    cpu: dict[int, float] = {}
    for round_number, concurrency in enumerate(levels):
        name = f"{leads:,} leads, concurrency {concurrency}, {latency_ms:.0f} ms"
        progress(f"bulk: {name}, {load_average()}")
        result = bulk_bench.run_scenario(
            leads, concurrency, latency_ms, None, bare_first=round_number % 2 == 1, peers=peers
        )
        measurements += _bulk_rows(name, result, first=concurrency == levels[0], peers=peers)
        cpu[concurrency] = result.cpu_ms_per_lead
        last = result
    if len(levels) > 1:
        low, high = levels[0], levels[-1]
        measurements.append(
            Measurement(
                bench="bulk",
                name=f"CPU per lead at concurrency {high} over {low}",
                value=cpu[high] / cpu[low],
                unit="×",
                target=BULK_CPU_GROWTH_TARGET,
                baseline=", ".join(f"c={c}: {ms:.1f} ms" for c, ms in cpu.items())
                + " (whole process, start-up included)",
            )
        )
    measurements.append(
        Measurement(
            bench="bulk",
            name=f"peak RSS, {leads:,} leads, concurrency {levels[-1]}, {latency_ms:.0f} ms",
            value=last.peak_rss_mb,
            unit="MB",
            target=250.0,
            strict=True,
            baseline="the salesctl process (getrusage of the child)",
        )
    )
    return measurements


def _bulk_rows(name: str, result: BulkResult, *, first: bool, peers: bool) -> list[Measurement]:
    problems = "; ".join(result.checks) or (
        f"{result.failed} leads failed" if result.failed else ""
    )
    bare = result.bare_sdk
    assert bare is not None
    rows = [
        Measurement(
            bench="bulk",
            name=f"time over the bare SDK's for the same calls, {name}",
            value=result.over_bare,
            unit="×",
            target=BULK_OVER_BARE_TARGET,
            baseline=(
                f"salesctl {result.run_s:.1f} s in run ({result.leads_per_s:.1f} leads/s, CPU "
                f"{result.cpu_ms_per_lead:.1f} ms a lead), bare Cerebras SDK {bare.elapsed_s:.1f}"
                f" s (CPU {bare.cpu_s / result.leads * 1000:.1f} ms a call); as processes, "
                f"start-up included: {result.wall_s:.1f} s vs {bare.wall_s:.1f} s "
                f"(×{result.wall_over_bare:.2f}); ideal {result.ideal_leads_per_s:.0f}/s"
            ),
            error=problems or None,
        )
    ]
    if first:
        share = result.leads_per_s / result.ideal_leads_per_s * 100
        rows.append(
            Measurement(
                bench="bulk",
                name=f"throughput, {name}",
                value=share,
                unit="% of ideal",
                target=90.0,
                better="higher",
                baseline=(
                    f"{result.leads_per_s:.1f} leads/s in run vs ideal "
                    f"{result.ideal_leads_per_s:.1f} (concurrency / latency); bare SDK "
                    f"{(result.bare_sdk_calls_per_s or 0) / result.ideal_leads_per_s * 100:.0f} %"
                ),
                error=problems or None,
            )
        )
    if peers:
        peer = result.litellm
        rows.append(
            Measurement(
                bench="bulk",
                name=f"litellm: time over the bare SDK's for the same calls, {name}",
                value=peer.elapsed_s / bare.elapsed_s if peer else None,
                unit="×",
                target=None,
                baseline=(
                    f"litellm.acompletion + completion_cost {peer.elapsed_s:.1f} s (CPU "
                    f"{peer.cpu_s / result.leads * 1000:.1f} ms a call), bare SDK "
                    f"{bare.elapsed_s:.1f} s"
                    if peer
                    else ""
                ),
                error=result.litellm_missing,
            )
        )
    return rows


# --- reports (bench/report_bench.py) ---------------------------------------------------------

REPORT_LABELS = {
    "queries_ms": "full report: all its queries",
    "wall_ms": "full report: wall time in process",
    "detail_s": "same report from the detail table alone",
    "cli_s": "`salesctl costs --json` in a subprocess",
}
FILTERS: list[list[str]] = [
    ["--agent", "qualification"],
    ["--lead", "7"],
    ["--provider", "cerebras"],
    ["--model", "llama3.1-8b"],
    ["--since", "7d"],
    ["--user", "rep_001"],
]
SEED_VIEWS = ("agent_cost_summary", "lead_cost_summary")
FILTER_RUNS = 3
"""Runs of `costs --json` per filter; the median counts, as for the whole command."""


def _report_datasets(quick: bool) -> list[tuple[str, str, int, bool]]:
    """(label, URL, rows, keep) per database; `keep` datasets live in the bench cache."""
    datasets: list[tuple[str, str, int, bool]] = []
    if postgres_available() is None:
        if quick:
            datasets.append(
                ("PostgreSQL", postgres_url("salesctl_bench_reports_quick"), 20_000, False)
            )
        else:
            datasets.append(
                ("PostgreSQL", postgres_url("salesctl_bench_reports_10m"), 10_000_000, True)
            )
    BENCH_CACHE.mkdir(parents=True, exist_ok=True)
    sqlite_file = BENCH_CACHE / ("reports-quick.db" if quick else "reports-1m.db")
    datasets.append(
        ("SQLite", f"sqlite+aiosqlite:///{sqlite_file}", 20_000 if quick else 1_000_000, not quick)
    )
    return datasets


def _sqlite_file(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _plain_postgres(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _tracked_rows(url: str) -> int | None:
    """Rows already in a dataset (None: no such database or table)."""
    if url.startswith("sqlite"):
        if not _sqlite_file(url).exists():
            return None
        with sqlite3.connect(_sqlite_file(url)) as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM ai_cost_tracking").fetchone()[0])
            except sqlite3.Error:
                return None

    async def count() -> int | None:
        import asyncpg

        try:
            conn = await asyncpg.connect(_plain_postgres(url))
        except asyncpg.InvalidCatalogNameError:
            return None
        try:
            return int(await conn.fetchval("SELECT count(*) FROM ai_cost_tracking"))
        except asyncpg.UndefinedTableError:
            return None
        finally:
            await conn.close()

    return asyncio.run(count())


def _reset(url: str) -> None:
    """An empty database for a dataset to be (re)built."""
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_sqlite_file(url)}{suffix}").unlink(missing_ok=True)
        return
    from sqlalchemy.engine import make_url

    recreate_postgres(str(make_url(url).database))


def _time_seed_views(url: str) -> float:
    """Seconds to read the seed's plain views in full (what the report replaces)."""
    if url.startswith("sqlite"):
        with sqlite3.connect(_sqlite_file(url)) as conn:
            started = time.perf_counter()
            for view in SEED_VIEWS:
                conn.execute(f"SELECT * FROM {view}").fetchall()
            return time.perf_counter() - started

    async def read() -> float:
        import asyncpg

        conn = await asyncpg.connect(_plain_postgres(url))
        try:
            started = time.perf_counter()
            for view in SEED_VIEWS:
                await conn.fetch(f"SELECT * FROM {view}")
            return time.perf_counter() - started
        finally:
            await conn.close()

    return asyncio.run(read())


def _parse_report_bench(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2:
            continue
        for key, label in REPORT_LABELS.items():
            if cells[0].startswith(label):
                values[key] = float(cells[1].replace(",", ""))
    return values


def _filters(quick: bool) -> list[list[str]]:
    return FILTERS[:2] if quick else FILTERS


def _time_filters(url: str, quick: bool) -> tuple[float, str]:
    """The slowest `salesctl costs --json FILTER` by its median of FILTER_RUNS runs (as the
    whole command is timed), and that filter; quick runs time two filters once each."""
    env = {**bytecode_env(), "DATABASE_URL": url}
    env.setdefault("SALESCTL_HOME", str(BENCH_CACHE / "home"))
    slowest, which = 0.0, ""
    for flags in _filters(quick):
        times = []
        for _ in range(1 if quick else FILTER_RUNS):
            started = time.perf_counter()
            subprocess.run(
                [*salesctl_command(), "costs", "--json", *flags],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - started)
        if median(times) > slowest:
            slowest, which = median(times), " ".join(flags)
    return slowest, which


def reports(quick: bool) -> list[Measurement]:
    measurements: list[Measurement] = []
    problem = postgres_available()
    if problem is not None:
        measurements.append(Measurement("reports", "PostgreSQL", None, "ms", 50.0, error=problem))
    for label, url, rows, keep in _report_datasets(quick):
        try:
            measurements += _report_for(label, url, rows, keep, quick)
        except Exception as exc:  # one database's failure must not hide the other's numbers
            measurements.append(
                Measurement("reports", f"{label} report", None, "ms", 50.0, error=f"{exc}")
            )
    return measurements


def _report_for(label: str, url: str, rows: int, keep: bool, quick: bool) -> list[Measurement]:
    present = _tracked_rows(url)
    reuse = keep and present is not None and present >= rows
    if not reuse:
        kept = " (once: kept in the bench cache for later runs)" if keep else ""
        progress(f"reports/{label}: building the {rows:,}-call dataset{kept}")
        _reset(url)
    else:
        progress(f"reports/{label}: reusing the {present:,}-call dataset")
    command = [PYTHON, "-m", "bench.report_bench", "--rows", str(rows), "--database-url", url]
    command += ["--repeats", "2" if quick else "5"] + (["--reuse"] if reuse else [])
    completed = subprocess.run(
        command, env=bytecode_env(), cwd=ROOT, capture_output=True, text=True
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"report_bench exited {completed.returncode}: {last}")
    values = _parse_report_bench(completed.stdout)
    missing = [key for key in REPORT_LABELS if key not in values]
    if missing:
        raise RuntimeError(f"report_bench printed no {', '.join(missing)}")
    views_s = _time_seed_views(url)
    filters_s, slowest_filter = _time_filters(url, quick)
    size = f"{label}, {rows:,} calls"
    queries_ms = values["queries_ms"]
    return [
        Measurement(
            bench="reports",
            name=f"full report, all its queries, {size}",
            value=queries_ms,
            unit="ms",
            target=50.0,
            strict=True,
            baseline=(
                f"in process {values['wall_ms']:.0f} ms wall; from the detail table alone "
                f"{values['detail_s']:.2f} s"
            ),
        ),
        Measurement(
            bench="reports",
            name=f"faster than the seed's plain views, {size}",
            value=views_s * 1000 / queries_ms,
            unit="×",
            target=20.0,
            better="higher",
            baseline=(
                f"SELECT * FROM {' + '.join(SEED_VIEWS)}: {views_s:.2f} s vs the report's "
                f"queries {queries_ms:.1f} ms ({ratio(views_s * 1000, queries_ms)})"
            ),
        ),
        Measurement(
            bench="reports",
            name=f"`salesctl costs --json`, {size}",
            value=values["cli_s"],
            unit="s",
            target=1.0,
            strict=True,
            baseline=(
                f"slowest filter: `costs --json {slowest_filter}` {filters_s:.2f} s "
                f"(filters: {', '.join(' '.join(f) for f in _filters(quick))})"
            ),
        ),
        Measurement(
            bench="reports",
            name=f"`salesctl costs --json` with each filter, slowest, {size}",
            value=filters_s,
            unit="s",
            target=1.0,
            strict=True,
            baseline=(
                f"`--{slowest_filter.removeprefix('--')}`, median of "
                f"{1 if quick else FILTER_RUNS} runs per filter"
            ),
        ),
    ]


# --- running ---------------------------------------------------------------------------------

IN_PROCESS: dict[str, Callable[..., list[Measurement]]] = {"bulk": bulk, "reports": reports}
WITH_PEERS = ("overhead", "bulk")
"""The benchmarks `--peers` runs against litellm as well."""


def litellm_missing() -> str | None:
    """None when litellm can be imported here, else the line to print."""
    import importlib.util

    try:
        found = importlib.util.find_spec("litellm") is not None
    except ValueError:  # in sys.modules as None: hidden on purpose
        found = False
    if not found:
        return (
            "--peers: litellm is missing (`.venv/bin/uv pip install litellm` installs it into "
            "this virtualenv only); running without peers"
        )
    return None


def run_child(name: str, quick: bool, peers: bool = False) -> list[Measurement]:
    """Run one benchmark in a fresh process; its measurements (or one ERROR row)."""
    if name in MODULES:
        command = [PYTHON, "-m", MODULES[name], "--json"]
    else:
        command = [PYTHON, "-m", "bench", "--child", name, "--json"]
    command += ["--quick"] if quick else []
    command += ["--peers"] if peers and name in WITH_PEERS else []
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=bytecode_env(), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    progress(f"{name}: {time.perf_counter() - started:.0f} s")
    try:
        rows = json.loads(completed.stdout.strip().splitlines()[-1])
        return [Measurement(**row) for row in rows]
    except (IndexError, ValueError, TypeError) as exc:
        return [
            Measurement(
                name,
                "run",
                None,
                "",
                None,
                error=f"exited {completed.returncode}, no result ({exc})",
            )
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small runs (a smoke test)")
    parser.add_argument("--only", action="append", choices=ORDER, help="run just this (repeatable)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="run the overhead and bulk benchmarks against litellm too (when installed)",
    )
    parser.add_argument("--child", choices=sorted(IN_PROCESS), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        try:
            extra = {"peers": True} if options.peers else {}
            measurements = IN_PROCESS[options.child](options.quick, **extra)
        except Exception as exc:
            measurements = [Measurement(options.child, "run", None, "", None, error=repr(exc))]
        print(json.dumps([asdict(m) for m in measurements]))
        return

    started = time.perf_counter()
    progress(f"salesctl benchmarks{' (quick)' if options.quick else ''}: {load_average()}")
    peers = options.peers
    if peers and litellm_missing():
        progress(litellm_missing() or "")
        peers = False
    measurements: list[Measurement] = []
    for name in options.only or ORDER:
        measurements += run_child(name, options.quick, peers)
    elapsed = time.perf_counter() - started
    text = table(measurements)
    print(text)
    failed = [m for m in measurements if not m.passed]
    print(
        f"\n{len(measurements) - len(failed)} of {len(measurements)} pass; "
        f"{elapsed:.0f} s; {load_average()}"
    )
    if options.markdown:
        options.markdown.write_text(text + "\n")
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
