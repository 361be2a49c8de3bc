"""The benchmark scripts work: each runs in its smallest mode and reports its measurements.

No timing is asserted here (that is what `python -m bench` is for, on a quiet machine);
these check that every bench produces a value for every target it promises, that the work
it measured really happened (rows written, cache hits), and that the suite's table and
exit code follow the measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench._common import Measurement, table

ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> tuple[int, list[Measurement]]:
    completed = subprocess.run(
        [sys.executable, "-m", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.stdout.strip(), completed.stderr[-2000:]
    rows = json.loads(completed.stdout.strip().splitlines()[-1])
    return completed.returncode, [Measurement(**row) for row in rows]


def assert_measured(measurements: list[Measurement], expected: int) -> None:
    assert len(measurements) == expected, measurements
    for m in measurements:
        assert m.error is None, f"{m.name}: {m.error}"
        assert m.value is not None, m.name


def test_router_bench_times_every_prompt() -> None:
    code, measurements = run_bench("bench.router_bench", "--prompts", "300")
    assert_measured(measurements, 2)
    assert "300" in measurements[0].name
    assert measurements[1].name.startswith("added to the first routed call")
    assert code == (0 if all(m.passed for m in measurements) else 1)


def test_router_bench_prompts_are_deterministic_and_varied() -> None:
    from bench.router_bench import generate_prompts
    from salesctl.config import RouterSettings
    from salesctl.llm.router import route

    prompts = generate_prompts(400)
    assert prompts == generate_prompts(400)
    tiers = {route(p, router=RouterSettings()).complexity for p in prompts}
    assert tiers == {"simple", "medium", "complex"}
    assert max(map(len, prompts)) > 900  # some go beyond the router's scan window


@pytest.mark.slow
def test_overhead_bench_tracks_every_gateway_call() -> None:
    _, measurements = run_bench(
        "bench.gateway_overhead", "--quick", "--calls", "64", "--database", "sqlite"
    )
    assert_measured(measurements, 6)
    written = next(m for m in measurements if m.name.startswith("tracking rows written"))
    assert written.value == 100.0, written.baseline
    tail = next(m for m in measurements if m.name.startswith("added p99 wall"))
    assert "32 at once" in tail.name
    assert tail.target == 10.0


def test_cache_bench_answers_from_the_database_cache() -> None:
    _, measurements = run_bench("bench.cache_bench", "--hits", "20", "--backend", "sqlite")
    assert_measured(measurements, 1)  # no error: every call a hit, one row per hit
    assert "20 rows for 20 hits" in measurements[0].baseline


@pytest.mark.redis
def test_cache_bench_answers_from_redis() -> None:
    if not os.environ.get("SALESCTL_TEST_REDIS_URL"):
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("Redis tests need SALESCTL_TEST_REDIS_URL (CI=true: not skipping)")
        pytest.skip("Redis tests need SALESCTL_TEST_REDIS_URL")
    _, measurements = run_bench("bench.cache_bench", "--hits", "20", "--backend", "redis")
    assert_measured(measurements, 1)


@pytest.mark.slow
def test_startup_bench_runs_each_command() -> None:
    _, measurements = run_bench("bench.startup", "--runs", "1")
    assert_measured(measurements, 7)
    assert [m.name.split(",")[0] for m in measurements] == [
        "salesctl --help",
        "salesctl costs (empty database)",
        "salesctl budget check --daily 10",
        "bare Cerebras SDK script",
        "salesctl qualify --lead 1 --no-cache",
        "salesctl enrich --lead 1 --no-cache",
        "salesctl market --lead 1 --no-cache",
    ]


@pytest.mark.slow
def test_bulk_adapter_reads_bulk_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.__main__ as suite

    monkeypatch.setattr(suite, "BULK_QUICK", (12, 4, 20.0))
    over_bare, throughput, memory = suite.bulk(quick=True)
    assert over_bare.name.startswith("time over the bare SDK's for the same calls")
    assert over_bare.error is None, over_bare.error
    assert (over_bare.value or 0) > 0
    assert throughput.error is None, throughput.error
    assert (throughput.value or 0) > 0
    assert memory.name.startswith("peak RSS")
    assert (memory.value or 0) > 0


@pytest.mark.slow
def test_reports_adapter_reads_report_bench(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import bench.__main__ as suite

    url = f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}"
    monkeypatch.setattr(suite, "_report_datasets", lambda quick: [("SQLite", url, 3_000, False)])
    monkeypatch.setattr(suite, "FILTERS", [["--agent", "qualification"]])
    measurements = suite.reports(quick=True)
    assert_measured(measurements, 4)
    assert suite._tracked_rows(url) >= 3_000


@pytest.mark.slow
def test_fold_bench_loads_through_the_writer_both_ways() -> None:
    _, measurements = run_bench("bench.fold_bench", "--rows", "300", "--backend", "sqlite")
    assert_measured(measurements, 2)
    report, writer = measurements
    # Folding in the writer's batches leaves no tail; without it the report folds all 300.
    assert "unfolded tail 0 vs 300 rows" in report.baseline, report.baseline
    assert writer.target is None


def test_table_and_verdicts() -> None:
    rows = [
        Measurement("router", "fast", 10.0, "µs", 50.0),
        Measurement("router", "slow", 60.0, "µs", 50.0),
        Measurement("bulk", "share", 95.0, "%", 90.0, better="higher"),
        Measurement("cache", "broken", None, "ms", 2.0, error="Redis down"),
        Measurement("startup", "info only", 1.5, "s", None),
        Measurement("cache", "strict", 2.0, "ms", 2.0, strict=True),
    ]
    assert [m.passed for m in rows] == [True, False, True, False, True, False]
    text = table(rows)
    results = [line.split("|")[5].strip() for line in text.splitlines()[2:]]
    assert results == ["PASS", "FAIL", "PASS", "ERROR", "info", "FAIL"]
    assert "Redis down" in text
    assert "< 2.00 ms" in text


def test_suite_exit_code_follows_its_table() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "router"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("| router")]
    assert len(lines) == 2
    passed = all("| PASS |" in line for line in lines)
    assert completed.returncode == (0 if passed else 1)


def test_peers_flag_says_when_litellm_is_missing() -> None:
    hide_litellm = (
        "import runpy, sys; sys.modules['litellm'] = None; "  # as if it were not installed
        "runpy.run_module('bench', run_name='__main__')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", hide_litellm, "--quick", "--only", "router", "--peers"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "litellm is missing" in completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith("| router")]
    assert len(lines) == 2, completed.stderr[-2000:]
