"""The first `salesctl costs --json` right after a bulk load written through the gateway's
tracking writer (docs/performance.md, "Reports after a bulk load").

    .venv/bin/python -m bench.fold_bench                  # 200 k calls SQLite, 100 k PostgreSQL
    .venv/bin/python -m bench.fold_bench --rows 1000000 --backend sqlite
    .venv/bin/python -m bench.fold_bench --quick          # 20 k calls, both databases

For each database, twice on a fresh schema: once with the writer folding what it commits
into the report rollups (what salesctl does) and once with that turned off (how it was
before: the first report folded the whole backlog). Each time it
  1. submits N tracking records to a `TrackingWriter` (spool on, as the gateway's), flushing
     every 10,000 as a bulk run's steady stream would, then closes it (timed: the writer's
     cost, folding included),
  2. counts the rows the rollups do not hold yet (the tail a report would fold),
  3. times the first `salesctl costs --json` in a subprocess, then the median of three more.
The calls are `salesctl.reports.synthetic`'s, arriving in time order over the last two days.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._common import (
    Measurement,
    bench_main,
    bytecode_env,
    drop_postgres,
    load_average,
    median,
    migrated_engine,
    postgres_available,
    progress,
    ratio,
    recreate_postgres,
    salesctl_command,
    scratch_dir,
)

TARGET_S = 1.0
FLUSH_EVERY = 10_000
POSTGRES_DATABASE = "salesctl_bench_perffold"


@dataclass
class Run:
    writer_s: float
    tail: int
    first_report_s: float
    later_report_s: float
    fold_us: tuple[float, float]
    """The writer's fold time per row over the first and the last tenth of the load."""


async def _load(
    url: str, rows: int, *, fold: bool, spool_dir: Any
) -> tuple[float, int, tuple[float, float]]:
    """Write `rows` synthetic calls through a TrackingWriter: (seconds, unfolded rows after,
    fold µs per row early and late in the load)."""
    from sqlalchemy import func, select

    from salesctl.db.models import AICostTracking
    from salesctl.llm.tracking import RECORD_FIELDS, TrackingRecord, TrackingWriter
    from salesctl.reports.rollups import read_state
    from salesctl.reports.synthetic import insert_leads, synthetic_calls

    engine = await migrated_engine(url)
    try:
        leads = max(1, rows // 50)
        await insert_leads(engine, [f"Lead {i}" for i in range(leads)])
        now = datetime.now(UTC)
        calls = synthetic_calls(rows, start=now - timedelta(days=2), days=2, leads=leads)
        writer = TrackingWriter(engine, spool=spool_dir / "tracking.jsonl", fold=fold)
        tenth = max(1, rows // 10)
        marks: dict[int, tuple[float, int]] = {}
        started = time.perf_counter()
        for n, call in enumerate(calls, start=1):
            writer.submit(TrackingRecord(**{k: call[k] for k in RECORD_FIELDS if k in call}))
            if n % FLUSH_EVERY == 0 or n in (tenth, rows - tenth):
                await writer.flush()
                marks[n] = (writer.stats.fold_s, writer.stats.written)
        await writer.aclose()
        elapsed = time.perf_counter() - started
        fold_s, written = writer.stats.fold_s, writer.stats.written
        early = marks.get(tenth, (fold_s, written))
        late = marks.get(rows - tenth, (0.0, 0))
        per_row = (
            early[0] / max(early[1], 1) * 1e6,
            (fold_s - late[0]) / max(written - late[1], 1) * 1e6,
        )
        if writer.stats.failed:
            raise RuntimeError(f"{writer.stats.failed} rows failed: {writer.stats.errors[:1]}")
        from salesctl.db.session import session_factory

        async with session_factory(engine)() as session:
            watermark = (await read_state(session)).watermark
            tail = (
                await session.execute(
                    select(func.count()).where(AICostTracking.__table__.c.id > watermark)
                )
            ).scalar_one()
        return elapsed, int(tail), per_row
    finally:
        await engine.dispose()


def _report_s(url: str, home: str) -> float:
    env = {**bytecode_env(), "DATABASE_URL": url, "SALESCTL_HOME": home}
    env.setdefault("SALESCTL_CONFIG", os.devnull)
    started = time.perf_counter()
    subprocess.run(
        [*salesctl_command(), "costs", "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _one(label: str, url: str, rows: int, *, fold: bool, fresh: Any) -> Run:
    fresh()
    mode = "writer folds" if fold else "writer does not fold (before)"
    progress(f"fold: {label}, {rows:,} calls, {mode}, {load_average()}")
    work = scratch_dir("fold")
    writer_s, tail, fold_us = asyncio.run(_load(url, rows, fold=fold, spool_dir=work))
    home = str(work / "home")
    first = _report_s(url, home)
    later = median([_report_s(url, home) for _ in range(3)])
    progress(
        f"fold:   writer {writer_s:.1f} s, tail {tail:,}, first report {first:.2f} s, "
        f"then {later:.2f} s"
    )
    return Run(writer_s, tail, first, later, fold_us)


def _measure(label: str, url: str, rows: int, fresh: Any) -> list[Measurement]:
    after = _one(label, url, rows, fold=True, fresh=fresh)
    before = _one(label, url, rows, fold=False, fresh=fresh)
    size = f"{label}, {rows:,} calls"
    return [
        Measurement(
            bench="fold",
            name=f"first `costs --json` after a bulk load through the writer, {size}",
            value=after.first_report_s,
            unit="s",
            target=TARGET_S,
            baseline=(
                f"before (report folds the backlog): {before.first_report_s:.2f} s, "
                f"{ratio(after.first_report_s, before.first_report_s)}; unfolded tail "
                f"{after.tail:,} vs {before.tail:,} rows; later reports {after.later_report_s:.2f}"
                f" vs {before.later_report_s:.2f} s"
            ),
        ),
        Measurement(
            bench="fold",
            name=f"writer time for the load, folding as it writes, {size}",
            value=after.writer_s,
            unit="s",
            target=None,
            baseline=(
                f"without folding {before.writer_s:.1f} s, "
                f"{ratio(after.writer_s, before.writer_s)} "
                f"({rows / after.writer_s:,.0f} vs {rows / before.writer_s:,.0f} rows/s); "
                f"its folds {after.fold_us[0]:.0f} µs per row over the first tenth, "
                f"{after.fold_us[1]:.0f} over the last"
            ),
        ),
    ]


def run(
    *, quick: bool = False, rows: int | None = None, backend: str | None = None
) -> list[Measurement]:
    measurements: list[Measurement] = []
    if backend in (None, "sqlite"):
        count = rows or (20_000 if quick else 200_000)
        path = scratch_dir("fold-db") / "bench.db"

        def fresh_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

        try:
            measurements += _measure("SQLite", f"sqlite+aiosqlite:///{path}", count, fresh_sqlite)
        finally:
            fresh_sqlite()
    if backend in (None, "postgresql"):
        count = rows or (20_000 if quick else 100_000)
        problem = postgres_available()
        if problem is not None:
            measurements.append(
                Measurement("fold", "PostgreSQL", None, "s", TARGET_S, error=problem)
            )
        else:
            url = ""

            def fresh_postgres() -> None:
                nonlocal url
                url = recreate_postgres(POSTGRES_DATABASE)

            fresh_postgres()
            try:
                measurements += _measure("PostgreSQL", url, count, fresh_postgres)
            finally:
                drop_postgres(POSTGRES_DATABASE)
    return measurements


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, help="calls per load (default 200 k SQLite, 100 k PG)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"])


if __name__ == "__main__":
    bench_main("fold_bench", run, __doc__, _options)
