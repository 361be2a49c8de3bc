"""Time the cost report over N synthetic tracked calls (docs/performance.md, "Reports").

    python bench/report_bench.py --rows 1000000 --database-url postgresql://postgres@127.0.0.1/bench
    python bench/report_bench.py --rows 1000000 --database-url sqlite:////tmp/bench.db

Loads the calls (COPY through asyncpg on PostgreSQL, executemany on SQLite) into the database
named by --database-url (it must be empty or hold a previous run's data: --reuse skips the
load), folds them into the rollups, then times, inside this process:
  * every query of a full `costs` report (the sum of their execution times) and its wall time,
  * the same report with a tail of unfolded rows, and folding that tail,
  * the report from the detail table alone (what the rollups save),
and the whole `salesctl costs --json` command in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesctl.config import Settings, normalise_database_url
from salesctl.reports.synthetic import synthetic_calls

BATCH = 50_000
TAIL = 10_000
COLUMNS = (
    "request_id",
    "timestamp",
    "agent_type",
    "agent_mode",
    "lead_id",
    "session_id",
    "user_id",
    "prompt_text",
    "prompt_tokens",
    "prompt_complexity",
    "completion_text",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "provider",
    "model",
    "cost_usd",
    "saved_usd",
    "price_source",
    "unpriced",
    "latency_ms",
    "cache_hit",
    "status",
    "error_type",
    "attempts",
    "simulated",
    "feedback_count",
)


@dataclass
class QueryClock:
    """Sums the time the database spends executing statements (cursor execute to return)."""

    seconds: float = 0.0
    count: int = 0
    statements: list[tuple[str, float]] = field(default_factory=list)
    last_breakdown: str = ""
    _started: list[float] = field(default_factory=list)

    def attach(self, engine: Any) -> None:
        from sqlalchemy import event

        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        if self.statements:
            self.last_breakdown = ", ".join(f"{name} {ms:.1f}" for name, ms in self.statements)
        self.seconds, self.count, self.statements = 0.0, 0, []

    def _before(self, *_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - self._started.pop()
        self.seconds += elapsed
        self.count += 1
        self.statements.append((_label(statement), elapsed * 1000))


def _label(statement: str) -> str:
    """A short name for a report statement (which rollup or section it reads)."""
    text = " ".join(statement.split())
    if "WITH per_lead" in text:
        return "top leads"
    if "FROM ai_cost_lead_totals" in text:
        if "count(" in text:
            return "leads counted"
        return "top leads walk" if "ORDER BY" in text else "lead totals"
    if "FROM leads" in text:
        return "lead names"
    if "rollup_state" in text and "facts" not in text and "lead_id" in text:
        return "unfolded leads"
    if "facts.lead_id, sum(" in text:
        return "leads summed exactly"
    if "rollup_state" in text and "FROM facts" not in text and "AS facts" not in text:
        return "state"
    if "facts.hour" in text:
        return "time series"
    if "facts.lead_id, facts.agent_type" in text:
        return "agents per lead"
    if "facts.agent_type" in text:
        return "by agent/model/cache"
    return text[:30]


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def load(url: str, rows: int, leads: int, days: int, now: datetime) -> float:
    """Bulk-load `leads` leads and `rows` calls ending at `now`; returns seconds taken."""
    started = time.perf_counter()
    calls = synthetic_calls(
        rows, start=now - timedelta(days=days), days=days, leads=leads, users=200, seed=42
    )
    if url.startswith("postgresql"):
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.copy_records_to_table(
                "leads",
                records=[(i, f"Company {i}", "new", now, now) for i in range(1, leads + 1)],
                columns=["id", "company_name", "status", "created_at", "updated_at"],
            )
            await conn.execute("SELECT setval('leads_id_seq', $1)", leads)
            done = 0
            for batch in batches(calls):
                await conn.copy_records_to_table(
                    "ai_cost_tracking",
                    records=[tuple(row.get(c, 0) for c in COLUMNS) for row in batch],
                    columns=list(COLUMNS),
                )
                done += len(batch)
                print(f"\r  loaded {done:,}", end="", file=sys.stderr, flush=True)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    else:
        _load_sqlite(url, calls, leads, now)
    print(file=sys.stderr)
    return time.perf_counter() - started


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy would store: money in 1e-10 units, naive UTC text timestamps."""
    if isinstance(value, Decimal):
        return int(value.scaleb(10))
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    if isinstance(value, bool):
        return int(value)
    return value


def _load_sqlite(url: str, calls: Iterator[dict[str, Any]], leads: int, now: datetime) -> None:
    """executemany through the stdlib driver, one transaction per batch."""
    import sqlite3

    from sqlalchemy.engine import make_url

    conn = sqlite3.connect(make_url(url).database or "")
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        stamp = _sqlite_value(now)
        with conn:
            conn.executemany(
                "INSERT INTO leads (id, company_name, status, created_at, updated_at) "
                "VALUES (?, ?, 'new', ?, ?)",
                [(i, f"Company {i}", stamp, stamp) for i in range(1, leads + 1)],
            )
        insert = (
            f"INSERT INTO ai_cost_tracking ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        done = 0
        for batch in batches(calls):
            with conn:
                conn.executemany(
                    insert, [tuple(_sqlite_value(row.get(c, 0)) for c in COLUMNS) for row in batch]
                )
            done += len(batch)
            print(f"\r  loaded {done:,}", end="", file=sys.stderr, flush=True)
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def add_tail(url: str, count: int, now: datetime) -> None:
    from salesctl.db.session import create_engine
    from salesctl.reports.synthetic import insert_calls

    engine = create_engine(url)
    rows = list(
        synthetic_calls(count, start=now - timedelta(hours=6), days=1, leads=0, users=20, seed=7)
    )
    for row in rows:
        row["timestamp"] = min(row["timestamp"], now - timedelta(seconds=1))
    await insert_calls(engine, rows)
    await engine.dispose()


async def measure(url: str, timezone: str, repeats: int) -> dict[str, Any]:
    from salesctl.db import migrate
    from salesctl.db.session import create_engine, session_factory
    from salesctl.reports.costs import ReportOptions, read_cost_report
    from salesctl.reports.filters import build_filters
    from salesctl.reports.rollups import fold

    engine = create_engine(url)
    await migrate.upgrade(engine)
    clock = QueryClock()
    clock.attach(engine)
    results: dict[str, Any] = {}

    started = time.perf_counter()
    folded = await fold(engine, wait=True)
    results["fold_all_s"] = time.perf_counter() - started
    results["fold_rows"] = folded.rows

    settings = Settings(timezone=timezone)
    sessions = session_factory(engine)

    async def report(source: str = "rollup") -> tuple[float, float, int, Any]:
        filters = build_filters(settings=settings)
        clock.reset()
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            result = await read_cost_report(session, filters, ReportOptions(), source=source)  # type: ignore[arg-type]
        return clock.seconds, time.perf_counter() - started, clock.count, result

    await report()  # warm: statement cache, connection pool
    runs = [await report() for _ in range(repeats)]
    clock.reset()
    results["queries_ms"] = statistics.median(r[0] for r in runs) * 1000
    results["queries_min_ms"] = min(r[0] for r in runs) * 1000
    results["report_wall_ms"] = statistics.median(r[1] for r in runs) * 1000
    results["per_statement_ms"] = clock.last_breakdown
    results["statements"] = runs[0][2]
    results["requests_in_window"] = runs[0][3].total_requests
    results["total_rows"] = await count_rows(engine)

    await engine.dispose()
    return results


async def count_rows(engine: Any) -> int:
    from sqlalchemy import func, select

    from salesctl.db.models import AICostTracking

    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(AICostTracking))).scalar_one()
        )


async def measure_tail(url: str, timezone: str, repeats: int, now: datetime) -> dict[str, Any]:
    from salesctl.db.session import create_engine, session_factory
    from salesctl.reports.costs import ReportOptions, read_cost_report
    from salesctl.reports.filters import build_filters
    from salesctl.reports.rollups import fold

    await add_tail(url, TAIL, now)
    engine = create_engine(url)
    clock = QueryClock()
    clock.attach(engine)
    settings = Settings(timezone=timezone)
    results: dict[str, Any] = {}
    sessions = session_factory(engine)

    async def timed(source: str) -> float:
        filters = build_filters(settings=settings)
        clock.reset()
        async with sessions() as session, session.begin():
            await read_cost_report(session, filters, ReportOptions(), source=source)  # type: ignore[arg-type]
        return clock.seconds

    await timed("rollup")
    results["queries_with_tail_ms"] = (
        statistics.median([await timed("rollup") for _ in range(repeats)]) * 1000
    )
    started = time.perf_counter()
    await fold(engine, wait=True)
    results["fold_tail_ms"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    await timed("detail")
    results["detail_path_s"] = time.perf_counter() - started
    await engine.dispose()
    return results


def time_cli(url: str, timezone: str, repeats: int) -> float:
    env = {**os.environ, "DATABASE_URL": url, "SALESCTL_TIMEZONE": timezone}
    env.setdefault("SALESCTL_HOME", str(Path.home() / ".cache" / "salesctl-bench"))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "salesctl", "costs", "--json"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def prepare(url: str) -> None:
    from salesctl.db import migrate
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--leads", type=int, default=None, help="default: rows / 50")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="skip loading: time existing data")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    now = datetime.now(UTC)
    asyncio.run(prepare(url))
    if not args.reuse:
        leads = args.leads or max(100, args.rows // 50)
        print(f"loading {args.rows:,} calls for {leads:,} leads …", file=sys.stderr)
        results: dict[str, Any] = {
            "load_s": asyncio.run(load(url, args.rows, leads, args.days, now))
        }
    else:
        results = {}
    results.update(asyncio.run(measure(url, args.timezone, args.repeats)))
    results.update(asyncio.run(measure_tail(url, args.timezone, args.repeats, now)))
    results["cli_s"] = time_cli(url, args.timezone, 3)
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n{dialect}, {results['total_rows']:,} tracked calls, time zone {args.timezone}")
    for key, label in (
        ("load_s", "bulk load (s)"),
        ("fold_all_s", "first fold of every row (s)"),
        ("queries_ms", "full report: all its queries (ms, median)"),
        ("queries_min_ms", "fastest run of the full report's queries (ms)"),
        ("per_statement_ms", "the report's statements (ms, last run)"),
        ("statements", "full report: statements"),
        ("report_wall_ms", "full report: wall time in process (ms, median)"),
        ("queries_with_tail_ms", f"same with {TAIL:,} unfolded rows (ms)"),
        ("fold_tail_ms", f"folding those {TAIL:,} rows (ms)"),
        ("detail_path_s", "same report from the detail table alone (s)"),
        ("cli_s", "`salesctl costs --json` in a subprocess (s, median)"),
        ("requests_in_window", "calls in the 30-day window"),
    ):
        if key in results:
            value = results[key]
            if isinstance(value, str):
                shown = value
            else:
                shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
            print(f"| {label} | {shown} |")


if __name__ == "__main__":
    main()
