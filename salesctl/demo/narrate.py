"""The demo's voice: one line per step, the exact command, and what to do afterwards."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.demo.tour import BUDGET_STATUS, DemoResult, Step
from salesctl.demo.workspace import Workspace

if TYPE_CHECKING:
    from rich.console import Console

ANSWER_PREVIEW = 90
"""Characters of each chat answer shown; the rest is in the session and `--json` output."""

OFFLINE_COMMANDS = (
    ("salesctl leads list", "the leads, best score first"),
    ("salesctl leads show 1", "a lead: score, enrichment, AI spend"),
    ("salesctl deals list", "the pipeline"),
    ("salesctl costs --by day", "the cost report"),
    ("salesctl budget check --daily 1", "the budget check"),
)


class RichNarrator:
    """Narrates the tour on a Rich console (the commands' own output goes straight through)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def start(self, workspace: Workspace, simulator_url: str) -> None:
        c = self.console
        c.print("[bold]salesctl demo[/]: the whole system on sample data, in about a minute.\n")
        if workspace.here:
            c.print(
                "[yellow]--here:[/] the sample leads and deals go into [bold]your own[/] "
                "database (as configured); only the providers are simulated."
            )
        else:
            c.print(
                f"Workspace: {workspace.root} (its own SQLite database; yours is not touched).",
                highlight=False,
            )
        c.print(
            f"Providers: simulated by salesctl's provider simulator at {simulator_url}, so no "
            "keys, no network, nothing charged. The answers are made up; the token counts are "
            "realistic, and every cost shown is what the real models would charge for them.",
            highlight=False,
        )
        c.print(
            "\nEach step prints the command it runs. To run one yourself while the demo is "
            f"going, set this environment first (saved in {workspace.env_file}):",
            highlight=False,
        )
        for line in workspace.shell_lines():
            c.print(f"  {line}", style="dim", highlight=False, soft_wrap=True)

    def step(self, number: int, step: Step) -> None:
        self.console.print(f"\n[bold cyan]▸ {number:>2}[/] [bold]{_escape(step.say)}[/]")
        self.console.print(f"     $ {step.command}", style="green", highlight=False, soft_wrap=True)

    def skipped(self, number: int, step: Step) -> None:
        self.console.print(f"\n[bold cyan]▸ {number:>2}[/] [bold]{_escape(step.say)}[/]")
        self.console.print(
            f"     $ {step.command}   [yellow](not available in this build)[/]",
            highlight=False,
            soft_wrap=True,
        )

    def answers(self, step: Step, answers: list[dict[str, Any]], raw: str) -> None:
        if not answers:
            self.console.print(raw, highlight=False, markup=False)
            return
        for question, answer in zip(step.stdin_lines, answers, strict=False):
            model = f"{answer.get('provider', '?')}:{answer.get('model', '?')}"
            tools = answer.get("tools_called") or []
            looked_up = f" · looked up {', '.join(tools)}" if tools else ""
            calls = answer.get("llm_calls", 0)
            calls_text = f"{calls} call" + ("" if calls == 1 else "s")
            text = " ".join(str(answer.get("text", "")).split())
            if len(text) > ANSWER_PREVIEW:
                text = text[: ANSWER_PREVIEW - 1] + "…"
            self.console.print(f"     [bold]?[/] {_escape(question)}", highlight=False)
            self.console.print(
                f"       {answer.get('complexity', '?')} → [magenta]{_escape(model)}[/]"
                f"{_escape(looked_up)} · {calls_text} · {_money(answer.get('cost_usd'))}",
                highlight=False,
            )
            self.console.print(f"       {text}", style="dim", highlight=False, markup=False)

    def exit_status(self, step: Step, code: int) -> None:
        meaning = BUDGET_STATUS.get(code, "")
        self.console.print(f"     exit status {code}: {meaning}", highlight=False)

    def failed(self, step: Step, code: int) -> None:
        self.console.print(
            f"\n[red]✗ this step failed (exit status {code}); the demo stops here.[/]",
            highlight=False,
        )

    def finish(self, result: DemoResult) -> None:
        c = self.console
        ran = sum(1 for o in result.outcomes if o.status == "ok")
        c.print()
        if result.ok:
            c.print(
                f"[green]✓ Demo finished in {result.elapsed_s:.0f} s: {ran} commands.[/] "
                "The costs above are what the real models would charge for the simulated "
                "tokens; nothing was spent.",
                highlight=False,
            )
        else:
            c.print(f"[red]✗ Demo stopped after {result.elapsed_s:.0f} s.[/]", highlight=False)
        if result.skipped:
            names = ", ".join(f"`{' '.join(_command_name(s))}`" for s in result.skipped)
            c.print(f"[yellow]Skipped (not available in this build):[/] {names}", highlight=False)
        if result.kept and not result.workspace.here:
            self._explore(result)
        elif not result.workspace.here:
            c.print("The workspace is removed; `salesctl demo --keep` leaves it to explore.")
        c.print(
            "\nNext: use it for real. Set your provider keys, run `salesctl doctor`, then "
            '`salesctl init` (the README\'s "Use it for real" section walks through it).'
        )

    def _explore(self, result: DemoResult) -> None:
        c = self.console
        workspace = result.workspace
        c.print(f"\nThe workspace is kept: {workspace.root}", highlight=False)
        c.print("Explore it (these work offline):")
        c.print(f"  source {workspace.env_file}", style="green", highlight=False)
        for command, what in OFFLINE_COMMANDS:
            c.print(f"  {command:<34}[dim]# {what}[/]", highlight=False)
        port = result.simulator_url.rsplit(":", 1)[1]
        c.print(
            "The provider simulator stopped with the demo. The agents and chat need it: start "
            "it again on the same port and the environment above still points at it:",
            highlight=False,
        )
        c.print(f"  salesctl simulator --port {port} &", style="green")
        c.print(f"Remove the workspace when you are done:  rm -r {workspace.root}", highlight=False)


def _command_name(step: Step) -> tuple[str, ...]:
    words = ["salesctl"]
    for arg in step.args:
        if arg.startswith("-"):
            break
        words.append(arg)
    return tuple(words[:3])


def _money(value: Any) -> str:
    from salesctl.money import usd

    return usd(None if value is None else Decimal(str(value)), unknown="cost unknown")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
