"""`salesctl doctor`: one line per check, ✓ or ✗, and the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from salesctl.cli import _runtime
from salesctl.cli._console import out, print_json

if TYPE_CHECKING:
    from rich.text import Text

    from salesctl.doctor import Check, Diagnosis

NAME_WIDTH = 16
"""Longer check names (prices of long model ids) push their own line's detail along."""


def doctor_command(
    online: bool = typer.Option(
        False,
        "--online",
        help="Also make a one-token call to each configured provider (tracked as agent doctor).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check the installation: Python, config, database, Redis, keys, prices, spool, files.

    Prints one line per check with ✓ (fine), ✗ (must be fixed) or ! (worth fixing) and the
    fix. Exit status: 0 when every required check passes, 1 otherwise.

    Example:
        salesctl doctor
        salesctl doctor --online --json | jq '.checks[] | select(.ok | not)'
    """
    from salesctl.doctor import diagnose

    diagnosis = _runtime.run_unconnected(lambda: diagnose(online=online))
    if json_output:
        print_json({"ok": diagnosis.ok, "checks": diagnosis.checks})
    else:
        render(diagnosis)
    if not diagnosis.ok:
        raise typer.Exit(1)


def render(diagnosis: Diagnosis) -> None:
    console = out()
    width = min(NAME_WIDTH, max(len(check.name) for check in diagnosis.checks))
    for check in diagnosis.checks:
        console.print(_line(check, width), soft_wrap=True)
    failed, warnings = len(diagnosis.failed), len(diagnosis.warnings)
    if failed:
        console.print(f"\n[red]✗ {failed} required check{'s' * (failed != 1)} failed.[/]")
    else:
        note = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
        console.print(f"\n[green]✓ All required checks passed{note}.[/]")


def _line(check: Check, width: int) -> Text:
    from rich.text import Text

    if check.ok:
        mark, style = "✓", "green"
    elif check.required:
        mark, style = "✗", "red"
    else:
        mark, style = "!", "yellow"
    line = Text.assemble((mark, style), " ", (check.name.ljust(width), "bold"), "  ", check.detail)
    if not check.ok and check.fix:
        line.append("  → fix: ", style=style)
        line.append(check.fix)
    return line
