"""The demo's script: which `salesctl` commands run, in what order, and what each one shows.

Every step is a real `salesctl` process (`python -m salesctl …`) with the workspace's
environment, so the command printed for it can be pasted into a shell and does the same.
A step whose command or flag this build lacks is skipped with a note, not failed.
"""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from salesctl.demo.workspace import Workspace, create_workspace, remove_workspace
from salesctl.errors import SalesctlError
from salesctl.vocabulary import CHAT_AGENT_ALIASES

SIMULATOR_LATENCY_MS = 20
"""A little latency, so reports show plausible timings without slowing the tour down."""

BUDGET_STATUS = {0: "within budget", 1: "warning", 2: "critical", 3: "unknown"}

CHATS: dict[str, tuple[str, str, str]] = {
    # agent: (what it is for, a simple question, a complex one)
    "sr-bdr": (
        "the SR/BDR assistant",
        "Show me top 3 leads",
        "Compare our three hottest leads and recommend which one to call first "
        "and how to open the conversation",
    ),
    "pipeline": (
        "the pipeline manager",
        "Which deals are open?",
        "Analyze the blockers on the Northwind deal and recommend a strategy "
        "to close it this quarter",
    ),
    "cs": (
        "customer success",
        "How is Vantage Cloud Security doing?",
        "Draft a 90-day onboarding plan for Vantage Cloud Security: milestones, "
        "adoption risks and how we measure success",
    ),
}

FOCUS_COMPANIES = ("Northwind Analytics", "Brightpath Health", "Ledgerline")
"""The leads the single-lead agents work on (they have deals, and the call transcript is
Northwind's)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the tour and the one line that says what it shows."""

    say: str
    args: tuple[str, ...]
    stdin_lines: tuple[str, ...] = ()
    agent_types: tuple[str, ...] = ()
    """The `agent_type`s whose calls this step makes (what lands in ai_cost_tracking)."""
    answers_as_json: bool = False
    """The command prints one JSON object per answer; the tour summarises them."""
    ok_codes: frozenset[int] = frozenset({0})

    @property
    def command(self) -> str:
        """The command as a user would type it."""
        line = "salesctl " + shlex.join(self.args)
        if self.stdin_lines:
            questions = " ".join(shlex.quote(q) for q in self.stdin_lines)
            line = f"printf '%s\\n' {questions} | {line}"
        return line


StepStatus = Literal["ok", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: Step
    status: StepStatus
    exit_code: int | None = None
    elapsed_s: float = 0.0


@dataclass(slots=True)
class DemoResult:
    """How the tour went, and where its workspace is (gone unless kept)."""

    workspace: Workspace
    simulator_url: str
    kept: bool
    outcomes: list[StepOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(outcome.status != "failed" for outcome in self.outcomes)

    @property
    def skipped(self) -> list[Step]:
        return [o.step for o in self.outcomes if o.status == "skipped"]


class Narrator(Protocol):
    """What the tour tells the user; `salesctl.demo.narrate` draws it with Rich."""

    def start(self, workspace: Workspace, simulator_url: str) -> None: ...

    def step(self, number: int, step: Step) -> None: ...

    def skipped(self, number: int, step: Step) -> None: ...

    def answers(self, step: Step, answers: list[dict[str, Any]], raw: str) -> None: ...

    def exit_status(self, step: Step, code: int) -> None: ...

    def failed(self, step: Step, code: int) -> None: ...

    def finish(self, result: DemoResult) -> None: ...


# --- the script ------------------------------------------------------------------------------


def opening_steps(workspace: Workspace) -> list[Step]:
    database = "your own database" if workspace.here else "the workspace's SQLite database"
    return [
        Step(f"Create {database} and apply the schema migrations", ("init",)),
        Step(
            "Import 25 fictional companies with contacts and notes from a CSV file",
            ("leads", "import", str(workspace.sample("leads.csv"))),
        ),
    ]


def main_steps(workspace: Workspace, lead_ids: dict[str, int], today: date) -> list[Step]:
    """Everything after the import: it needs the imported leads' ids."""
    focus = [lead_ids[company] for company in FOCUS_COMPANIES]
    first = str(focus[0])
    steps = [*deal_steps(workspace, lead_ids, today)]
    if workspace.here:
        # Never qualify the user's own leads with simulated answers: only the sample's.
        sample = ",".join(str(i) for i in sorted(lead_ids.values()))
        qualify = Step(
            "Qualify the sample leads against the ideal customer profile",
            ("qualify", "--ids", sample),
            agent_types=("qualification",),
        )
    else:
        qualify = Step(
            "Qualify every lead against the ideal customer profile (score, tier, reasons)",
            ("qualify", "--all"),
            agent_types=("qualification",),
        )
    steps += [
        qualify,
        Step(
            "Enrich three leads: company data extracted from their notes",
            ("enrich", "--ids", ",".join(str(i) for i in focus)),
            agent_types=("enrichment",),
        ),
        Step(
            "Analyse two leads' markets: opportunities, competitors, risks",
            ("grow", "--ids", ",".join(str(i) for i in focus[:2])),
            agent_types=("growth",),
        ),
        Step(
            "Design a campaign for Northwind Analytics",
            ("market", "--lead", first),
            agent_types=("marketing",),
        ),
        Step(
            "Plan a meeting with Northwind Analytics; the next step lands on its deal",
            ("bdr", "--lead", first),
            agent_types=("bdr",),
        ),
        Step(
            "Analyse a recorded sales call with Northwind Analytics",
            (
                "converse",
                "--lead",
                first,
                "--transcript",
                str(workspace.sample("call-transcript.txt")),
            ),
            agent_types=("conversation",),
        ),
    ]
    for agent, (who, simple, complex_question) in CHATS.items():
        steps.append(
            Step(
                f"Ask {who} a simple question and a complex one: the router picks the model",
                ("chat", agent, "--json"),
                stdin_lines=(simple, complex_question),
                agent_types=(CHAT_AGENT_ALIASES[agent],),
                answers_as_json=True,
            )
        )
    steps += [
        Step(
            "Report what all of that cost: per agent, lead, model and day",
            ("costs", "--since", "today"),
        ),
        Step(
            "Check today's spend against a $1 daily budget (the exit status is for cron)",
            ("budget", "check", "--daily", "1"),
            ok_codes=frozenset(BUDGET_STATUS),
        ),
    ]
    return steps


Script = Callable[[Workspace, dict[str, int], date], list[Step]]
"""The steps after the import, from the workspace, the imported leads' ids and today."""


def deal_steps(workspace: Workspace, lead_ids: dict[str, int], today: date) -> list[Step]:
    steps = []
    with workspace.sample("deals.csv").open(newline="") as deals:
        for deal in csv.DictReader(deals):
            close = today + timedelta(days=int(deal["close_in_days"]))
            amount = int(deal["amount"])
            steps.append(
                Step(
                    f"Open a deal with {deal['company']} "
                    f"({deal['stage'].replace('_', ' ')}, ${amount:,})",
                    (
                        "deals",
                        "add",
                        "--lead",
                        str(lead_ids[deal["company"]]),
                        "--name",
                        deal["name"],
                        "--stage",
                        deal["stage"],
                        "--amount",
                        str(amount),
                        "--close-date",
                        close.isoformat(),
                        "--next-step",
                        deal["next_step"],
                    ),
                )
            )
    return steps


# --- running it ------------------------------------------------------------------------------


def available(args: tuple[str, ...]) -> bool:
    """Whether this build has the command and every `--flag` the step uses."""
    import typer.main

    from salesctl.cli import app

    command: Any = typer.main.get_command(app)
    for token in args:
        subcommands = getattr(command, "commands", None)
        if token.startswith("-") or subcommands is None:
            break
        if token not in subcommands:
            return False
        command = subcommands[token]
    if hasattr(command, "commands") and not getattr(command, "invoke_without_command", False):
        return False  # a group named without one of its commands
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return all(arg in known for arg in args if arg.startswith("--"))


def salesctl(
    workspace: Workspace, args: tuple[str, ...], *, stdin: str | None = None, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `salesctl ARGS` as its own process in the workspace's environment."""
    return subprocess.run(
        [sys.executable, "-m", "salesctl", *args],
        env=workspace.env,
        cwd=workspace.root,
        input=stdin,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )


def find_lead_ids(workspace: Workspace) -> dict[str, int]:
    """Company name -> id of the sample's leads (newest first wins, for `--here` reruns)."""
    listing = salesctl(workspace, ("leads", "list", "--sort", "created", "--json"), capture=True)
    if listing.returncode != 0:
        raise SalesctlError(f"the demo could not list its leads (exit {listing.returncode})")
    with workspace.sample("leads.csv").open(newline="") as sample:
        wanted = {row["Company"] for row in csv.DictReader(sample)}
    ids: dict[str, int] = {}
    for lead in json.loads(listing.stdout)["leads"]:
        if lead["company_name"] in wanted:
            ids.setdefault(lead["company_name"], lead["id"])
    return ids


def run_step(workspace: Workspace, number: int, step: Step, narrator: Narrator) -> StepOutcome:
    if not available(step.args):
        narrator.skipped(number, step)
        return StepOutcome(step, "skipped")
    narrator.step(number, step)
    stdin = "".join(line + "\n" for line in step.stdin_lines) if step.stdin_lines else None
    started = time.monotonic()
    done = salesctl(workspace, step.args, stdin=stdin, capture=step.answers_as_json)
    elapsed = time.monotonic() - started
    if done.returncode not in step.ok_codes:
        narrator.failed(step, done.returncode)
        return StepOutcome(step, "failed", done.returncode, elapsed)
    if step.answers_as_json:
        narrator.answers(step, _json_lines(done.stdout), done.stdout)
    if step.ok_codes != frozenset({0}):
        narrator.exit_status(step, done.returncode)
    return StepOutcome(step, "ok", done.returncode, elapsed)


def _json_lines(text: str) -> list[dict[str, Any]]:
    answers = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            answers.append(value)
    return answers


def run_demo(
    narrator: Narrator,
    *,
    keep: bool = False,
    here: bool = False,
    parent: Path | None = None,
    script: Script = main_steps,
) -> DemoResult:
    """Run the tour (`script` picks what follows the import: by default, all of it); the
    workspace is removed afterwards unless `keep` (or a step failed, so what happened can be
    looked at)."""
    from salesctl.llm.simulator import Simulator

    started = time.monotonic()
    with Simulator(latency_ms=SIMULATOR_LATENCY_MS) as simulator:
        workspace = create_workspace(simulator.env(), here=here, parent=parent)
        result = DemoResult(workspace=workspace, simulator_url=simulator.url, kept=keep)
        narrator.start(workspace, simulator.url)
        try:
            _tour(workspace, narrator, result, script)
        finally:
            result.elapsed_s = time.monotonic() - started
            if not result.ok:
                result.kept = True
            elif not keep:
                remove_workspace(workspace)
    narrator.finish(result)
    return result


def _tour(workspace: Workspace, narrator: Narrator, result: DemoResult, script: Script) -> None:
    number = 0
    for step in opening_steps(workspace):
        number += 1
        result.outcomes.append(run_step(workspace, number, step, narrator))
        if not result.ok:
            return
    lead_ids = find_lead_ids(workspace)
    for step in script(workspace, lead_ids, date.today()):
        number += 1
        result.outcomes.append(run_step(workspace, number, step, narrator))
        if not result.ok:
            return
