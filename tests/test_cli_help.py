"""Every command documents itself with an example, as users expect from `--help`."""

from __future__ import annotations

from typing import Any

import typer.main

from salesctl.cli import app


def is_group(command: Any) -> bool:
    """Typer vendors its own click, so recognise groups by shape rather than class."""
    return hasattr(command, "commands")


def walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    found = [(" ".join(path), command)]
    if is_group(command):
        for name, sub in command.commands.items():
            found.extend(walk(sub, (*path, name)))
    return found


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    missing = [
        name or "salesctl"
        for name, command in walk(root)
        if not is_group(command) and "Example" not in (command.help or "")
    ]
    assert missing == []


def test_every_group_has_a_summary() -> None:
    root = typer.main.get_command(app)
    groups = [(n, c) for n, c in walk(root) if is_group(c)]
    assert all((c.help or "").strip() for _, c in groups)
