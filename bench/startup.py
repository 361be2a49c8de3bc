"""Start-up: how long whole `salesctl` processes take, against `python -c pass` as the floor.

Times `salesctl --help`, `salesctl costs` on an empty (initialised) SQLite database and
`salesctl budget check --daily 10` as a user runs them: the virtualenv's console script in
a fresh process. Uses hyperfine when it is installed, else repeated subprocess runs taken
round-robin (so a burst of load on this shared machine hits every command alike), with
bytecode cached as in any installed copy. The figure compared with the target is the median
wall time.

    .venv/bin/python -m bench.startup [--quick] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from bench._common import (
    PYTHON,
    Measurement,
    bench_main,
    bytecode_env,
    load_average,
    median,
    progress,
    salesctl_command,
    scratch_dir,
    time_processes,
)

FLOOR = "python -c pass"
TARGETS: dict[str, tuple[list[str], float | None, frozenset[int]]] = {
    # label: (salesctl arguments, target seconds or None for "measured only", exit codes)
    "salesctl --help": (["--help"], 0.3, frozenset({0})),
    "salesctl costs (empty database)": (["costs"], None, frozenset({0})),
    # budget check exits 0 info, 1 warning, 2 critical, 3 unknown: all are answers.
    "salesctl budget check --daily 10": (
        ["budget", "check", "--daily", "10"],
        0.7,
        frozenset({0, 1, 2, 3}),
    ),
}


@dataclass
class Timing:
    median_s: float
    min_s: float
    exit_codes: set[int]
    stderr: str
    cpu_s: float | None = None
    """Median user + system CPU seconds (not measured through hyperfine)."""


def _environment(home: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in bytecode_env().items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.endswith("_API_KEY")
    }
    env.update(
        SALESCTL_HOME=home,
        SALESCTL_CONFIG=os.devnull,  # no config file
        COLUMNS="100",
    )
    return env


def _with_hyperfine(
    commands: list[tuple[str, list[str]]], runs: int, env: dict[str, str]
) -> dict[str, Timing]:
    hyperfine = shutil.which("hyperfine")
    assert hyperfine is not None
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        subprocess.run(
            [hyperfine, "--style", "none", "--warmup", "1", "--runs", str(runs)]
            + ["--shell=none", "--ignore-failure", "--export-json", export.name]
            + [" ".join(argv) for _, argv in commands],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = json.load(open(export.name))["results"]  # noqa: SIM115
    timings: dict[str, Timing] = {}
    for (label, _), result in zip(commands, results, strict=True):
        codes = set(result.get("exit_codes") or [0])
        timings[label] = Timing(result["median"], result["min"], codes, "")
    return timings


def _with_subprocess(
    commands: list[tuple[str, list[str]]], runs: int, env: dict[str, str]
) -> dict[str, Timing]:
    times = time_processes(commands, runs=runs, env=env)
    return {
        label: Timing(median(t.wall), min(t.wall), t.exit_codes, t.stderr, median(t.cpu))
        for label, t in times.items()
    }


def run(*, quick: bool = False, runs: int | None = None) -> list[Measurement]:
    runs = runs or (3 if quick else 15)
    home = scratch_dir("startup")
    env = _environment(str(home))
    salesctl = salesctl_command()
    subprocess.run([*salesctl, "init"], env=env, check=True, capture_output=True)
    commands = [(FLOOR, [PYTHON, "-c", "pass"])]
    commands += [(label, [*salesctl, *args]) for label, (args, _, _) in TARGETS.items()]
    tool = "hyperfine" if shutil.which("hyperfine") else "subprocess"
    progress(f"startup: {runs} runs of each command ({tool}), {load_average()}")
    timings = (_with_hyperfine if tool == "hyperfine" else _with_subprocess)(commands, runs, env)
    shutil.rmtree(home, ignore_errors=True)

    floor = timings[FLOOR]
    measurements: list[Measurement] = []
    for label, (_, target, accepted) in TARGETS.items():
        timing = timings[label]
        error = None
        if not timing.exit_codes <= accepted:
            last = timing.stderr.splitlines()[-1] if timing.stderr else "no message"
            error = f"exit {sorted(timing.exit_codes)}: {last}"
        measurements.append(
            Measurement(
                bench="startup",
                name=f"{label}, median wall",
                value=None if error else timing.median_s,
                unit="s",
                target=target,
                baseline=(
                    f"floor ({FLOOR}) {floor.median_s:.3f} s; "
                    f"+{timing.median_s - floor.median_s:.3f} s over it; "
                    f"min {timing.min_s:.3f} s; {runs} runs"
                    + (f"; CPU {timing.cpu_s:.3f} s" if timing.cpu_s is not None else "")
                ),
                error=error,
            )
        )
    return measurements


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, help="runs per command (default 15)")


if __name__ == "__main__":
    bench_main("startup", run, __doc__, _options)
