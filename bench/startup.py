"""Start-up: how long whole `salesctl` processes take, against `python -c pass` as the floor.

Times `salesctl --help`, `salesctl costs` on an empty (initialised) SQLite database and
`salesctl budget check --daily 10` as a user runs them: the virtualenv's console script in
a fresh process. Uses hyperfine when it is installed, else repeated subprocess runs taken
round-robin (so a burst of load on this shared machine hits every command alike), with
bytecode cached as in any installed copy. The figure compared with the target is the median
wall time.

One lead (`--lead`, on by default): `salesctl qualify|enrich|market --lead 1 --no-cache`
against the provider simulator (its own process, no added latency), each beside a cold
script that imports only the Cerebras SDK and makes the same call (the qualification
prompt and answer schema, built here beforehand). The figure compared with the target is
what the command adds: its median wall minus the bare script's, both from the same
round-robin runs.

    .venv/bin/python -m bench.startup [--quick] [--runs 15] [--no-lead]

Before/after in one run: `--against DIR` also runs every salesctl command with the
`salesctl` package found in DIR (e.g. `git archive main salesctl | tar -x -C /tmp/before`),
round-robin with the current code, and reports both medians.
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
    ratio,
    salesctl_command,
    scratch_dir,
    simulator_process,
    time_processes,
)

FLOOR = "python -c pass"
TARGETS: dict[str, tuple[list[str], float | None, frozenset[int]]] = {
    # label: (salesctl arguments, target seconds or None for "measured only", exit codes)
    "salesctl --help": (["--help"], 0.3, frozenset({0})),
    "salesctl costs (empty database)": (["costs"], 0.3, frozenset({0})),
    # budget check exits 0 info, 1 warning, 2 critical, 3 unknown: all are answers.
    "salesctl budget check --daily 10": (
        ["budget", "check", "--daily", "10"],
        0.3,
        frozenset({0, 1, 2, 3}),
    ),
}

BARE = "bare Cerebras SDK script, same call"
_CEREBRAS = ["--provider", "cerebras", "--model", "llama3.1-8b"]
LEAD_COMMANDS: dict[str, tuple[list[str], float | None]] = {
    # label: (salesctl arguments, target for the wall it adds over the bare script)
    "salesctl qualify --lead 1": (["qualify", "--lead", "1", "--no-cache"], 0.35),
    # Their default model is Anthropic's: the bare script's SDK and model here, like qualify.
    "salesctl enrich --lead 1": (["enrich", "--lead", "1", "--no-cache", *_CEREBRAS], 0.35),
    "salesctl market --lead 1": (["market", "--lead", "1", "--no-cache", *_CEREBRAS], 0.35),
}

BARE_SDK_CALL = """
import json, sys
from cerebras.cloud.sdk import Cerebras

request = json.load(open(sys.argv[1]))
client = Cerebras(max_retries=0, warm_tcp_connection=False)
answer = client.chat.completions.create(**request)
print(answer.choices[0].message.content)
"""
"""A cold script a user might write instead: the SDK, one call, the answer printed."""


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


def _lead_request(path: str) -> None:
    """The qualification agent's request for lead 1 of `_seed_leads`, as the SDK takes it."""
    from salesctl.agents.icp import match_profile
    from salesctl.agents.lead import LeadSnapshot
    from salesctl.agents.prompts import qualification_prompt
    from salesctl.agents.qualification import MAX_TOKENS
    from salesctl.agents.schemas import QualificationAnswer
    from salesctl.config import ICPSettings

    lead = LeadSnapshot(id=1, **_LEAD)  # type: ignore[arg-type]
    icp = ICPSettings()
    prompt = qualification_prompt(lead, icp, match_profile(lead, icp))
    request = {
        "model": "llama3.1-8b",
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ],
        "max_completion_tokens": MAX_TOKENS,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "QualificationAnswer",
                "schema": QualificationAnswer.model_json_schema(),
                "strict": False,
            },
        },
    }
    with open(path, "w") as file:
        json.dump(request, file)


_LEAD = {
    "company_name": "Acme Robotics",
    "contact_name": "Dana Smith",
    "contact_title": "VP of Sales",
    "industry": "Software",
    "employees": 250,
    "region": "Germany",
    "website": "https://acme.example",
    "notes": "Asked about pricing; evaluating vendors this quarter.",
}


def _seed_leads(env: dict[str, str]) -> None:
    """Lead 1 (`_LEAD`) in the bench's database, through the CLI's own import."""
    import csv

    leads_csv = os.path.join(env["SALESCTL_HOME"], "leads.csv")
    with open(leads_csv, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(_LEAD))
        writer.writeheader()
        writer.writerow(_LEAD)
    subprocess.run(
        [*salesctl_command(), "leads", "import", leads_csv],
        env=env,
        check=True,
        capture_output=True,
    )


def _lead_measurements(timings: dict[str, Timing], floor: Timing, runs: int) -> list[Measurement]:
    bare = timings[BARE]
    measurements = [
        Measurement(
            bench="startup",
            name=f"{BARE}, median wall",
            value=bare.median_s if bare.exit_codes == {0} else None,
            unit="s",
            target=None,
            baseline=f"floor ({FLOOR}) {floor.median_s:.3f} s; min {bare.min_s:.3f} s; {runs} runs"
            + (f"; CPU {bare.cpu_s:.3f} s" if bare.cpu_s is not None else ""),
            error=None if bare.exit_codes == {0} else f"exit {sorted(bare.exit_codes)}",
        )
    ]
    for label, (_, target) in LEAD_COMMANDS.items():
        timing = timings[label]
        error = None
        if timing.exit_codes != {0}:
            last = timing.stderr.splitlines()[-1] if timing.stderr else "no message"
            error = f"exit {sorted(timing.exit_codes)}: {last}"
        cpu = (
            f"; CPU {timing.cpu_s:.3f} s (bare {bare.cpu_s:.3f} s)"
            if timing.cpu_s is not None and bare.cpu_s is not None
            else ""
        )
        measurements.append(
            Measurement(
                bench="startup",
                name=f"{label} --no-cache, wall added over the bare SDK script (median)",
                value=None if error else timing.median_s - bare.median_s,
                unit="s",
                target=target,
                baseline=(
                    f"median wall {timing.median_s:.3f} s vs bare {bare.median_s:.3f} s; "
                    f"min {timing.min_s:.3f} vs {bare.min_s:.3f} s; {runs} runs" + cpu
                ),
                error=error,
            )
        )
    return measurements


BEFORE = " [before]"


def _twins(
    commands: list[tuple[str, list[str]]], against: str | None
) -> list[tuple[str, list[str]]]:
    """With `against`, each command twice: as it is and with the package from `against`."""
    if against is None:
        return commands
    twins: list[tuple[str, list[str]]] = []
    for label, argv in commands:
        twins.append((label, ["env", "-u", "PYTHONPATH", *argv]))
        twins.append((label + BEFORE, ["env", f"PYTHONPATH={against}", *argv]))
    return twins


def _before_after(
    timings: dict[str, Timing], labels: list[str], against: str, runs: int
) -> list[Measurement]:
    rows = []
    for label in labels:
        after, before = timings[label], timings[label + BEFORE]
        cpu = (
            f"; CPU {before.cpu_s:.3f} → {after.cpu_s:.3f} s"
            if before.cpu_s is not None and after.cpu_s is not None
            else ""
        )
        if BARE in timings:
            bare = timings[BARE].median_s
            cpu += (
                f"; added over the bare script {before.median_s - bare:.3f} → "
                f"{after.median_s - bare:.3f} s"
            )
        rows.append(
            Measurement(
                bench="startup",
                name=f"{label}, median wall before ({against})",
                value=before.median_s if before.exit_codes == after.exit_codes else None,
                unit="s",
                target=None,
                baseline=f"before {before.median_s:.3f} s → after {after.median_s:.3f} s "
                f"({ratio(after.median_s, before.median_s)}); min {before.min_s:.3f} → "
                f"{after.min_s:.3f} s{cpu}; {runs} runs each, round-robin",
                error=None
                if before.exit_codes == after.exit_codes
                else f"exit codes differ: before {sorted(before.exit_codes)}",
            )
        )
    return rows


def run(
    *,
    quick: bool = False,
    runs: int | None = None,
    lead: bool = True,
    against: str | None = None,
) -> list[Measurement]:
    runs = runs or (3 if quick else 15)
    home = scratch_dir("startup")
    env = _environment(str(home))
    salesctl = salesctl_command()
    subprocess.run([*salesctl, "init"], env=env, check=True, capture_output=True)
    commands = [(FLOOR, [PYTHON, "-c", "pass"])]
    commands += _twins(
        [(label, [*salesctl, *args]) for label, (args, _, _) in TARGETS.items()], against
    )
    tool = "hyperfine" if shutil.which("hyperfine") and against is None else "subprocess"
    progress(f"startup: {runs} runs of each command ({tool}), {load_average()}")
    timings = (_with_hyperfine if tool == "hyperfine" else _with_subprocess)(commands, runs, env)
    lead_timings: dict[str, Timing] = {}
    if lead:
        with simulator_process() as simulated:
            lead_env = {**env, **simulated, "CEREBRAS_API_KEY": "csk-bench"}
            _seed_leads(lead_env)
            request = str(home / "request.json")
            _lead_request(request)
            lead_commands = [(BARE, [PYTHON, "-c", BARE_SDK_CALL, request])]
            lead_commands += _twins(
                [(label, [*salesctl, *args]) for label, (args, _) in LEAD_COMMANDS.items()],
                against,
            )
            progress(f"startup: one lead, {runs} runs of each command (subprocess)")
            lead_timings = _with_subprocess(lead_commands, runs, lead_env)
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
    if lead_timings:
        measurements += _lead_measurements(lead_timings, floor, runs)
    if against is not None:
        measurements += _before_after(timings, list(TARGETS), against, runs)
        if lead_timings:
            measurements += _before_after(lead_timings, list(LEAD_COMMANDS), against, runs)
    return measurements


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, help="runs per command (default 15)")
    parser.add_argument(
        "--no-lead",
        dest="lead",
        action="store_false",
        help="skip the one-lead commands (they need the simulator)",
    )
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="also run each command with the salesctl package in DIR (before/after)",
    )


if __name__ == "__main__":
    bench_main("startup", run, __doc__, _options)
