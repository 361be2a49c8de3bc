"""What every benchmark shares: timing, percentiles, the result table, scratch databases.

A benchmark measures and prints; it never asserts. Each one returns `Measurement`s (a value,
its target, and the baseline measured in the same run), so `python -m bench` can put every
target in one table and exit non-zero when one misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_CACHE = Path(
    os.environ.get("SALESCTL_BENCH_CACHE", Path.home() / ".cache" / "salesctl-bench")
)
"""Where datasets that take long to build (the report benchmark's) are kept between runs."""

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Measurement:
    """One row of the table: a measured value against its target, and what it was compared to."""

    bench: str
    name: str
    value: float | None
    unit: str
    target: float | None
    """None: measured for information only (no target in the issue)."""
    better: Literal["lower", "higher"] = "lower"
    baseline: str = ""
    """The same-run baseline and the ratio to it, e.g. "bare SDK 1.10 ms; ×1.2"."""
    error: str | None = None
    """Why there is no value (the measurement could not be made)."""
    strict: bool = False
    """Target is `<` rather than `≤` (or `>` rather than `≥`)."""

    @property
    def passed(self) -> bool:
        if self.value is None or self.error is not None:
            return False
        if self.target is None:
            return True
        if self.better == "lower":
            return self.value < self.target if self.strict else self.value <= self.target
        return self.value > self.target if self.strict else self.value >= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        sign = {("lower", False): "≤", ("lower", True): "<"}.get((self.better, self.strict))
        sign = sign or ("≥" if not self.strict else ">")
        return f"{sign} {fmt(self.target)} {self.unit}"

    def value_text(self) -> str:
        return "—" if self.value is None else f"{fmt(self.value)} {self.unit}"


def fmt(value: float) -> str:
    """A number with as many digits as a reader needs (3 significant, no exponent)."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}".rstrip("0") if magnitude >= 0.01 else f"{value:.4f}"


# --- statistics ----------------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def ratio(value: float, baseline: float) -> str:
    return f"×{value / baseline:.1f}" if baseline > 0 else "×—"


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


# --- processes -----------------------------------------------------------------------------


def bytecode_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an installed salesctl, whose modules load from cached bytecode.

    This machine's shells set PYTHONDONTWRITEBYTECODE, so every run would compile salesctl
    from source, which no installed copy does; the cache goes to the bench cache directory,
    not into the source tree.
    """
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(BENCH_CACHE / "pycache"))
    return env


def salesctl_command() -> list[str]:
    """How a user runs salesctl from this virtualenv: its console script."""
    script = Path(PYTHON).parent / "salesctl"
    return [str(script)] if script.exists() else [PYTHON, "-m", "salesctl"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator_process(latency_ms: float = 0) -> Iterator[dict[str, str]]:
    """The provider simulator in its own process (so it does not share our GIL); yields the
    *_BASE_URL environment pointing at it."""
    from salesctl.llm.simulator import RemoteSimulator

    port = free_port()
    child = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "salesctl.llm.simulator",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the first `export` line: it is serving
        remote = RemoteSimulator(f"http://127.0.0.1:{port}")
        yield remote.env()
    finally:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- databases -----------------------------------------------------------------------------


def postgres_admin_url() -> str:
    """The server benchmarks create their scratch databases on (any database on it will do)."""
    return (
        os.environ.get("SALESCTL_BENCH_POSTGRES_URL")
        or os.environ.get("SALESCTL_TEST_DATABASE_URL")
        or DEFAULT_POSTGRES
    )


def postgres_url(database: str) -> str:
    """The URL of `database` on the benchmark server (asyncpg driver)."""
    from sqlalchemy.engine import make_url

    from salesctl.config import normalise_database_url

    url = make_url(postgres_admin_url()).set(database=database)
    return normalise_database_url(url.render_as_string(hide_password=False))


def postgres_available() -> str | None:
    """None when the benchmark PostgreSQL server answers, else why not."""

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(_plain(postgres_admin_url()), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {postgres_admin_url()} unavailable: {exc}"
    return None


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def recreate_postgres(database: str) -> str:
    """Drop and create `database` on the benchmark server; returns its URL (unmigrated)."""
    from sqlalchemy.engine import make_url

    async def recreate() -> None:
        import asyncpg

        admin = make_url(postgres_admin_url())
        conn = await asyncpg.connect(_plain(admin.render_as_string(hide_password=False)))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return postgres_url(database)


def drop_postgres(database: str) -> None:
    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(_plain(postgres_admin_url()))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"salesctl-bench-{prefix}-"))


async def migrated_engine(url: str) -> Any:
    """An engine on `url` with the schema at head."""
    from salesctl.db import migrate
    from salesctl.db.session import create_engine

    engine = create_engine(url)
    await migrate.upgrade(engine)
    return engine


async def count_tracked(engine: Any) -> int:
    from sqlalchemy import func, select

    from salesctl.db.models import AICostTracking

    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(AICostTracking))).scalar_one()
        )


# --- timing --------------------------------------------------------------------------------


@dataclass
class ProcessTimes:
    """Wall times of repeated runs of one command line."""

    label: str
    argv: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """User + system CPU seconds of each run (less swayed by other processes than wall)."""
    exit_codes: set[int] = field(default_factory=set)
    stderr: str = ""


def time_processes(
    commands: Sequence[tuple[str, list[str]]],
    *,
    runs: int,
    warmup: int = 1,
    env: dict[str, str] | None = None,
) -> dict[str, ProcessTimes]:
    """Run every command `runs` times, round-robin (so a burst of load on this shared machine
    hits them all alike), and record each run's wall and CPU time."""
    import resource

    times = {label: ProcessTimes(label, argv) for label, argv in commands}
    for round_number in range(warmup + runs):
        for label, argv in commands:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            completed = subprocess.run(
                argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_number < warmup:
                continue
            record = times[label]
            record.wall.append(elapsed)
            record.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            record.exit_codes.add(completed.returncode)
            record.stderr = completed.stderr.strip()
    return times


def interleaved(
    first: Callable[[], object], second: Callable[[], object], rounds: int
) -> tuple[list[float], list[float]]:
    """Time two synchronous callables alternately; the per-call seconds of each."""
    a: list[float] = []
    b: list[float] = []
    clock = time.perf_counter
    for _ in range(rounds):
        start = clock()
        first()
        a.append(clock() - start)
        start = clock()
        second()
        b.append(clock() - start)
    return a, b


# --- output --------------------------------------------------------------------------------


def table(measurements: Sequence[Measurement]) -> str:
    """The results as a Markdown table (also what docs/performance.md shows)."""
    lines = [
        "| bench | target | measured | goal | result | same-run baseline |",
        "|---|---|---|---|---|---|",
    ]
    for m in measurements:
        result = "ERROR" if m.error else ("FAIL" if not m.passed else "PASS")
        if m.target is None and not m.error:
            result = "info"
        note = m.error if m.error else m.baseline
        lines.append(
            f"| {m.bench} | {m.name} | {m.value_text()} | {m.target_text()} | {result} | {note} |"
        )
    return "\n".join(lines)


def bench_main(
    name: str,
    run: Callable[..., list[Measurement]],
    doc: str | None,
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """The command line every benchmark module shares: `--quick`, `--json`, its own options."""
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    if configure is not None:
        configure(parser)
    options = vars(parser.parse_args())
    as_json = options.pop("json")
    measurements = run(**options)
    if as_json:
        print(json.dumps([asdict(m) for m in measurements]))
    else:
        print(table(measurements))
    sys.exit(0 if all(m.passed for m in measurements) else 1)


def progress(message: str) -> None:
    """A line for the person watching (stderr, so --json output stays clean)."""
    print(message, file=sys.stderr, flush=True)
